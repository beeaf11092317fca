"""The store's batch write path for imports: store.append_many and stage_blobs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction

from conftest import sample_message
from mailboxes import store
from mailboxes.models import Blob
from mailboxes.store.blobs import blob_row, prepare
from mailboxes.store.transfer import _insert_blobs
from tests.transfer.conftest import stored

WHEN = datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC)


def test_append_many_keeps_order_flags_and_dates_and_shares_stored_bytes(alice):
    store.deliver(sample_message("already"), ["alice@example.test"])
    items = [(sample_message(f"m{n}"), ["\\Seen", f"$K{n}"], WHEN) for n in range(3)]
    items.append((sample_message("already"), [], None))
    results = store.append_many(alice.id, "Archive", items)
    assert [r.uid for r in results] == [1, 2, 3, 4]
    archive = stored(alice.id)["Archive"]
    assert [m.raw for m in archive] == [raw for raw, _, _ in items]
    assert archive[1].flags == {"\\Seen", "$K1"} and archive[1].when == WHEN
    assert Blob.objects.count() == 4  # "already" is stored once for both copies


def test_a_batch_that_does_not_fit_the_quota_writes_nothing(alice):
    raw = sample_message(body="x" * 1000 + "\r\n")
    store.update_account("alice@example.test", quota=int(len(raw) * 2.5))
    with pytest.raises(store.OverQuota):
        store.append_many(
            alice.id, "INBOX", [(sample_message(f"q{n}", body="x" * 1000 + "\r\n"), [], None) for n in range(3)]
        )
    assert stored(alice.id)["INBOX"] == [] and store.quota_usage(alice.id).used == 0


def test_a_bad_flag_or_folder_refuses_the_whole_batch(alice):
    with pytest.raises(store.InvalidInput):
        store.append_many(alice.id, "INBOX", [(sample_message(), ["\\Bogus"], None)])
    with pytest.raises(store.NoSuchFolder):
        store.append_many(alice.id, "Nowhere", [(sample_message(), [], None)])
    assert not any(stored(alice.id).values())


def test_staged_bytes_are_invisible_until_appended_and_not_stored_twice(alice):
    raws = [sample_message(f"s{n}") for n in range(3)]
    assert store.stage_blobs(raws + raws[:1]) == 3
    assert store.stage_blobs(raws) == 0
    assert not any(stored(alice.id).values())
    store.append_many(alice.id, "INBOX", [(raw, [], None) for raw in raws])
    assert [m.raw for m in stored(alice.id)["INBOX"]] == raws and Blob.objects.count() == 3


def test_bytes_stored_meanwhile_by_someone_else_do_not_fail_the_copy(users):
    blob = prepare(sample_message("race"))
    store.stage_blobs([blob.raw])  # as if a delivery had committed the same bytes first
    with transaction.atomic():
        _insert_blobs([blob_row(blob), blob_row(prepare(sample_message("new")))])
    assert Blob.objects.count() == 2
