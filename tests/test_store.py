"""The mail store: the one write path. Runs on PostgreSQL in `make test`."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from django.db import connection

from conftest import sample_message
from mailboxes import store
from mailboxes.models import Blob, Message
from mailboxes.store import search as s
from tests.markers import needs_postgres
from tests.servers import ROOT, database_url

ALL = [(1, 2**32)]


def inbox(account) -> store.FolderView:
    return store.select_folder(account.id, "INBOX")


def test_new_account_gets_inbox_and_special_use_folders(alice):
    folders = {f.name: f.special_use for f in store.list_folders(alice.id)}
    assert folders == {
        "INBOX": "",
        "Sent": "\\Sent",
        "Drafts": "\\Drafts",
        "Trash": "\\Trash",
        "Junk": "\\Junk",
        "Archive": "\\Archive",
    }


def test_deliver_expands_aliases_and_catchall_and_stores_bytes_once(alice, bob):
    store.create_alias("team@example.test", ["alice@example.test", "bob@example.test"])
    store.create_alias("@example.test", ["alice@example.test"])
    raw = sample_message()
    report = store.deliver(raw, ["team@example.test", "nobody@example.test", "alice@example.test"])
    assert set(report.delivered) == {alice.id, bob.id}  # alice once, not three times
    assert len(inbox(alice).uids) == 1 and len(inbox(bob).uids) == 1
    assert Blob.objects.count() == 1
    view = inbox(alice)
    assert store.message_data(alice.id, view.id, view.uids[0]) == raw


def test_recipient_checks_distinguish_unknown_inactive_and_remote(alice):
    store.update_account("alice@example.test", active=False)
    assert store.resolve_recipient("alice@example.test").kind == "inactive"
    assert store.resolve_recipient("nobody@example.test").kind == "unknown"
    assert store.resolve_recipient("someone@elsewhere.test").kind == "remote"
    assert store.resolve_recipient("not an address").kind == "unknown"


def test_alias_to_remote_address_is_queued_for_relay(alice):
    store.create_alias("fwd@example.test", ["alice@example.test", "friend@remote.test"])
    report = store.deliver(sample_message(), ["fwd@example.test"], "bob@remote.test")
    assert report.queued == ("friend@remote.test",)
    assert list(report.delivered) == [alice.id]


def test_append_keeps_flags_and_internal_date_and_uids_ascend(alice):
    when = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = store.append(alice.id, "Drafts", sample_message("one"), ["\\Draft", "$Label1"], when)
    second = store.append(alice.id, "drafts".capitalize(), sample_message("two"))
    assert second.uid == first.uid + 1
    (info,) = store.fetch_messages(alice.id, first.folder_id, [(first.uid, first.uid)], envelope=True, structure=True)
    assert info.flags == {"\\Draft", "$Label1"}
    assert info.internal_date == when
    assert info.envelope["subject"] == "one"


def test_append_to_missing_folder_is_no_such_folder(alice):
    with pytest.raises(store.NoSuchFolder):
        store.append(alice.id, "Nope", sample_message())


def test_flag_changes_raise_modseq_only_for_changed_messages(alice):
    store.deliver(sample_message("a"), ["alice@example.test"])
    store.deliver(sample_message("b"), ["alice@example.test"])
    view = inbox(alice)
    store.set_flags(alice.id, view.id, [(view.uids[0], view.uids[0])], "add", ["\\Seen"])
    result = store.set_flags(alice.id, view.id, ALL, "add", ["\\Seen"])
    assert [c.uid for c in result.changed] == [view.uids[1]]
    assert result.changed[0].flags == {"\\Seen"}
    removed = store.set_flags(alice.id, view.id, ALL, "remove", ["\\Seen"])
    assert len(removed.changed) == 2
    replaced = store.set_flags(alice.id, view.id, ALL, "set", ["\\Flagged", "Work"])
    assert all(c.flags == {"\\Flagged", "Work"} for c in replaced.changed)


def test_unchangedsince_reports_conflicts_and_leaves_them(alice):
    store.deliver(sample_message("a"), ["alice@example.test"])
    view = inbox(alice)
    before = store.select_folder(alice.id, "INBOX").highestmodseq
    store.set_flags(alice.id, view.id, ALL, "add", ["\\Flagged"])
    result = store.set_flags(alice.id, view.id, ALL, "add", ["\\Seen"], unchangedsince=before)
    assert result.conflicts == view.uids and result.changed == []


def test_expunge_removes_only_deleted_leaves_tombstones_and_frees_quota(alice):
    for n in range(3):
        store.deliver(sample_message(str(n)), ["alice@example.test"])
    view = inbox(alice)
    used = store.quota_usage(alice.id).used
    size = store.fetch_messages(alice.id, view.id, [(view.uids[1], view.uids[1])])[0].size
    store.set_flags(alice.id, view.id, [(view.uids[1], view.uids[1])], "add", ["\\Deleted"])
    modseq = store.select_folder(alice.id, "INBOX").highestmodseq
    result = store.expunge(alice.id, view.id)
    assert result.uids == [view.uids[1]] and result.modseq == modseq + 1
    changes = store.changes_since(alice.id, view.id, modseq)
    assert changes.expunged == [view.uids[1]] and changes.updated == []
    assert changes.highestmodseq == result.modseq
    assert store.quota_usage(alice.id).used == used - size
    assert inbox(alice).uids == [view.uids[0], view.uids[2]]


def test_copy_and_move_share_bytes_and_report_uids(alice):
    store.deliver(sample_message("x"), ["alice@example.test"])
    store.deliver(sample_message("y"), ["alice@example.test"])
    view = inbox(alice)
    copied = store.copy(alice.id, view.id, ALL, "Archive")
    assert copied.source_uids == view.uids and len(copied.dest_uids) == 2
    moved = store.move(alice.id, view.id, [(view.uids[0], view.uids[0])], "Trash")
    assert moved.source_uids == [view.uids[0]]
    assert inbox(alice).uids == [view.uids[1]]
    assert Blob.objects.count() == 2 and Message.objects.count() == 4


def test_quota_refuses_a_message_that_does_not_fit(alice):
    store.update_account("alice@example.test", quota=1000)
    with pytest.raises(store.TooBigForQuota):
        store.deliver(sample_message(body="x" * 2000), ["alice@example.test"])
    store.deliver(sample_message(body="x" * 500), ["alice@example.test"])
    with pytest.raises(store.OverQuota) as info:
        store.deliver(sample_message(body="y" * 500), ["alice@example.test"])
    assert info.value.temporary
    assert store.quota_check([alice.id], 500) == "full"
    assert store.quota_check([alice.id], 5000) == "never"
    assert len(inbox(alice).uids) == 1


def test_a_delivery_one_recipient_has_no_room_for_stores_nothing_anywhere(alice, bob):
    store.update_account("alice@example.test", quota=1000)
    store.deliver(sample_message(body="x" * 500), ["alice@example.test"])
    before = {a.id: (store.quota_usage(a.id).used, store.folder_status(a.id, "INBOX")) for a in (alice, bob)}
    with pytest.raises(store.OverQuota):
        store.deliver(sample_message(body="y" * 500), ["bob@example.test", "alice@example.test"])
    after = {a.id: (store.quota_usage(a.id).used, store.folder_status(a.id, "INBOX")) for a in (alice, bob)}
    assert after == before  # no copy, no charge, no UID or modseq taken
    report = store.deliver(sample_message(body="z" * 10), ["bob@example.test", "alice@example.test"])
    assert set(report.delivered) == {alice.id, bob.id}


def test_folders_create_rename_with_children_and_delete(alice):
    store.create_folder(alice.id, "Projects/2026/Q4")
    names = {f.name for f in store.list_folders(alice.id)}
    assert {"Projects", "Projects/2026", "Projects/2026/Q4"} <= names
    store.rename_folder(alice.id, "Projects", "Work")
    names = {f.name for f in store.list_folders(alice.id)}
    assert {"Work", "Work/2026", "Work/2026/Q4"} <= names and "Projects" not in names
    with pytest.raises(store.AlreadyExists):
        store.create_folder(alice.id, "Work")
    with pytest.raises(store.NotPermitted):
        store.delete_folder(alice.id, "inbox")
    for bad in ("", "a//b", "../x", "a/./b", "x\x00y", "a*"):
        with pytest.raises(store.InvalidInput):
            store.create_folder(alice.id, bad)


def test_renaming_inbox_moves_its_messages_and_keeps_an_empty_inbox(alice):
    store.deliver(sample_message(), ["alice@example.test"])
    store.rename_folder(alice.id, "INBOX", "Old Mail")
    assert inbox(alice).uids == []
    assert len(store.select_folder(alice.id, "Old Mail").uids) == 1


def test_folders_of_another_account_cannot_be_reached(alice, bob):
    store.deliver(sample_message(), ["bob@example.test"])
    bob_inbox = inbox(bob)
    assert store.fetch_messages(alice.id, bob_inbox.id, ALL) == []  # not hers: no messages to read
    with pytest.raises(store.NoSuchFolder):
        store.set_flags(alice.id, bob_inbox.id, ALL, "add", ["\\Deleted"])
    with pytest.raises(store.NotFound):
        store.message_data(alice.id, bob_inbox.id, bob_inbox.uids[0])


def test_search_is_answered_by_the_database(alice):
    store.deliver(sample_message("Quarterly report", "numbers inside\r\n"), ["alice@example.test"])
    store.deliver(sample_message("Lunch", "see you at noon\r\n", sender="carol@x.test"), ["alice@example.test"])
    view = inbox(alice)
    assert store.search.search(alice.id, view.id, s.Text("NOON")) == [view.uids[1]]
    assert store.search.search(alice.id, view.id, s.Header("subject", "report")) == [view.uids[0]]
    assert store.search.search(alice.id, view.id, s.Header("from", "carol")) == [view.uids[1]]
    assert store.search.search(alice.id, view.id, s.Not(s.Flag("\\Seen"))) == view.uids
    assert store.search.search(alice.id, view.id, s.Or(s.Text("noon"), s.Text("numbers"))) == view.uids
    assert store.search.search(alice.id, view.id, s.All(), sort=(("subject", True),)) == view.uids


def test_authenticate_checks_password_and_active_state(alice):
    assert store.authenticate("ALICE@example.test", "alice-secret").id == alice.id
    assert store.authenticate("alice@example.test", "wrong") is None
    store.set_password("alice@example.test", "new-secret")
    assert store.authenticate("alice@example.test", "alice-secret") is None
    assert store.authenticate("alice@example.test", "new-secret") is not None
    store.update_account("alice@example.test", active=False)
    assert store.authenticate("alice@example.test", "new-secret") is None


# --- concurrency (PostgreSQL) ---------------------------------------------


@needs_postgres
def test_eight_threads_delivering_fifty_each_get_400_distinct_ascending_uids(alice):
    def worker(n: int) -> None:
        for i in range(50):
            store.deliver(sample_message(f"t{n}-{i}"), ["alice@example.test"])
        connection.close()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))
    uids = inbox(alice).uids
    assert len(uids) == 400 and len(set(uids)) == 400 and uids == sorted(uids)
    assert store.recalculate_usage(alice.id).used == store.quota_usage(alice.id).used


WORKER = """
import django, os, sys
django.setup()
from mailboxes import store
n = int(sys.argv[1])
for i in range(50):
    raw = f"From: p@example.test\\r\\nSubject: p{n}-{i}\\r\\n\\r\\nbody {n} {i}\\r\\n".encode()
    store.deliver(raw, ["alice@example.test"])
