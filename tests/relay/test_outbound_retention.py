"""Finished outbound entries (every recipient sent or failed) are dropped
MAIL_OUTBOUND_RETENTION_DAYS after queueing and their last attempt, by the
blob-collect beat job just before it collects; their bytes are then freed
a grace period later. Pending or young entries stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mailboxes import store
from mailboxes.models import Blob, OutboundMessage, OutboundRecipient
from mailboxes.tasks import collect_blobs

from .conftest import send

pytestmark = pytest.mark.django_db(transaction=True)
OUTCOME = {"sent": "sent", "failed": "permanent", "deferred": "temporary"}


def queue(alice, subject: str, outcomes: dict[str, str]) -> int:  # type: ignore[no-untyped-def]
    """One message to these remote recipients, each taken through a real
    attempt to the given state ("queued": never attempted); its id."""
    send(alice, list(outcomes), subject=subject, mail_from="")  # null sender: no DSN bytes to count
    [message_id] = {r.message_id for r in store.outbound_recipients(address=next(iter(outcomes)))}
    tried = [a for a, state in outcomes.items() if state != "queued"]
    if tried:
        [job] = store.claim_outbound(message_id=message_id, domains=["remote.test"])
        ids = {address: rid for rid, address, _ in job.recipients}
        store.record_outcome(
            message_id,
            [
                store.AttemptResult(
                    ids[a], OUTCOME[outcomes[a]], "5.0.0" if outcomes[a] == "failed" else "4.0.0", "smtp; 5xx"
                )
                for a in tried
            ],
        )
    states = {r.address: r.state for r in store.outbound_recipients(message_id=message_id)}
    assert states == outcomes
    return message_id


def age(message_id: int, days: int) -> None:
    """The test moves the clock: queued and last tried `days` ago."""
    then = timezone.now() - timedelta(days=days)
    OutboundMessage.objects.filter(pk=message_id).update(created=then)
    OutboundRecipient.objects.filter(message_id=message_id).exclude(state__in=("queued", "deferred")).update(
        next_attempt=then
    )


def remaining() -> set[int]:
    return set(OutboundMessage.objects.values_list("pk", flat=True))


def test_finished_entries_past_the_retention_go_and_the_rest_stay(alice, settings):
    settings.MAIL_OUTBOUND_RETENTION_DAYS = 7
    old_sent = queue(alice, "old sent", {"a@remote.test": "sent", "b@remote.test": "failed"})
    old_failed = queue(alice, "old failed", {"c@remote.test": "failed"})
    young = queue(alice, "young", {"d@remote.test": "sent"})
    deferred = queue(alice, "old deferred", {"e@remote.test": "sent", "f@remote.test": "deferred"})
    queued = queue(alice, "old queued", {"g@remote.test": "queued"})
    for message_id in (old_sent, old_failed, deferred, queued):
        age(message_id, 8)
    age(young, 6)
    assert store.purge_finished_outbound() == 2
    assert remaining() == {young, deferred, queued}
    assert not OutboundRecipient.objects.filter(message_id__in=(old_sent, old_failed)).exists()
    assert store.purge_finished_outbound() == 0


def test_an_entry_queued_long_ago_but_failed_lately_is_kept(alice, settings):
    settings.MAIL_OUTBOUND_RETENTION_DAYS = 2
    message_id = queue(alice, "retried for days", {"a@remote.test": "failed"})
    OutboundMessage.objects.filter(pk=message_id).update(created=timezone.now() - timedelta(days=5))
    assert store.purge_finished_outbound() == 0  # its last attempt was just now
    age(message_id, 3)
    assert store.purge_finished_outbound() == 1


def test_retention_zero_keeps_finished_entries_forever(alice, settings):
    settings.MAIL_OUTBOUND_RETENTION_DAYS = 0
    age(queue(alice, "kept", {"a@remote.test": "sent"}), 3650)
    assert store.purge_finished_outbound() == 0
    assert len(remaining()) == 1


def test_a_backlog_goes_in_small_batches(alice, settings):
    settings.MAIL_OUTBOUND_RETENTION_DAYS = 1
    ids = [queue(alice, f"old {n}", {f"r{n}@remote.test": "sent"}) for n in range(5)]
    keep = queue(alice, "pending", {"p@remote.test": "deferred"})
    for message_id in ids + [keep]:
        age(message_id, 2)
    assert store.purge_finished_outbound(batch=2) == 5
    assert remaining() == {keep}


def test_the_beat_job_drops_old_entries_first_and_frees_their_bytes_after_the_grace(alice, settings):
    settings.MAIL_OUTBOUND_RETENTION_DAYS = 7
    settings.MAIL_BLOB_GC_GRACE = 3600
    old = queue(alice, "old and done", {"a@remote.test": "sent"})
    young = queue(alice, "young and done", {"b@remote.test": "sent"})
    age(old, 8)
    old_sha = OutboundMessage.objects.get(pk=old).blob_id
    assert Blob.objects.count() == 2
    assert collect_blobs() == 0  # the entry went; its bytes wait out the grace period
    assert remaining() == {young}
    assert Blob.objects.get(pk=old_sha).orphaned_at is not None
    Blob.objects.update(orphaned_at=timezone.now() - timedelta(hours=2))  # the test moves the clock
    assert collect_blobs() == 1
    assert not Blob.objects.filter(pk=old_sha).exists()
    assert Blob.objects.count() == 1  # the young entry's bytes stay with it
