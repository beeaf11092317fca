"""The blob collector (store.collect_blobs): message bytes nothing refers to
are deleted, in batches, a grace period after they were first seen
unreferenced; bytes in use never are, whatever races it."""

from __future__ import annotations

import io
import os
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from conftest import sample_message
from mailboxes import store
from mailboxes.models import Blob
from tests.markers import needs_postgres, needs_redis

pytestmark = pytest.mark.django_db(transaction=True)
NOW = timedelta(0)


def inbox(account) -> int:  # type: ignore[no-untyped-def]
    return store.select_folder(account.id, "INBOX").id


def deliver(account, raw: bytes) -> int:  # type: ignore[no-untyped-def]
    return store.deliver(raw, [account.address], "bob@example.test").delivered[account.id]


def delete(account, uid: int) -> None:  # type: ignore[no-untyped-def]
    store.delete_messages(account.id, inbox(account), [(uid, uid)])


def test_deleting_the_last_message_frees_its_bytes(alice):
    raw = sample_message(subject="Gone soon")
    uid = deliver(alice, raw)
    assert store.collect_blobs(grace=NOW) == 0
    delete(alice, uid)
    assert store.collect_blobs(grace=NOW) == 1
    assert not Blob.objects.exists()


def test_bytes_shared_by_two_messages_survive_until_both_are_gone(alice):
    raw = sample_message(subject="Twice")
    first, second = deliver(alice, raw), deliver(alice, raw)
    assert Blob.objects.count() == 1
    delete(alice, first)
    assert store.collect_blobs(grace=NOW) == 0
    assert store.message_data(alice.id, inbox(alice), second) == raw
    delete(alice, second)
    assert store.collect_blobs(grace=NOW) == 1


def test_bytes_copied_to_another_account_stay_while_that_copy_does(alice, bob):
    raw = sample_message(subject="For two")
    report = store.deliver(raw, [alice.address, bob.address], "carol@far.test")
    delete(alice, report.delivered[alice.id])
    assert store.collect_blobs(grace=NOW) == 0
    assert store.message_data(bob.id, inbox(bob), report.delivered[bob.id]) == raw


def test_bytes_waiting_in_the_outbound_queue_are_kept(alice):
    raw = sample_message(subject="Outward", sender=alice.address, to="someone@far.test")
    store.deliver(raw, ["someone@far.test"], alice.address, sender_account_id=alice.id)
    [queued] = store.outbound_recipients(address="someone@far.test")
    assert queued.state == "queued"
    assert store.collect_blobs(grace=NOW) == 0
    assert Blob.objects.count() == 1 and not Blob.objects.filter(orphaned_at__isnull=False).exists()


def test_unreferenced_bytes_wait_out_the_grace_period(alice):
    raw = sample_message(subject="Patience")
    delete(alice, deliver(alice, raw))
    result = store.run_blob_collection(grace=timedelta(hours=1))
    assert (result.freed, result.marked, result.waiting) == (0, 1, 1)
    assert store.collect_blobs(grace=timedelta(hours=1)) == 0
    Blob.objects.update(orphaned_at=timezone.now() - timedelta(hours=2))  # the test moves the clock
    assert store.collect_blobs(grace=timedelta(hours=1)) == 1


def test_bytes_used_again_within_the_grace_period_lose_their_mark(alice):
    raw = sample_message(subject="Back again")
    delete(alice, deliver(alice, raw))
    assert store.run_blob_collection(grace=timedelta(hours=1)).marked == 1
    uid = deliver(alice, raw)  # the same bytes: the row is reused as it is
    Blob.objects.update(orphaned_at=timezone.now() - timedelta(hours=2))
    assert store.collect_blobs(grace=timedelta(hours=1)) == 0
    assert Blob.objects.get().orphaned_at is None
    assert store.message_data(alice.id, inbox(alice), uid) == raw


