"""Sessions woken by one event share one look at the database."""

from __future__ import annotations

import asyncio

from conftest import sample_message
from mailboxes import store
from protocols.imap import looks


def test_sessions_at_the_same_modseq_share_a_look_started_after_their_event(alice) -> None:  # type: ignore[no-untyped-def]
    inbox = store.select_folder(alice.id, "INBOX")
    store.deliver(sample_message(), ["alice@example.test"])

    async def scenario() -> tuple[store.Changes, ...]:
        woken = asyncio.get_running_loop().time()
        first = asyncio.ensure_future(looks.changes(alice.id, inbox.id, inbox.highestmodseq, not_before=woken))
        await asyncio.sleep(0)  # the first look is under way
        second = asyncio.ensure_future(looks.changes(alice.id, inbox.id, inbox.highestmodseq, not_before=woken))
        # Woken after that look began: it must not take the older answer.
        later = asyncio.get_running_loop().time() + 1
        third = asyncio.ensure_future(looks.changes(alice.id, inbox.id, inbox.highestmodseq, not_before=later))
        return tuple(await asyncio.gather(first, second, third))

    first, second, third = asyncio.run(scenario())
    assert first is second and third is not first
    assert [c.uid for c in first.updated] == [1] and third.updated == first.updated
    assert looks._inflight == {}
