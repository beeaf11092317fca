"""CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 section 4): PARTIAL, and
running live contexts again.

``RETURN (PARTIAL low:high)`` answers the matches at those positions of
the result (ascending for SEARCH, in sort order for SORT). ``RETURN
(UPDATE ...)`` keeps the search (or sort) live in the session
(:mod:`.contexts`): after each later command, when the view has seen a
change since (NOOP and the end of IDLE included), it is run again and the difference goes
out as ``* ESEARCH (TAG "t") [UID] REMOVEFROM (...) ADDTO (...)``, until
CANCELUPDATE, SELECT, EXAMINE, CLOSE or UNSELECT. A member expunged is
reported just before its EXPUNGE response, by the number it had then.
At most :data:`MAX_CONTEXTS` live contexts per session; another UPDATE is
answered ``OK [NOUPDATE "tag"]`` after its results (4.1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from mailboxes import store

from . import cmd_search
from . import commands as c
from .contexts import LiveContext, update_line
from .encoder import render_string
from .replies import Done, Refusal
from .sequence import SequenceSet
from .sorting import sort_uids

if TYPE_CHECKING:
    from . import search as keys
    from .state import Session

__all__ = ["MAX_CONTEXTS", "cancelupdate", "ordered_uids", "partial_item", "refresh", "remember"]

MAX_CONTEXTS: Final = 8


def partial_item(numbers: list[int], partial: tuple[int, int], *, ordered: bool) -> bytes:
    """`` PARTIAL (low:high set)`` for the results at those positions, NIL for none (RFC 5267 4.4)."""
    low, high = partial
    picked = numbers[low - 1 : high]
    found = (
        (SequenceSet.in_order(picked) if ordered else SequenceSet.from_ints(picked)).to_bytes() if picked else b"NIL"
    )
    return b" PARTIAL (%d:%d %s)" % (low, high, found)


async def ordered_uids(s: Session, criteria: keys.SearchKey, sort_keys: tuple[c.SortKey, ...] | None) -> list[int]:
    """The UIDs matching now, ascending or in sort order."""
    view = s.selected
    if not view.exists:
        return []
    query = cmd_search.bounded(criteria, view)
    if sort_keys is None:
        return (await s.call(store.search_uids, s.account_id, view.folder_id, query)).uids
    return sort_uids(await s.call(store.sort_rows, s.account_id, view.folder_id, query), sort_keys)


def remember(
    s: Session,
    tag: bytes,
    uid: bool,
    criteria: keys.SearchKey,
    sort_keys: tuple[c.SortKey, ...] | None,
    uids: list[int],
) -> Done | None:
    """Keep a live context; a refusal (as the command's Done) past the limit."""
    if tag not in s.selected.contexts and len(s.selected.contexts) >= MAX_CONTEXTS:
        return Done(b"NOUPDATE " + render_string(tag), "Too many live searches; results sent without updates")
    s.selected.contexts[tag] = LiveContext(tag, uid, criteria, sort_keys, list(uids))
    return None


async def refresh(s: Session) -> None:
    """Run each live context again and report what changed, unless the
    view has seen no change since the last run (with the database
    unreachable, at a later command)."""
    view = s.selected
    # Every change the session sees moves one of these: another session's
    # (a look raises highestmodseq or adds messages), its own flag changes
    # (note_own_change: highestmodseq or own_modseqs), its own expunges.
    mark = (view.highestmodseq, max(view.own_modseqs, default=0), view.exists, view.max_uid)
    if mark == view.context_mark:
        return
    for context in list(view.contexts.values()):
        try:
            now = await ordered_uids(s, context.criteria, context.sort_keys)
        except store.Unavailable:
            return
        line = update_line(context, now, lambda uid: view.seq_of(uid) or 0)
        if line:
            await s.io.send(line)
    view.context_mark = mark


async def cancelupdate(s: Session, cmd: c.CancelUpdate) -> Done:
    if any(tag not in s.selected.contexts for tag in cmd.tags):
        raise Refusal("BAD", None, "No such search context")
    for tag in cmd.tags:
        del s.selected.contexts[tag]
    return Done()
