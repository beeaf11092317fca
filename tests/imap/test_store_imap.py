"""The store calls behind IMAP cost a fixed number of queries, whatever the
number of messages (mailboxes/store/imap.py). Inside a test's transaction a
store call that opens one of its own counts a SAVEPOINT and its RELEASE;
FETCH and SEARCH pages open none."""
from __future__ import annotations

import pytest

from conftest import sample_message
from mailboxes import store
from mailboxes.store import search as criteria

COUNT = 40


@pytest.fixture
def inbox(alice):  # type: ignore[no-untyped-def]
    for n in range(COUNT):
        store.append(alice.id, "INBOX", sample_message(subject=f"message {n}", body=f"body {n}\r\n" * (n + 1)),
                     ["\\Seen"] if n % 2 else [])
    return alice.id, store.select_folder(alice.id, "INBOX").id


@pytest.mark.parametrize(
    ("options", "queries"),
    [({}, 1), ({"envelope": True, "structure": True}, 1), ({"content": "header"}, 1), ({"structure": True, "content": "full"}, 2)],
)
def test_a_fetch_page_costs_the_same_queries_for_any_number_of_messages(
        inbox, django_assert_num_queries, options, queries) -> None:  # type: ignore[no-untyped-def]
    account, folder = inbox
    with django_assert_num_queries(queries):
        page = store.fetch_messages(account, folder, [(1, COUNT)], limit=COUNT, **options)
    assert [m.uid for m in page] == list(range(1, COUNT + 1))
    if options.get("content") == "header":
        assert all(m.data is not None and m.data.endswith(b"\r\n\r\n") and len(m.data) == m.header_bytes for m in page)


def test_a_full_page_stops_at_its_byte_budget_but_never_before_one_message(inbox) -> None:  # type: ignore[no-untyped-def]
    account, folder = inbox
    page = store.fetch_messages(account, folder, [(1, COUNT)], content="full", max_bytes=2000)
    assert 1 < len(page) < COUNT and sum(m.size for m in page) <= 2000
    assert store.fetch_messages(account, folder, [(COUNT, COUNT)], content="full", max_bytes=1)[0].uid == COUNT


def test_changedsince_returns_only_later_changes(inbox) -> None:  # type: ignore[no-untyped-def]
    account, folder = inbox
    result = store.set_flags(account, folder, [(5, 6)], "add", ["\\Flagged"])
    page = store.fetch_messages(account, folder, [(1, COUNT)], changedsince=result.modseq - 1)
    assert [m.uid for m in page] == [5, 6]


def test_search_pages_and_stats_are_single_queries(inbox, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    account, folder = inbox
    unseen = criteria.Flag("\\Seen", False)
    with django_assert_num_queries(1):
        page = store.search_uids(account, folder, unseen, after_uid=10, limit=5, modseq=True)
    assert page.uids == [11, 13, 15, 17, 19] and page.highest_modseq > 0
    with django_assert_num_queries(1):
        stats = store.search_stats(account, folder, unseen)
    assert (stats.count, stats.min_uid, stats.max_uid) == (COUNT // 2, 1, COUNT - 1)
    with django_assert_num_queries(1):
        rows = store.sort_rows(account, folder, criteria.All())
    assert len(rows) == COUNT and rows[0].from_ == (None, "bob", "example.test")


def test_another_accounts_folder_has_no_messages_here(inbox, bob) -> None:  # type: ignore[no-untyped-def]
    account, folder = inbox
    assert store.fetch_messages(bob.id, folder, [(1, COUNT)]) == []
    assert store.search_uids(bob.id, folder, criteria.All()).uids == []
    assert store.search_stats(bob.id, folder, criteria.All()).count == 0
    assert store.sort_rows(bob.id, folder, criteria.All()) == []


def test_list_status_and_quota_root_read_one_account_only(inbox, bob) -> None:  # type: ignore[no-untyped-def]
    account, _ = inbox
    status = {info.name: st for info, st in store.folders_with_status(account)}
    assert status["INBOX"].messages == COUNT and status["Sent"].messages == 0
    assert store.quota_root(account, "INBOX").used > 0
    with pytest.raises(store.NoSuchFolder):
        store.quota_root(bob.id, "Nowhere")


def test_recent_is_claimed_once_and_only_by_a_claiming_select(alice, bob) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):
        store.append(alice.id, "INBOX", sample_message(subject=f"m{n}"))
    peek = store.select_folder(alice.id, "INBOX")
    assert (peek.recent.first, peek.recent.end) == (1, 4)  # EXAMINE sees them, takes nothing
    assert store.folder_status(alice.id, "INBOX").recent == 3
    first = store.select_folder(alice.id, "INBOX", claim_recent=True)
    assert (first.recent.first, first.recent.end) == (1, 4)
    second = store.select_folder(alice.id, "INBOX", claim_recent=True)
    assert second.recent.end <= second.recent.first
    assert store.folder_status(alice.id, "INBOX").recent == 0
    store.append(alice.id, "INBOX", sample_message(subject="m3"))
    store.append(alice.id, "INBOX", sample_message(subject="m4"))
    # A session told of UID 4 only claims UID 4; UID 5 stays for whoever learns of it first.
    assert store.claim_recent(alice.id, first.id, 5) == store.RecentRange(4, 5)
    assert store.claim_recent(alice.id, first.id, 5) == store.RecentRange(5, 5)
    assert store.claim_recent(alice.id, first.id, 6, claim=False) == store.RecentRange(5, 6)
    assert [st.recent for st in store.all_folder_status(alice.id) if st.name == "INBOX"] == [1]
    with pytest.raises(store.NoSuchFolder):
        store.claim_recent(bob.id, first.id, 6)  # not bob's folder
