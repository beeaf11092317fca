"""Live SEARCH/SORT contexts (RFC 5267 4.1-4.3): what a session keeps of
them and the ESEARCH updates they send. Pure: :mod:`.cmd_context` runs the
searches, :class:`.view.MailboxView` holds the contexts of its mailbox (so
SELECT, EXAMINE, CLOSE and UNSELECT end them) and reports expunged members
before their EXPUNGE responses.

* A SEARCH context is ordered by number, so its updates carry position 0
  and one set each; a SORT context's carry each run's 1-based position,
  removals from the last run back and additions from the first on, so a
  client applying them in order keeps its list in sort order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .encoder import render_string
from .sequence import SequenceSet

if TYPE_CHECKING:
    from .commands import SortKey
    from .search import SearchKey

__all__ = ["LiveContext", "update_line"]


@dataclass(slots=True)
class LiveContext:
    tag: bytes
    uid: bool
    criteria: SearchKey
    #: None for a SEARCH context
    sort_keys: tuple[SortKey, ...] | None
    #: the result as last reported, in its order
    uids: list[int]


def _runs(uids: list[int], wanted: set[int]) -> list[tuple[int, list[int]]]:
    """(1-based position, members) of each run of ``wanted`` in ``uids``."""
    runs: list[tuple[int, list[int]]] = []
    for index, uid in enumerate(uids):
        if uid not in wanted:
            continue
        if runs and runs[-1][0] + len(runs[-1][1]) == index + 1:
            runs[-1][1].append(uid)
        else:
            runs.append((index + 1, [uid]))
    return runs


def update_line(context: LiveContext, now: list[int], number: Callable[[int], int]) -> bytes:
    """The ESEARCH update taking ``context`` to the result ``now`` (and
    keeping it), or nothing when the result is the same."""
    old, new = set(context.uids), set(now)
    removed, added = old - new, new - old
    if not removed and not added:
        return b""

    def numbered(uids: Iterable[int]) -> list[int]:
        return list(uids) if context.uid else [number(u) for u in uids]

    items: list[bytes] = []
    if context.sort_keys is None:
        for word, changed in ((b"REMOVEFROM", removed), (b"ADDTO", added)):
            if changed:
                items.append(word + b" (0 %s)" % SequenceSet.from_ints(numbered(sorted(changed))).to_bytes())
    else:
        for position, run in reversed(_runs(context.uids, removed)):
            items.append(b"REMOVEFROM (%d %s)" % (position, SequenceSet.in_order(numbered(run)).to_bytes()))
        for position, run in _runs(now, added):
            items.append(b"ADDTO (%d %s)" % (position, SequenceSet.in_order(numbered(run)).to_bytes()))
    context.uids = now
    head = b"* ESEARCH (TAG " + render_string(context.tag) + b")" + (b" UID" if context.uid else b"")
    return head + b"".join(b" " + item for item in items) + b"\r\n"
