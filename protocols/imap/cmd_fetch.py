"""FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8; RFC 7162 CHANGEDSINCE).

The answer streams in pages: each page is one store call for up to
:data:`PAGE` messages (fewer when they carry bodies, bounded by bytes), is
rendered and written, and is dropped before the next, so ``FETCH 1:*`` on a
100,000-message folder holds one page in memory and makes a few dozen
queries, never one per message. Only what the items need is loaded: flags
alone, the facts parsed at delivery, the header bytes, or the message.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Final

from mailboxes import store

from . import commands as c
from .cmd_update import target_ranges
from .fetch_items import plan, render_message
from .replies import Done, bad

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
    if cmd.vanished:
        raise bad("QRESYNC is not supported")
    if cmd.changedsince is not None or any(a.name == "MODSEQ" for a in cmd.attributes):
        s.enable_condstore()  # RFC 7162 3.1: CONDSTORE-enabling
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
    limit = PAGE_WITH_FACTS if need.envelope or need.structure or need.content else PAGE
    last = ranges[-1][1]
    while ranges:
        page = await s.call(store.fetch_messages, s.account_id, view.folder_id, ranges, envelope=need.envelope,
                            structure=need.structure, content=need.content, changedsince=cmd.changedsince,
                            limit=limit, max_bytes=PAGE_BYTES)
        out = []
        for message in page:
            seq = view.seq_of(message.uid)
            if seq is None:
                continue  # not announced to this client yet
            changed = message.uid in seen_now
            flags = view.with_recent(message.uid, message.flags)
            if flags is not message.flags:
                message = replace(message, flags=flags)
            out.append(render_message(seq, cmd.attributes, message, add_flags=changed,
                                      add_modseq=changed and s.condstore))
        if out:
            await s.io.send(b"".join(out))
        if not page or page[-1].uid >= last or (len(page) < limit and need.content != "full"):
            break
        ranges = after(ranges, page[-1].uid)
    return Done()
