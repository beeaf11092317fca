"""One POP2 connection (RFC 937): the state table and the command handlers."""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from mailboxes import store
from protocols import dbcall
from protocols.lines import Closed, LineSession
from protocols.listener import Connection
from protocols.pop3.lease import MaildropLease, new_holder
from protocols.pop3.logins import Opened, Refusal, open_maildrop

from . import parser

log = logging.getLogger("protocols.pop2")
MAX_AUTH_FAILURES = 3
# What a refused HELO is told, in POP2's words (POP3 has its own).
REFUSED: dict[Refusal, str] = {
    "blocked": "- [AUTH] too many failed logins, try again later",
    "needs-app-password": "- [AUTH] two-factor sign-in is on: log in with an app password",
    "bad-login": "- [AUTH] bad login",
    # Not failed logins: the account has its fill of IMAP, POP3 and POP2 sessions, or another has the maildrop.
    "too-many-sessions": "- [IN-USE] too many sessions for this account, try again later",
    "locked": "- [IN-USE] maildrop is locked by another session",
}


class State(enum.Enum):
    AUTH = "AUTH"  # greeted, waiting for HELO
    MBOX = "MBOX"  # a folder is selected
    ITEM = "ITEM"  # READ named a message
    NEXT = "NEXT"  # RETR sent it: ACKS, ACKD or NACK is due


class Pop2Session(LineSession[State]):
    protocol = "pop2"
    metered = False
    internal_error = ("internal server error", "")
    too_long = "line too long"

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, parser.MAX_LINE)
        self.state = State.AUTH
        self.holder = new_holder(conn.listener, conn.id)
        self.account_id = 0
        self.lease: MaildropLease | None = None
        self.folder: store.Maildrop | None = None
        self.current = 1
        self.deleted: set[int] = set()
        self.acked: set[int] = set()
        self.auth_failures = 0

    async def reply(self, text: str) -> None:
        await self.write(text.encode("utf-8", "surrogateescape") + b"\r\n")

    def greeting(self) -> bytes:
        # Some POP2 clients want nothing between "+" and "POP2" (UW ipop2d).
        return f"+ POP2 {settings.MAIL_HOSTNAME} server ready\r\n".encode()

    def goodbye(self) -> bytes:
        return b"- server shutting down, try again later\r\n"

    def signed_out(self) -> bytes:
        return b"- signed out: the password changed or the account signed out everywhere\r\n"

    async def finish(self) -> None:
        await super().finish()
        lease, self.lease = self.lease, None
        if lease is not None:
            await lease.release()

    async def read_command(self, line: bytes) -> parser.Command:
        return parser.parse_command(line)

    def out_of_state(self, name: str) -> str:
        return f"{name} is out of sequence here"

    async def error(self, text: str, code: str = "") -> None:
        await self.reply(f"- [{code}] {text}" if code else f"- {text}")

    def too_many_bad_commands(self) -> bytes:
        return b"- too many bad commands, closing\r\n"

    # --- the selected folder ------------------------------------------------

    def size_of(self, msg: int) -> int:
        """Octets of message msg, 0 when there is none (or it is marked deleted)."""
        assert self.folder is not None
        if 1 <= msg <= len(self.folder.messages) and msg not in self.deleted:
            return self.folder.messages[msg - 1].size
        return 0

    async def announce(self) -> None:
        """'=n' for the current message: ITEM if it exists, else back to MBOX."""
        size = self.size_of(self.current)
        self.state = State.ITEM if size else State.MBOX
        await self.reply(f"={size} characters in message {self.current}" if size else f"=0 no message {self.current}")

    async def select(self, snapshot: store.Maildrop) -> None:
        self.folder, self.current = snapshot, 1
        self.deleted, self.acked = set(), set()
        self.state = State.MBOX
        await self.reply(f"#{len(snapshot.messages)} messages in {snapshot.name}")

    async def leave_folder(self, *, release: bool) -> None:
        """Apply the folder's ACKDs (and mark ACKS'd messages \\Seen)."""
        assert self.folder is not None
        uids = [self.folder.messages[n - 1].uid for n in sorted(self.deleted)]
        seen = [self.folder.messages[n - 1].uid for n in sorted(self.acked - self.deleted)]
        if self.lease is not None and release:
            self.lease.stop()
        await dbcall.call(
            store.close_maildrop, self.account_id, self.holder, self.folder.folder_id, uids, seen=seen, release=release
        )
        if release:
            self.lease = None

    def lock_lost(self) -> None:
        self.lease = None
        self.folder = None
        self.hang_up()


