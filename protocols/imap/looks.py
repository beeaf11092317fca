"""One look at a mailbox's changes, shared by the sessions waiting for it.

When one event wakes many sessions of the same mailbox (a delivery to an
account with a phone, a laptop and a webmail open, or a thousand IDLE
connections), each would ask the database the same question:
``changes_since(account, folder, modseq)``. Sessions at the same modseq
share one call instead. A session only joins a call that started after it
learned it should look (``not_before``), so it never takes an answer older
than the event that woke it.

Each of those sessions then asks whether the new messages are ``\\Recent``
for it (:func:`recent`). A folder's unclaimed mark only rises, so once this
process knows every UID under some number is claimed, the sessions after
the first need not ask the database at all.
"""

from __future__ import annotations

import asyncio
from typing import Final

from mailboxes import store
from protocols import dbcall

__all__ = ["changes", "note_claimed", "recent"]

_Key = tuple[int, int, int]  # account, folder, modseq
_inflight: Final[dict[_Key, tuple[float, asyncio.Future[store.Changes]]]] = {}
#: folder id -> every UID below it has been claimed as \\Recent by some session.
_claimed_below: Final[dict[int, int]] = {}
_CLAIMED_FOLDERS: Final = 50_000


def note_claimed(folder_id: int, found: store.RecentRange, *, claimed: bool) -> None:
    """Remember what a store answer proves is claimed (a claim takes all below its end)."""
    below = found.end if claimed else found.first
    if below > _claimed_below.get(folder_id, 0):
        if len(_claimed_below) >= _CLAIMED_FOLDERS:
            _claimed_below.clear()
        _claimed_below[folder_id] = below


async def recent(
    account_id: int, folder_id: int, below: int, *, claim: bool, seen: tuple[int, int] | None = None
) -> store.RecentRange:
    """``store.claim_recent``, unless every UID under ``below`` is known to be claimed."""
    if below <= _claimed_below.get(folder_id, 0):
        return store.RecentRange(below, below)
    found = await dbcall.call(store.claim_recent, account_id, folder_id, below, claim=claim, seen=seen)
    note_claimed(folder_id, found, claimed=claim)
    return found


async def changes(account_id: int, folder_id: int, since: int, *, not_before: float) -> store.Changes:
    """``store.changes_since``, joined with a call in flight that started at or after ``not_before``."""
    key = (account_id, folder_id, since)
    entry = _inflight.get(key)
    if entry is not None and entry[0] >= not_before:
        return await asyncio.shield(entry[1])
    started = asyncio.get_running_loop().time()
    future = asyncio.ensure_future(dbcall.call(store.changes_since, account_id, folder_id, since))
    _inflight[key] = (started, future)

    def forget(done: asyncio.Future[store.Changes]) -> None:
        if _inflight.get(key, (0.0, None))[1] is done:
            del _inflight[key]

    future.add_done_callback(forget)
    # shield: a waiter that goes away (its client hung up) must not cancel the others' answer.
    return await asyncio.shield(future)
