"""Selected-state commands that change messages or the selection: STORE
(RFC 3501 6.4.6, RFC 7162 UNCHANGEDSINCE), COPY (6.4.7, RFC 4315 COPYUID),
MOVE (RFC 6851), EXPUNGE and UID EXPUNGE (6.4.3, RFC 4315), CHECK, CLOSE
and UNSELECT (RFC 3691)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from mailboxes import store

from . import commands as c
from .encoder import fetch_response, render_flags, response_code, untagged_status
from .fetch_items import flag_order
from .replies import Done, no
from .sequence import SequenceSet
from .view import MailboxView

if TYPE_CHECKING:
    from .state import Session

_STORE_OPS: Final[dict[str, store.FlagOp]] = {"replace": "set", "add": "add", "remove": "remove"}


def _writable(view: MailboxView) -> None:
    if view.readonly:
        raise no("CANNOT", "Mailbox is read-only")


def target_ranges(view: MailboxView, cmd: c.Fetch | c.Store | c.Copy | c.Move) -> list[tuple[int, int]]:
    """The UID ranges a command addresses, by UID or by sequence number."""
    if cmd.uid:
        return view.uid_ranges_for_uids(cmd.sequence_set)
    return view.uid_ranges_for_seqs(cmd.sequence_set)


async def check(s: Session, cmd: c.Check) -> Done:
    s.force_sync = True  # RFC 3501 6.4.1: nothing to flush; a NOOP
    return Done()


async def close(s: Session, cmd: c.Close) -> Done:
    """RFC 3501 6.4.2: expunge silently (unless read-only), then deselect."""
    view = s.selected
    s.deselect()
    if not view.readonly and view.exists:
        try:
            await s.call(store.expunge, s.account_id, view.folder_id, [(1, view.max_uid)])
        except store.NoSuchFolder:
            pass
    return Done()


async def unselect(s: Session, cmd: c.Unselect) -> Done:
    s.deselect()
    return Done()


async def expunge(s: Session, cmd: c.Expunge) -> Done:
    view = s.selected
    _writable(view)
    ranges = view.all_uids() if cmd.uids is None else view.uid_ranges_for_uids(cmd.uids)
    if ranges:
        result = await s.call(store.expunge, s.account_id, view.folder_id, ranges)
        # Taken in as a STORE's is: the event this expunge publishes makes no look.
        view.note_own_change(result.modseq, bool(result.uids))
        await s.io.send(view.expunge(result.uids) + view.recent_line())
    return Done()


async def store_flags(s: Session, cmd: c.Store) -> Done:
    view = s.selected
    _writable(view)
    if cmd.unchangedsince is not None:
        s.enable_condstore()
    ranges = target_ranges(view, cmd)
    if not ranges:
        return Done()
    result = await s.call(
        store.set_flags, s.account_id, view.folder_id, ranges, _STORE_OPS[cmd.mode], cmd.flags, cmd.unchangedsince
    )
    view.note_own_change(result.modseq, bool(result.changed))
    # FLAGS before any FETCH shows a keyword new to the session: ours, or one
    # another session set on these messages (RFC 3501 7.2.6).
    out = [view.learn_flags([*cmd.flags, *(f for change in result.changed for f in change.flags)])]
    for change in result.changed:
        seq = view.seq_of(change.uid)
        if seq is None:
            continue
        items = []
        if not cmd.silent:
            items.append((b"FLAGS", render_flags(flag_order(view.with_recent(change.uid, change.flags)))))
        if cmd.uid or s.qresync:
            items.append((b"UID", b"%d" % change.uid))  # RFC 3501 6.4.8; RFC 7162 3.2.4
        if s.condstore:
            # RFC 7162 3.1.3: with CONDSTORE the FETCH is sent even for .SILENT, with MODSEQ.
            items.append((b"MODSEQ", b"(%d)" % change.modseq))
        if not cmd.silent or s.condstore:
            out.append(fetch_response(seq, items))
    if out:
        await s.io.send(b"".join(out))
    if result.conflicts:
        numbers = result.conflicts if cmd.uid else [view.seq_of(u) or 0 for u in result.conflicts]
        modified = SequenceSet.from_ints(n for n in numbers if n)
        return Done(code=response_code("MODIFIED", modified), text="Conditional STORE failed")
    return Done()


def _copyuid(result: store.CopyResult) -> bytes:
    return response_code(
        "COPYUID",
        result.uidvalidity,
        SequenceSet.from_ints(result.source_uids),
        SequenceSet.from_ints(result.dest_uids),
    )


async def _transfer(s: Session, cmd: c.Copy | c.Move, func: Callable[..., store.CopyResult]) -> store.CopyResult | None:
    """COPY or MOVE the addressed messages; None when there were none."""
    view = s.selected
    ranges = target_ranges(view, cmd)
    if not ranges:
        return None
    try:
        result = await s.call(func, s.account_id, view.folder_id, ranges, cmd.mailbox)
    except store.NoSuchFolder:
        # RFC 3501 6.4.7: the client may CREATE the target and try again.
        raise no("TRYCREATE", "Destination mailbox does not exist") from None
    return result if result.source_uids else None


async def copy(s: Session, cmd: c.Copy) -> Done:
    result = await _transfer(s, cmd, store.copy)
    if result is None:
        return Done()
    if cmd.mailbox == s.selected.name:
        s.force_sync = True
    return Done(code=_copyuid(result), text="COPY completed")


async def move(s: Session, cmd: c.Move) -> Done:
    view = s.selected
    _writable(view)
    result = await _transfer(s, cmd, store.move)
    if result is not None:
        # RFC 6851 4.3/4.4: COPYUID in an untagged OK, then the expunges.
        await s.io.send(
            untagged_status("OK", _copyuid(result), "Moved") + view.expunge(result.source_uids) + view.recent_line()
        )
        if cmd.mailbox == view.name:
            s.force_sync = True  # the moved messages are new to the view: EXISTS before the OK
    return Done(text="MOVE completed")