def test_a_backlog_is_collected_in_small_batches(alice):
    uids = [deliver(alice, sample_message(subject=f"Old {i}")) for i in range(7)]
    keep = deliver(alice, sample_message(subject="Keep"))
    store.delete_messages(alice.id, inbox(alice), [(uids[0], uids[-1])])
    result = store.run_blob_collection(2, grace=NOW)
    assert (result.freed, result.marked, result.waiting, result.skipped) == (7, 7, 0, 0)
    assert result.freed_bytes == sum(len(sample_message(subject=f"Old {i}")) for i in range(7))
    assert Blob.objects.count() == 1
    assert store.message_data(alice.id, inbox(alice), keep) == sample_message(subject="Keep")


def test_collectblobs_dry_run_counts_and_changes_nothing(alice):
    raw = sample_message(subject="Counted")
    delete(alice, deliver(alice, raw))
    out = io.StringIO()
    call_command("collectblobs", "--dry-run", "--grace", "0", stdout=out)
    assert f"would free 1 blobs ({len(raw)} bytes)" in out.getvalue()
    assert Blob.objects.filter(orphaned_at__isnull=True).count() == 1
    out = io.StringIO()
    call_command("collectblobs", "--grace", "0", stdout=out)
    assert f"freed 1 blobs ({len(raw)} bytes)" in out.getvalue()
    assert not Blob.objects.exists()


# --- races on PostgreSQL --------------------------------------------------