# --- handlers -----------------------------------------------------------------


async def helo(s: Pop2Session, cmd: parser.Helo) -> None:
    if not s.conn.plaintext_auth_allowed:
        await s.reply("- POP2 has no TLS: passwords are accepted only from trusted networks")
        return
    opened = await open_maildrop(
        cmd.user,
        cmd.password,
        ip=s.conn.peer_ip,
        protocol="pop2",
        holder=s.holder,
        lease_seconds=settings.MAIL_POP_LOCK_LEASE,
    )
    if not isinstance(opened, Opened):
        await s.reply(REFUSED[opened])
        if opened not in ("too-many-sessions", "locked"):
            s.auth_failures += 1
            if s.auth_failures >= MAX_AUTH_FAILURES:
                raise Closed()
        return
    account = opened.account
    s.session_token = (account.id, opened.token)
    s.account_id = account.id
    s.lease = MaildropLease(account.id, s.holder, settings.MAIL_POP_LOCK_LEASE, s.lock_lost, s.label)
    s.end_on_sign_out(account.id)
    log.info("%s: %s logged in from %s", s.label, account.address, s.conn.peer_ip)
    await s.select(opened.snapshot)


async def fold(s: Pop2Session, cmd: parser.Fold) -> None:
    try:
        snapshot = await dbcall.call(store.maildrop, s.account_id, cmd.folder)
    except (store.NoSuchFolder, store.InvalidInput):
        await s.reply("- no such folder")
        return
    await s.leave_folder(release=False)
    await s.select(snapshot)


async def read(s: Pop2Session, cmd: parser.Read) -> None:
    if cmd.msg is not None:
        s.current = cmd.msg
    await s.announce()


async def retr(s: Pop2Session, cmd: parser.Retr) -> None:
    assert s.folder is not None
    uid = s.folder.messages[s.current - 1].uid
    try:
        data = await dbcall.call(store.pop_message, s.account_id, s.folder.folder_id, uid)
    except store.NotFound:
        s.state = State.MBOX
        await s.reply("- message was removed by another session")
        return
    s.state = State.NEXT
    await s.write(data)


async def acks(s: Pop2Session, cmd: parser.Acks) -> None:
    s.acked.add(s.current)
    s.current += 1
    await s.announce()


async def ackd(s: Pop2Session, cmd: parser.Ackd) -> None:
    s.acked.add(s.current)
    s.deleted.add(s.current)
    s.current += 1
    await s.announce()


async def nack(s: Pop2Session, cmd: parser.Nack) -> None:
    await s.announce()


async def quit(s: Pop2Session, cmd: parser.Quit) -> None:
    if s.folder is not None:
        try:
            await s.leave_folder(release=True)
        except store.MaildropLocked:
            await s.reply("- [IN-USE] maildrop lock lost; no messages deleted")
            raise Closed() from None
        except store.Unavailable:
            await s.reply("- [SYS/TEMP] messages not deleted, try again later")
            raise Closed() from None
    await s.reply("+ bye")
    raise Closed()


Handler = Callable[[Pop2Session, Any], Awaitable[None]]

# RFC 937's states, in one place.
COMMANDS: dict[type[parser.Command], tuple[frozenset[State], Handler]] = {
    parser.Helo: (frozenset({State.AUTH}), helo),
    parser.Fold: (frozenset({State.MBOX, State.ITEM}), fold),
    parser.Read: (frozenset({State.MBOX, State.ITEM}), read),
    parser.Retr: (frozenset({State.ITEM}), retr),
    parser.Acks: (frozenset({State.NEXT}), acks),
    parser.Ackd: (frozenset({State.NEXT}), ackd),
    parser.Nack: (frozenset({State.NEXT}), nack),
    parser.Quit: (frozenset({State.AUTH, State.MBOX, State.ITEM}), quit),
}
Pop2Session.commands = COMMANDS
