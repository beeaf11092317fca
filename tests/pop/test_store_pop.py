"""The store's POP functions on PostgreSQL: the maildrop lock (a lease shared
by every process), snapshots, POP-form sizes and the UPDATE transaction."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from mailboxes import store
from mailboxes.store.pop import _pop_sizes, _sizes, pop_form, pop_size

from .conftest import ALICE, MESSAGES, SIZES, inbox_uids


def test_a_second_holder_is_refused_until_the_first_releases(alice):
    store.acquire_maildrop_lock(alice.id, "one", 60)
    with pytest.raises(store.MaildropLocked):
        store.acquire_maildrop_lock(alice.id, "two", 60)
    store.acquire_maildrop_lock(alice.id, "one", 60)  # the holder may take it again
    store.release_maildrop_lock(alice.id, "two")  # not the holder: no effect
    with pytest.raises(store.MaildropLocked):
        store.acquire_maildrop_lock(alice.id, "two", 60)
    store.release_maildrop_lock(alice.id, "one")
    store.acquire_maildrop_lock(alice.id, "two", 60)


def test_locks_of_different_accounts_are_independent(alice, bob):
    store.acquire_maildrop_lock(alice.id, "one", 60)
    store.acquire_maildrop_lock(bob.id, "two", 60)


def test_a_lease_that_is_not_renewed_lapses_and_its_holder_learns_it_lost(alice):
    store.acquire_maildrop_lock(alice.id, "dead", 0.2)
    time.sleep(0.4)
    store.acquire_maildrop_lock(alice.id, "alive", 60)
    assert store.renew_maildrop_lock(alice.id, "dead", 60) is False
    assert store.renew_maildrop_lock(alice.id, "alive", 60) is True


def test_a_renewed_lease_does_not_lapse(alice):
    store.acquire_maildrop_lock(alice.id, "alive", 0.5)
    for _ in range(3):
        time.sleep(0.2)
        assert store.renew_maildrop_lock(alice.id, "alive", 0.5)
    with pytest.raises(store.MaildropLocked):
        store.acquire_maildrop_lock(alice.id, "other", 60)


def race(account_id: int, takers: int = 16) -> int:
    """How many of `takers` threads, each with its own connection, got the lock."""

    def attempt(n: int) -> bool:
        try:
            store.acquire_maildrop_lock(account_id, f"holder-{n}", 60)
            return True
        except store.MaildropLocked:
            return False
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        return sum(pool.map(attempt, range(takers)))


def test_of_many_concurrent_acquirers_exactly_one_wins(alice):
    assert race(alice.id) == 1


def test_of_many_concurrent_takers_of_a_lapsed_lease_exactly_one_wins(alice):
    store.acquire_maildrop_lock(alice.id, "dead", 0.1)
    time.sleep(0.3)
    assert race(alice.id) == 1


def test_open_maildrop_locks_and_snapshots_inbox_in_uid_order(maildrop):
    drop = store.open_maildrop(maildrop.id, "me", 60)
    assert drop.name == "INBOX"
    assert [m.uid for m in drop.messages] == inbox_uids(maildrop)
    assert [m.size for m in drop.messages] == SIZES
    assert [m.uidl for m in drop.messages] == [f"{drop.uidvalidity}.{m.uid}" for m in drop.messages]
    with pytest.raises(store.MaildropLocked):
        store.open_maildrop(maildrop.id, "you", 60)


def test_uidls_are_stable_across_sessions_and_unique(maildrop):
    first = store.maildrop(maildrop.id)
    store.delete_messages(maildrop.id, first.folder_id, [(first.messages[0].uid, first.messages[0].uid)])
    store.deliver(MESSAGES[0], [ALICE])  # the same bytes again: a new message, a new UIDL
    second = store.maildrop(maildrop.id)
    assert [m.uidl for m in second.messages[:2]] == [m.uidl for m in first.messages[1:]]
    assert len({m.uidl for m in first.messages + second.messages}) == 4


def test_pop_message_is_the_pop_form_whose_length_the_snapshot_reports(maildrop):
    drop = store.maildrop(maildrop.id)
    for message, raw in zip(drop.messages, MESSAGES):
        data = store.pop_message(maildrop.id, drop.folder_id, message.uid)
        assert data == pop_form(raw) and len(data) == message.size


@pytest.mark.parametrize(
    "raw",
    [
        b"a\nb\n",
        b"a\r\nb",
        b"a\r\r\nb\r",
        b"\n",
        b"\r\n\r\n",
        b"no line end",
        b"8-bit \xe9\xff\x00 and NUL\nline\r\n",
        b"\\ back\\slash\n\\",
        bytes(range(256)) * 3,
    ],
)
def test_the_database_counts_pop_sizes_as_python_does(alice, raw):
    report = store.deliver(raw, [ALICE])
    _sizes.forget(report.blob)  # count it afresh, in the database
    assert _pop_sizes({report.blob}) == {report.blob: pop_size(raw)}


def test_close_maildrop_deletes_marks_seen_releases_and_leaves_tombstones(maildrop):
    drop = store.open_maildrop(maildrop.id, "me", 60)
    view = store.select_folder(maildrop.id, "INBOX")
    uids = [m.uid for m in drop.messages]
    removed = store.close_maildrop(maildrop.id, "me", drop.folder_id, [uids[0]], seen=[uids[1]])
    assert removed == [uids[0]]
    assert inbox_uids(maildrop) == uids[1:]
    changes = store.changes_since(maildrop.id, drop.folder_id, view.highestmodseq)
    assert changes.expunged == [uids[0]]  # what an IMAP session turns into EXPUNGE
    assert {c.uid: c.flags for c in changes.updated} == {uids[1]: frozenset({"\\Seen"})}
    store.acquire_maildrop_lock(maildrop.id, "next", 60)  # released


def test_close_maildrop_changes_nothing_when_another_session_holds_the_lock(maildrop):
    drop = store.open_maildrop(maildrop.id, "me", 0.1)
    time.sleep(0.3)
    store.acquire_maildrop_lock(maildrop.id, "thief", 60)
    with pytest.raises(store.MaildropLocked):
        store.close_maildrop(maildrop.id, "me", drop.folder_id, [drop.messages[0].uid])
    assert len(inbox_uids(maildrop)) == 3


def test_close_maildrop_after_a_lapse_nobody_used_still_applies(maildrop):
    drop = store.open_maildrop(maildrop.id, "me", 0.1)
    time.sleep(0.3)
    store.close_maildrop(maildrop.id, "me", drop.folder_id, [drop.messages[0].uid])
    assert len(inbox_uids(maildrop)) == 2


def test_close_maildrop_skips_messages_expunged_meanwhile(maildrop):
    drop = store.open_maildrop(maildrop.id, "me", 60)
    first = drop.messages[0].uid
    store.delete_messages(maildrop.id, drop.folder_id, [(first, first)])
    assert store.close_maildrop(maildrop.id, "me", drop.folder_id, [first, drop.messages[1].uid]) == [
        drop.messages[1].uid
    ]


def test_maildrop_of_another_folder_and_of_a_missing_one(alice):
    store.append(alice.id, "Archive", MESSAGES[2])
    assert [m.size for m in store.maildrop(alice.id, "Archive").messages] == [SIZES[2]]
    with pytest.raises(store.NoSuchFolder):
        store.maildrop(alice.id, "Nowhere")
