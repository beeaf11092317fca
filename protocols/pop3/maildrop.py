"""POP3 TRANSACTION and UPDATE states (RFC 1939 5-6): the maildrop commands.

Message numbers index the snapshot taken at login and never change during
the session; DELE only marks, and nothing is removed before QUIT's UPDATE.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from mailboxes import store
from mailboxes.store import PopMessage
from protocols import dbcall

from . import parser, wire
from .state import Closed, Maildrop, State

if TYPE_CHECKING:
    from .session import Pop3Session

log = logging.getLogger("protocols.pop3")


def _drop(s: Pop3Session) -> Maildrop:
    assert s.drop is not None  # the state table admits these commands only in TRANSACTION
    return s.drop


async def _missing(s: Pop3Session, drop: Maildrop, msg: int) -> None:
    if msg in drop.deleted:
        await s.err(f"message {msg} already deleted")
    else:
        await s.err("no such message")


async def stat(s: Pop3Session, cmd: parser.Stat) -> None:
    live = _drop(s).live()
    await s.ok(f"{len(live)} {sum(m.size for _, m in live)}")


async def _scan(s: Pop3Session, msg: int | None, first: bytes, field: Callable[[PopMessage], bytes]) -> None:
    """LIST and UIDL (RFC 1939 5, 7): one message's scan line, or all of them."""
    drop = _drop(s)
    if msg is None:
        await s.write(wire.listing(first, [b"%d %s" % (n, field(m)) for n, m in drop.live()]))
        return
    message = drop.get(msg)
    if message is None:
        await _missing(s, drop, msg)
    else:
        await s.write(b"+OK %d %s\r\n" % (msg, field(message)))


async def list_(s: Pop3Session, cmd: parser.List) -> None:
    live = _drop(s).live()
    first = f"+OK {len(live)} messages ({sum(m.size for _, m in live)} octets)".encode()
    await _scan(s, cmd.msg, first, lambda m: b"%d" % m.size)


async def uidl(s: Pop3Session, cmd: parser.Uidl) -> None:
    await _scan(s, cmd.msg, b"+OK unique-id listing follows", lambda m: m.uidl.encode())


async def _message_bytes(s: Pop3Session, drop: Maildrop, msg: int) -> bytes | None:
    message = drop.get(msg)
    if message is None:
        await _missing(s, drop, msg)
        return None
    data = drop.ahead.pop(msg, None)
    if data is None:
        batch = drop.to_read(msg)
        uids = {drop.snapshot.messages[n - 1].uid: n for n in batch}
        found = await dbcall.call(store.pop_messages, drop.account_id, drop.snapshot.folder_id, list(uids))
        drop.ahead = {uids[uid]: data for uid, data in found.items()}
        data = drop.ahead.pop(msg, None)
    drop.last_read = msg
    if data is None:
        # Expunged over IMAP since our snapshot; IMAP does not honour the POP lock.
        await s.err("message was removed by another session")
    return data


async def retr(s: Pop3Session, cmd: parser.Retr) -> None:
    drop = _drop(s)
    data = await _message_bytes(s, drop, cmd.msg)
    if data is None:
        return
    drop.retrieved.add(cmd.msg)
    await s.write(wire.multiline(b"+OK %d octets" % len(data), data))


async def top(s: Pop3Session, cmd: parser.Top) -> None:
    drop = _drop(s)
    data = await _message_bytes(s, drop, cmd.msg)
    if data is None:
        return
    await s.write(wire.multiline(b"+OK top of message follows", wire.top(data, cmd.lines)))


async def dele(s: Pop3Session, cmd: parser.Dele) -> None:
    drop = _drop(s)
    if drop.get(cmd.msg) is None:
        await _missing(s, drop, cmd.msg)
        return
    drop.deleted.add(cmd.msg)
    drop.ahead.pop(cmd.msg, None)
    await s.ok(f"message {cmd.msg} deleted")


async def noop(s: Pop3Session, cmd: parser.Noop) -> None:
    await s.ok()


async def rset(s: Pop3Session, cmd: parser.Rset) -> None:
    drop = _drop(s)
    drop.deleted.clear()
    live = drop.live()
    await s.ok(f"maildrop has {len(live)} messages ({sum(m.size for _, m in live)} octets)")


async def quit(s: Pop3Session, cmd: parser.Quit) -> None:
    """In AUTHORIZATION: just goodbye. In TRANSACTION: the UPDATE state
    (RFC 1939 6) removes the messages marked deleted and releases the lock,
    in one transaction; retrieved messages are marked \\Seen for IMAP."""
    if s.state is State.AUTHORIZATION or s.drop is None:
        await s.ok("bye")
        raise Closed()
    drop = s.drop
    if s.lease is not None:
        s.lease.stop()  # no renewal may race the release
    uids = [drop.snapshot.messages[n - 1].uid for n in sorted(drop.deleted)]
    seen = [drop.snapshot.messages[n - 1].uid for n in sorted(drop.retrieved - drop.deleted)]
    try:
        await dbcall.call(store.close_maildrop, drop.account_id, s.holder, drop.snapshot.folder_id, uids, seen=seen)
    except store.MaildropLocked:
        await s.err("maildrop lock lost; no messages deleted", "IN-USE")
        raise Closed() from None
    except store.Unavailable:
        await s.err("some deleted messages not removed, try again later", "SYS/TEMP")
        raise Closed() from None
    except Exception:
        log.exception("%s: UPDATE failed", s.label)
        await s.err("some deleted messages not removed", "SYS/PERM")
        raise Closed() from None
    s.drop = s.lease = None  # the lock is released
    left = len(drop.snapshot.messages) - len(uids)
    await s.ok(f"signing off ({left} messages left)")
    raise Closed()
