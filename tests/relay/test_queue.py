"""The outbound queue's claims: SKIP LOCKED between workers, leases, idempotent runs."""

from __future__ import annotations

import threading

from django.db import connection, transaction

from conftest import sample_message
from mailboxes import store
from protocols.relay import deliver


def queue(alice, count: int) -> None:  # type: ignore[no-untyped-def]
    store.deliver(
        sample_message(to="r0@remote.test"),
        [f"r{i}@remote.test" for i in range(count)],
        "alice@example.test",
        sender_account_id=alice.id,
    )


def claimed(jobs: list[store.OutboundJob]) -> set[int]:
    return {rid for job in jobs for rid, _, _ in job.recipients}


def test_two_workers_claiming_at_once_never_get_the_same_recipient(alice):
    queue(alice, 4)
    holding, release = threading.Event(), threading.Event()
    first: dict[str, object] = {}

    def worker_a() -> None:
        try:
            with transaction.atomic():  # keeps its row locks until B has claimed
                first["jobs"] = store.claim_outbound(limit=2)
                holding.set()
                first["b_waited_for_a"] = not release.wait(20)
        finally:
            connection.close()

    thread = threading.Thread(target=worker_a)
    thread.start()
    assert holding.wait(20)
    second = store.claim_outbound(limit=4)  # SKIP LOCKED: neither blocks nor takes A's rows
    release.set()
    thread.join(20)
    assert first["b_waited_for_a"] is False
    mine, theirs = claimed(first["jobs"]), claimed(second)  # type: ignore[arg-type]
    assert len(mine) == 2 and len(theirs) == 2 and not mine & theirs


def test_a_claim_is_a_lease_that_no_second_claim_takes(alice):
    queue(alice, 3)
    assert len(claimed(store.claim_outbound(limit=10))) == 3
    assert store.claim_outbound(limit=10) == []
    assert all(r.state == "queued" and r.attempts == 1 for r in store.outbound_recipients())


def test_running_the_relay_again_after_delivery_does_nothing(settings, fresh_sink, alice):
    settings.MAIL_RELAY_MX_OVERRIDE = f"remote.test=127.0.0.1:{fresh_sink.port}"
    queue(alice, 2)
    message_id = store.outbound_recipients()[0].message_id
    assert deliver.run(message_id=message_id) == 2
    assert deliver.run(message_id=message_id) == 0
    assert deliver.run() == 0
    assert len(fresh_sink.handler.messages) == 1
    assert [r.state for r in store.outbound_recipients()] == ["sent", "sent"]