"""


@pytest.mark.slow
@needs_postgres
def test_eight_processes_delivering_fifty_each_get_400_distinct_ascending_uids(alice):
    env = {
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "mailhost.settings",
        "MAIL_DB_POOL": "false",
        "PATH": "/usr/bin:/bin",
        "MAIL_FAST_PASSWORD_HASHING": "1",
    }
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(n)], cwd=ROOT, env=env) for n in range(8)]
    assert [p.wait(120) for p in procs] == [0] * 8
    view = inbox(alice)
    assert len(view.uids) == 400 and view.uids == sorted(set(view.uids)) and view.uidnext == view.uids[-1] + 1
    usage = store.quota_usage(alice.id).used
    assert store.recalculate_usage(alice.id).used == usage


@needs_postgres
def test_concurrent_expunge_and_flag_changes_lose_no_update(alice):
    for i in range(40):
        store.deliver(sample_message(f"m{i}"), ["alice@example.test"])
    view = inbox(alice)
    doomed = view.uids[:20]
    keep = view.uids[20:]

    def flagger() -> None:
        for uid in keep:
            store.set_flags(alice.id, view.id, [(uid, uid)], "add", ["\\Flagged"])
        connection.close()

    def expunger() -> None:
        for uid in doomed:
            store.set_flags(alice.id, view.id, [(uid, uid)], "add", ["\\Deleted"])
            store.expunge(alice.id, view.id, [(uid, uid)])
        connection.close()

    with ThreadPoolExecutor(2) as pool:
        for f in [pool.submit(flagger), pool.submit(expunger)]:
            f.result()
    infos = store.fetch_messages(alice.id, view.id, ALL)
    assert [i.uid for i in infos] == keep
    assert all("\\Flagged" in i.flags for i in infos)
    modseqs = [c.modseq for c in store.changes_since(alice.id, view.id, 0).updated]
    assert len(set(modseqs)) == len(modseqs)  # every change got its own modseq


def recount(account_id: int) -> int:
    from django.db.models import Sum

    return Message.objects.filter(folder__owner_id=account_id).aggregate(s=Sum("size"))["s"] or 0


@needs_postgres
def test_the_quota_job_warning_during_a_delivery_storm_neither_deadlocks_nor_loses_a_byte(alice, bob):
    """Lock order (docs/DESIGN.md "Lock order"): deliveries lock the INBOXes and
    then the accounts; the quota job, which puts its warning in the INBOX, must
    take them in that order too, or one of the two is chosen as a deadlock victim."""
    from mailboxes.models import Account

    store.update_account("alice@example.test", quota=10_000_000)
    store.append(alice.id, "Archive", sample_message(body="x" * 8_500_000))  # 85 %: every check warns
    storming = True
    failures: list[BaseException] = []
    warned = 0

    def deliveries(n: int) -> None:
        try:
            for i in range(50):
                store.deliver(sample_message(f"s{n}-{i}"), ["alice@example.test", "bob@example.test"])
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    def quota_job() -> None:
        nonlocal warned
        try:
            while storming:
                Account.objects.filter(pk=alice.id).update(quota_warning_level=0)  # warn again next time
                warned += store.check_quota(alice.id) > 0
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    with ThreadPoolExecutor(5) as pool:
        job = pool.submit(quota_job)
        list(pool.map(deliveries, range(4)))
        storming = False
        job.result()
    assert failures == [] and warned > 0
    assert len(inbox(bob).uids) == 200 and len(inbox(alice).uids) == 200 + warned
    assert store.quota_usage(alice.id).used == recount(alice.id)
    assert store.quota_usage(bob.id).used == recount(bob.id)


@needs_postgres
def test_renaming_a_folder_while_messages_move_between_it_and_an_older_child_does_not_deadlock(alice):
    """RENAME locks the folder and its children in id order, as MOVE locks its two (docs/DESIGN.md "Lock order")."""
    store.create_folder(alice.id, "Child")
    store.create_folder(alice.id, "Parent")
    store.rename_folder(alice.id, "Child", "Parent/Child")  # the child is older (a lower id) than its parent
    for i in range(20):
        store.append(alice.id, "Parent", sample_message(f"m{i}"))
    names = {"parent": "Parent"}
    failures: list[BaseException] = []
    done = False

    def renamer() -> None:
        try:
            for i in range(150):
                new = f"Parent{i}"
                store.rename_folder(alice.id, names["parent"], new)
                names["parent"] = new
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    def mover() -> None:
        try:
            while not done:
                parent = names["parent"]
                try:
                    child = store.select_folder(alice.id, f"{parent}/Child").id
                    store.move(alice.id, child, ALL, parent)
                    source = store.select_folder(alice.id, parent).id
                    store.move(alice.id, source, ALL, f"{parent}/Child")
                except store.NoSuchFolder:
                    continue  # renamed between the look-up and the move
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    with ThreadPoolExecutor(3) as pool:
        movers = [pool.submit(mover), pool.submit(mover)]
        pool.submit(renamer).result()
        done = True
        for f in movers:
            f.result()
    assert failures == []
    assert sum(f.messages for f in store.all_folder_status(alice.id)) == 20