@needs_postgres
def test_deliveries_of_the_same_bytes_racing_the_collector_lose_nothing(alice):
    """Deliverers store the same bytes over and over (reusing the blob row
    without locking it) and delete each copy once they have read it back,
    so the row keeps flipping between used and unused, while the collector
    runs with no grace period the whole time. Every ten rounds all
    deliverers meet with no copy left, and the bytes must be freed then.
    Every delivery that returned is readable, the last copies survive, and
    the collector never raises."""
    raw = sample_message(subject="Contended", body="x" * 5000 + "\r\n")
    folder = inbox(alice)
    rounds, deliverers = 60, 3
    errors: list[BaseException] = []
    refused: list[int] = []
    kept: list[int] = []
    leftovers: list[bool] = []
    collections: list[store.BlobCollection] = []
    done = threading.Event()

    def checkpoint() -> None:  # every deliverer waits here with its copies deleted
        # A pass may lose its batch to the collector running beside it (a
        # deadlock between the two is logged and skipped): a few passes.
        for _ in range(5):
            store.collect_blobs(grace=NOW)
            if not Blob.objects.exists():
                break
        leftovers.append(Blob.objects.exists())

    meet = threading.Barrier(deliverers, action=checkpoint, timeout=120)

    def deliverer(index: int) -> None:
        try:
            for i in range(rounds):
                try:
                    uid = deliver(alice, raw)
                except IntegrityError:  # the collector won: nothing committed (SMTP would say 451)
                    refused.append(index)
                    continue
                assert store.message_data(alice.id, folder, uid) == raw
                delete(alice, uid)
                if i % 10 == 9:
                    meet.wait()
            kept.append(deliver(alice, raw))
        except BaseException as exc:
            errors.append(exc)
            meet.abort()
        finally:
            connection.close()

    def collector() -> None:
        try:
            while not done.is_set():
                collections.append(store.run_blob_collection(1, grace=NOW))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    gc = threading.Thread(target=collector)
    gc.start()
    threads = [threading.Thread(target=deliverer, args=(n,)) for n in range(deliverers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    done.set()
    gc.join(60)
    assert not errors, errors
    assert leftovers == [False] * (rounds // 10)  # freed at every meeting
    assert len(kept) == deliverers
    for uid in kept:
        assert store.message_data(alice.id, folder, uid) == raw
    assert store.collect_blobs(grace=NOW) == 0  # the kept copies still hold the bytes
    print(
        f"refused deliveries: {len(refused)}; collector runs: {len(collections)}, "
        f"freed: {sum(c.freed for c in collections)}, batches lost: {sum(c.skipped for c in collections)}"
    )


class HeldWriter:
    """A transaction on a connection of its own that inserts a message
    referring to `sha` and stays open until commit(): a delivery caught in
    the middle. With check_now its foreign key is checked at the insert
    (holding FOR KEY SHARE on the blob row), else at commit (the default)."""

    def __init__(self, folder: int, sha: str, size: int, *, check_now: bool = False) -> None:
        self.failures: list[BaseException] = []
        self.holding, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, args=(folder, sha, size, check_now))
        self.thread.start()
        assert self.holding.wait(60)

    def _run(self, folder: int, sha: str, size: int, check_now: bool) -> None:
        from mailboxes.models import Message

        try:
            with transaction.atomic():
                if check_now:
                    with connection.cursor() as cursor:
                        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                Message.objects.create(folder_id=folder, uid=10_000, modseq=10_000, size=size, blob_id=sha)
                self.holding.set()
                self.release.wait(120)
        except BaseException as exc:
            self.failures.append(exc)
        finally:
            self.holding.set()
            connection.close()

    def commit(self) -> list[BaseException]:
        self.release.set()
        self.thread.join(60)
        return self.failures


@needs_postgres
def test_the_collector_losing_a_race_skips_the_batch_and_keeps_the_bytes(alice):
    """A writer (standing in for a delivery mid-transaction) refers to bytes
    the collector is about to delete, and commits while the collector's
    DELETE waits on its key lock: the collector's commit fails on the
    foreign key, and it logs, skips the batch and returns normally."""
    from tests.relay.helpers import wait_for

    raw = sample_message(subject="Contested")
    delete(alice, deliver(alice, raw))
    folder = inbox(alice)
    writer = HeldWriter(folder, Blob.objects.get().pk, len(raw), check_now=True)
    results: list[store.BlobCollection] = []
    gc = threading.Thread(target=lambda: (results.append(store.run_blob_collection(grace=NOW)), connection.close()))
    gc.start()

    def collector_waits_on_the_lock() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM%%'"
            )
            return cursor.fetchone()[0] == 1

    wait_for(collector_waits_on_the_lock, what="the collector's DELETE to wait for the writer")
    assert writer.commit() == []
    gc.join(60)
    [result] = results
    assert (result.freed, result.skipped) == (0, 1)
    assert store.message_data(alice.id, folder, 10_000) == raw
    assert store.collect_blobs(grace=NOW) == 0


@needs_postgres
def test_a_writer_that_reused_bytes_the_collector_deleted_cannot_commit(alice):
    """The other order: the writer's reference is not committed when the
    collector deletes the bytes, so the collector does not see it and wins;
    the deferred foreign key then fails the writer's commit (the delivery
    retries, docs/DESIGN.md), and no message without bytes ever exists."""
    from mailboxes.models import Message

    raw = sample_message(subject="Too late")
    delete(alice, deliver(alice, raw))
    writer = HeldWriter(inbox(alice), Blob.objects.get().pk, len(raw))
    assert store.collect_blobs(grace=NOW) == 1
    assert [type(f) for f in writer.commit()] == [IntegrityError]
    assert not Message.objects.exists() and not Blob.objects.exists()


# --- on a real Celery worker ----------------------------------------------


@pytest.mark.slow
@needs_postgres
@needs_redis
def test_the_beat_job_collects_blobs_on_a_celery_worker(alice, tmp_path):
    from django.conf import settings

    from mailboxes import tasks
    from tests.relay.helpers import Worker, wait_for
    from tests.servers import database_url

    assert settings.CELERY_BEAT_SCHEDULE["blob-collect"]["task"] == tasks.collect_blobs.name
    raw = sample_message(subject="For the worker")
    delete(alice, deliver(alice, raw))
    env = {
        "DATABASE_URL": database_url(),
        "MAIL_DB_POOL": "false",
        "REDIS_URL": os.environ["REDIS_URL"],
        "MAIL_BLOB_GC_GRACE": "0",
    }
    worker = Worker(env, tmp_path, pool=("--pool=solo",)).start()
    try:
        tasks.collect_blobs.delay()
        wait_for(lambda: not Blob.objects.exists(), what="the worker to collect the blob")
        wait_for(lambda: b"freed 1 blobs" in worker.log.read_bytes(), what="the worker's log line")
    finally:
        worker.stop()
