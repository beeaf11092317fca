"""FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8; RFC 7162 CHANGEDSINCE and VANISHED).

The answer streams in pages: each page is one store call for up to
:data:`PAGE` messages (fewer when they carry bodies, bounded by bytes), is
rendered and written, and is dropped before the next, so ``FETCH 1:*`` on a
100,000-message folder holds one page in memory and makes a few dozen
queries, never one per message. Only what the items need is loaded: flags
alone, the facts parsed at delivery, the header bytes, or the message.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Final

from mailboxes import store

from . import commands as c
from . import fetch_bulk
from .binary import UnknownCTE
from .cmd_update import target_ranges
from .fetch import FetchAttribute
from .fetch_items import plan, render_message
from .replies import Done, bad, no
from .sequence import Saved, SequenceSet
from .view import vanished_line

if TYPE_CHECKING:
    from .state import Session

#: Messages per page: flags only, and with facts or bodies.
PAGE: Final = 2000
PAGE_WITH_FACTS: Final = 500
#: Body bytes per page (a single larger message is still sent whole).
PAGE_BYTES: Final = 8 << 20


def after(ranges: list[tuple[int, int]], uid: int) -> list[tuple[int, int]]:
    """The part of ``ranges`` above ``uid``."""
    return [(max(lo, uid + 1), hi) for lo, hi in ranges if hi > uid]


async def fetch(s: Session, cmd: c.Fetch) -> Done:
    view = s.selected
    if cmd.vanished and not s.qresync:
        raise bad("VANISHED needs ENABLE QRESYNC first")  # RFC 7162 3.2.6
    if cmd.changedsince is not None or any(a.name == "MODSEQ" for a in cmd.attributes):
        s.enable_condstore()  # RFC 7162 3.1: CONDSTORE-enabling
    if cmd.vanished and cmd.changedsince is not None:
        seqs = cmd.sequence_set
        # The client's UIDs unclipped: VANISHED may name UIDs above the view's.
        await send_vanished(s, view.saved if isinstance(seqs, Saved) else seqs.resolve(view.max_uid), cmd.changedsince)
    ranges = target_ranges(view, cmd)
    if not ranges:
        return Done()
    need = plan(cmd.attributes)
    seen_now: set[int] = set()
    if need.sets_seen and not view.readonly:
        # RFC 3501 6.4.5: BODY[...] sets \Seen. One UPDATE for the whole set, before reading.
        result = await s.call(store.set_flags, s.account_id, view.folder_id, ranges, "add", ["\\Seen"])
        view.note_own_change(result.modseq, bool(result.changed))
        seen_now = {change.uid for change in result.changed}
    try:
        if fetch_bulk.applies(s, ranges, cmd.attributes, cmd.changedsince, seen_now):
            await fetch_bulk.send(s, ranges, cmd.attributes, send_messages)
        else:
            await send_messages(s, ranges, cmd.attributes, cmd.changedsince, seen_now)
    except UnknownCTE:
        raise no("UNKNOWN-CTE", "Unknown Content-Transfer-Encoding") from None  # RFC 3516 4.3
    return Done()


async def send_vanished(s: Session, ranges: list[tuple[int, int]], since: int) -> None:
    """``* VANISHED (EARLIER)``: the UIDs in ``ranges`` expunged after modseq
    ``since`` (RFC 7162 3.2.6, 3.2.5.2). A UID still in the view (expunged
    elsewhere, not yet reported) is left to the view's own VANISHED, which
    takes it out of the numbering; the next look is then not put off."""
    view = s.selected
    gone = await s.call(store.vanished_since, s.account_id, view.folder_id, since, ranges)
    if any(view.seq_of(uid) is not None for uid in gone):
        s.force_sync = True
    await s.io.send(vanished_line(SequenceSet.from_ints(u for u in gone if view.seq_of(u) is None), earlier=True))


async def send_messages(
    s: Session,
    ranges: list[tuple[int, int]],
    attributes: Sequence[FetchAttribute],
    changedsince: int | None,
    seen_now: Collection[int] = (),
) -> None:
    """The FETCH responses for the messages in ``ranges``, page by page."""
    view = s.selected
    need = plan(attributes)
    limit = PAGE_WITH_FACTS if need.envelope or need.structure or need.content or need.preview else PAGE
    last = ranges[-1][1]
    while ranges:
        page = await s.call(
            store.fetch_messages,
            s.account_id,
            view.folder_id,
            ranges,
            envelope=need.envelope,
            structure=need.structure,
            content=need.content,
            changedsince=changedsince,
            limit=limit,
            max_bytes=PAGE_BYTES,
            preview=need.preview,
            dates=need.dates,
        )
        # A keyword set since the session last looked is in FLAGS before a FETCH shows it (RFC 3501 7.2.6).
        out = [view.learn_flags(f for message in page for f in message.flags)]
        for message, seq in zip(page, view.seqs_of(message.uid for message in page)):
            if seq is None:
                continue  # not announced to this client yet
            changed = message.uid in seen_now
            # RFC 7162 3.2.4: with QRESYNC, a FETCH that set \Seen carries UID and MODSEQ too.
            out.append(
                render_message(
                    seq,
                    attributes,
                    message,
                    add_flags=changed,
                    add_modseq=changed and s.condstore,
                    add_uid=changed and s.qresync,
                    utf8=s.utf8,
                    flags=view.with_recent(message.uid, message.flags),
                )
            )
        if out:
            await s.io.send(b"".join(out))
        if not page or page[-1].uid >= last or (len(page) < limit and need.content != "full"):
            break
        ranges = after(ranges, page[-1].uid)
