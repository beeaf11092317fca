"""FETCH of flags for many messages (``FETCH 1:* (UID FLAGS)``): the lines
rendered by the database, checked against the session's view, and written.

A client syncing a big folder asks for UID and FLAGS of every message:
4 MB of lines for 100,000 messages. Here each page of :data:`PAGE`
messages of the view is one statement (``store.fetch_lines``) that returns
the page's lines with how many messages it holds and the sum of their
UIDs. Every message of the folder up to the view's highest UID is in the
view (view.py), so when the count and the sum match the view's for that
slice the page holds exactly the messages the view numbers there, and the
lines go out as they are. A page that differs (a message expunged
elsewhere that the view still numbers: a ghost, RFC 2180 4.1.3), or holds
a keyword the client has not been told of, is sent by the general path
(``cmd_fetch.send_messages``), which renders it message by message. One
page in memory at a time, and no transaction held while the client reads.

Only for the items the database renders (``store.LINE_ITEMS``), without
CHANGEDSINCE and without side effects (no \\Seen set by the FETCH), on
PostgreSQL, and for at least :data:`MIN_MESSAGES` messages: smaller
fetches take the general path.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left, bisect_right
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import TYPE_CHECKING, Final

from mailboxes import store

from .fetch import FetchAttribute

if TYPE_CHECKING:
    from .state import Session

#: Messages per statement (about 40 bytes of response each for UID FLAGS).
PAGE: Final = 5000
#: Fewer messages than this go the general way.
MIN_MESSAGES: Final = 500

General = Callable[["Session", list[tuple[int, int]], Sequence[FetchAttribute], "int | None"], Awaitable[None]]


def applies(
    s: Session,
    ranges: Sequence[tuple[int, int]],
    attributes: Sequence[FetchAttribute],
    changedsince: int | None,
    seen_now: Collection[int],
) -> bool:
    """Whether this FETCH is one for :func:`send`."""
    if changedsince is not None or seen_now or not attributes:
        return False
    if any(a.name not in store.LINE_ITEMS or a.section is not None or a.partial is not None for a in attributes):
        return False
    uids = s.selected.uids
    total = sum(bisect_right(uids, hi) - bisect_left(uids, lo) for lo, hi in ranges)
    return total >= MIN_MESSAGES and store.fetch_lines_supported()


async def send(
    s: Session, ranges: Sequence[tuple[int, int]], attributes: Sequence[FetchAttribute], general: General
) -> None:
    """The FETCH responses for the view's messages in ``ranges`` (ascending
    UID ranges). The next page is read while this one is written."""
    view = s.selected
    items = [a.name for a in attributes]

    def read(start: int, stop: int) -> asyncio.Future[store.FetchLines | None]:
        first, last = view.uids[start], view.uids[stop - 1]
        call = s.call(
            store.fetch_lines,
            s.account_id,
            view.folder_id,
            first,
            last,
            items=items,
            first_seq=start + 1,
            contiguous=last - first == stop - start - 1,
            recent=view.recent,
            keywords=view.keywords,
        )
        return asyncio.ensure_future(call)

    pages = [
        (start, min(end, start + PAGE))
        for lo, hi in ranges
        for end in [bisect_right(view.uids, hi)]
        for start in range(bisect_left(view.uids, lo), end, PAGE)
    ]
    ahead = read(*pages[0]) if pages else None
    try:
        for index, (start, stop) in enumerate(pages):
            assert ahead is not None
            page = await ahead
            ahead = read(*pages[index + 1]) if index + 1 < len(pages) else None
            if page is not None and page.count == stop - start and page.uid_sum == sum(view.uids[start:stop]):
                await s.io.send(page.data)
            else:
                await general(s, [(view.uids[start], view.uids[stop - 1])], attributes, None)
    finally:
        if ahead is not None:  # the session ended while a page was being read: drop it
            ahead.cancel()
