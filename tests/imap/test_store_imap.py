"""The store calls behind IMAP cost a fixed number of queries, whatever the
number of messages (mailboxes/store/imap.py). Inside a test's transaction a
store call that opens one of its own counts a SAVEPOINT and its RELEASE;
FETCH and SEARCH pages open none."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from conftest import sample_message
from mailboxes import store
from mailboxes.models import Message
from mailboxes.store import messages
from mailboxes.store import search as criteria
from tests.markers import ON_POSTGRES, needs_postgres, sqlite_gap

COUNT = 40


@pytest.fixture
def inbox(alice):  # type: ignore[no-untyped-def]
    for n in range(COUNT):
        store.append(
            alice.id,
            "INBOX",
            sample_message(subject=f"message {n}", body=f"body {n}\r\n" * (n + 1)),
            ["\\Seen"] if n % 2 else [],
        )
    return alice.id, store.select_folder(alice.id, "INBOX").id


@pytest.mark.parametrize(
    ("options", "queries"),
    [
        ({}, 1),
        ({"envelope": True, "structure": True}, 1),
        ({"content": "header"}, 1),
        ({"structure": True, "content": "full"}, 1),
    ],
)
def test_a_fetch_page_costs_the_same_queries_for_any_number_of_messages(
    inbox, django_assert_num_queries, options, queries
) -> None:  # type: ignore[no-untyped-def]
    account, folder = inbox
    with django_assert_num_queries(queries):
        page = store.fetch_messages(account, folder, [(1, COUNT)], limit=COUNT, **options)
    assert [m.uid for m in page] == list(range(1, COUNT + 1))
    if options.get("content") == "header":
        assert all(m.data is not None and m.data.endswith(b"\r\n\r\n") and len(m.data) == m.header_bytes for m in page)
    if options.get("content") == "full":
        assert all(m.data is not None and len(m.data) == m.size and m.data.startswith(b"From:") for m in page)


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


@sqlite_gap("SORT reads a missing address name as the text 'null'")
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


def test_uid_search_text_pages_as_search_uids_do_in_one_query(inbox, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    account, folder = inbox
    unseen = criteria.Flag("\\Seen", False)
    got: list[int] = []
    after = 0
    while True:
        with django_assert_num_queries(1):
            page = store.search_uid_text(account, folder, unseen, after_uid=after, limit=7)
        numbers = page.text.split()
        assert page.count == len(numbers) and page.text == b"".join(b" " + n for n in numbers)
        got += [int(n) for n in numbers]
        if page.count < 7:
            break
        assert page.last == int(numbers[-1])
        after = page.last
    assert got == store.search_uids(account, folder, unseen).uids == list(range(1, COUNT + 1, 2))
    assert store.search_uid_text(account, folder, criteria.Uids(((COUNT + 1, COUNT + 9),))) == store.UidText(0, 0, b"")


def test_another_accounts_folder_has_no_messages_here(inbox, bob) -> None:  # type: ignore[no-untyped-def]
    account, folder = inbox
    assert store.search_uid_text(bob.id, folder, criteria.All()).count == 0
    assert store.fetch_messages(bob.id, folder, [(1, COUNT)]) == []
    assert store.search_uids(bob.id, folder, criteria.All()).uids == []
    assert store.search_stats(bob.id, folder, criteria.All()).count == 0
    assert store.sort_rows(bob.id, folder, criteria.All()) == []
    assert store.thread_rows(bob.id, folder, criteria.All()) == []


def test_thread_rows_are_one_query_and_read_references_wherever_the_field_is(alice, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    messages = [
        b"References: <a@x>\r\n <b@x>\r\nMessage-ID: <c@x>\r\nSubject: first line\r\n\r\nx\r\n",
        b"Message-ID: <d@x>\r\nIn-Reply-To: <c@x> <zz@x>\r\nSubject: Re: only in-reply-to\r\n\r\nx\r\n",
        b"Subject: folded\r\nreferences:\r\n\t<a@x>\r\n\t<c@x>\r\nX-Other: <not@x>\r\n\r\nx\r\n",
        b"Subject: none\r\nX-References: <no@x>\r\n\r\nReferences: <body@x>\r\n",
    ]
    for raw in messages:
        store.append(alice.id, "INBOX", raw, [])
    folder = store.select_folder(alice.id, "INBOX").id
    with django_assert_num_queries(1):
        rows = store.thread_rows(alice.id, folder, criteria.All())
    assert [(r.uid, r.message_id, r.references) for r in rows] == [
        (1, "c@x", ("a@x", "b@x")),
        (2, "d@x", ("c@x",)),
        (3, "", ("a@x", "c@x")),
        (4, "", ()),
    ]
    assert rows[1].subject == "Re: only in-reply-to"
    # No Date: field: the internal date stands in (RFC 5256 2.2).
    assert rows[3].date == store.fetch_messages(alice.id, folder, [(4, 4)])[0].internal_date


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


# --- the write path's hand-written statements (mailboxes/store/_sql.py) ---------


@contextmanager
def statements_sent() -> Iterator[list[str]]:
    """Every statement the store sends: those of Django's cursors (with BEGIN
    and COMMIT, as its query log has them) and those of its bound cursors
    (_sql.bound_cursor: plain psycopg cursors, which Django does not see)."""
    sent: list[str] = []
    with CaptureQueriesContext(connection) as django_queries:
        if ON_POSTGRES:
            import psycopg

            original = psycopg.Cursor.execute

            def counted(self, query, params=None, **kwargs):  # type: ignore[no-untyped-def]
                if type(self) is psycopg.Cursor:  # Django's cursors are its subclasses, logged above
                    sent.append(str(query))
                return original(self, query, params, **kwargs)

            psycopg.Cursor.execute = counted  # type: ignore[method-assign]
        try:
            yield sent
        finally:
            if ON_POSTGRES:
                psycopg.Cursor.execute = original  # type: ignore[method-assign]
    sent[:0] = [q["sql"] for q in django_queries.captured_queries]


@pytest.mark.parametrize("count", [1, COUNT])
def test_a_flag_change_and_an_expunge_cost_the_same_statements_for_any_number_of_messages(inbox, count) -> None:  # type: ignore[no-untyped-def]
    account, folder = inbox
    # PostgreSQL: each is one statement, without BEGIN/COMMIT (messages.py, _set_flags_statement,
    # _delete_statement). SQLite: BEGIN, the folder read, one UPDATE ... RETURNING, the folder's
    # modseq raised, COMMIT; for the expunge the DELETE ... RETURNING, tombstones and quota too.
    with statements_sent() as sent:
        flagged = store.set_flags(account, folder, [(1, count)], "add", ["\\Deleted"])
    assert len(sent) == (1 if ON_POSTGRES else 5), sent
    assert [c.uid for c in flagged.changed] == list(range(1, count + 1))
    assert all("\\Deleted" in c.flags and c.modseq == flagged.modseq for c in flagged.changed)
    with statements_sent() as sent:
        assert store.expunge(account, folder).uids == list(range(1, count + 1))
    assert len(sent) == (1 if ON_POSTGRES else 7), sent
    # Nothing to change or remove: no modseq taken.
    with statements_sent() as sent:
        assert store.set_flags(account, folder, [(1, COUNT)], "remove", ["\\Deleted"]).changed == []
    assert len(sent) == (1 if ON_POSTGRES else 4), sent
    with statements_sent() as sent:
        assert store.expunge(account, folder) == store.ExpungeResult([], 0)
    assert len(sent) == (1 if ON_POSTGRES else 4), sent
    assert store.changes_since(account, folder, 0).highestmodseq == flagged.modseq + 1


def test_keywords_and_system_flags_change_in_one_statement_whatever_the_operation(inbox) -> None:  # type: ignore[no-untyped-def]
    account, folder = inbox
    with statements_sent() as sent:
        store.set_flags(account, folder, [(1, 2)], "set", ["\\Flagged", "$Label1", "$Label2"])
        store.set_flags(account, folder, [(1, 2)], "add", ["$Label3", "\\Answered"])
        store.set_flags(account, folder, [(1, 2)], "remove", ["$Label1", "\\Flagged"])
        store.set_flags(account, folder, [(1, 2)], "add", ["$Label4"], unchangedsince=10**6)
    if ON_POSTGRES:
        assert len(sent) == 4, sent
    assert [m.flags for m in store.fetch_messages(account, folder, [(1, 2)])] == [
        {"\\Answered", "$Label2", "$Label3", "$Label4"}
    ] * 2


def test_keywords_are_a_set_kept_in_the_order_they_came(inbox) -> None:  # type: ignore[no-untyped-def]
    account, folder = inbox
    first = store.set_flags(account, folder, [(1, 1)], "set", ["\\Seen", "$Label1", "$Label2", "$Label1"])
    # The same flags in another order (and the keyword given twice) are no change: no new modseq.
    again = store.set_flags(account, folder, [(1, 1)], "set", ["$Label2", "$Label1", "\\Seen"])
    assert again.changed == [] and again.modseq == first.modseq
    assert store.set_flags(account, folder, [(1, 1)], "add", ["$Label2", "$Label1"]).changed == []
    assert store.set_flags(account, folder, [(1, 1)], "remove", ["$Label3", "\\Flagged"]).changed == []
    assert store.changes_since(account, folder, 0).highestmodseq == first.modseq
    # Added ones after those held, in the order given; removing keeps the others' order.
    store.set_flags(account, folder, [(1, 1)], "add", ["$Label4", "$Label1", "$Label3"])
    assert Message.objects.get(folder_id=folder, uid=1).keywords == ["$Label1", "$Label2", "$Label4", "$Label3"]
    store.set_flags(account, folder, [(1, 1)], "remove", ["$Label2", "$Label9"])
    assert Message.objects.get(folder_id=folder, uid=1).keywords == ["$Label1", "$Label4", "$Label3"]
    assert store.changes_since(account, folder, 0).keywords == ("$Label1", "$Label2", "$Label4", "$Label3")


def test_a_keyword_past_the_folders_limit_is_refused_and_nothing_is_written(inbox) -> None:  # type: ignore[no-untyped-def]
    account, folder = inbox
    many = [f"k{n}" for n in range(messages.MAX_FOLDER_KEYWORDS)]
    for start in range(0, len(many), messages.MAX_KEYWORDS):
        store.set_flags(account, folder, [(1, 1)], "set", many[start : start + messages.MAX_KEYWORDS])
    before = store.changes_since(account, folder, 0)
    assert len(before.keywords) == messages.MAX_FOLDER_KEYWORDS
    with pytest.raises(store.InvalidInput, match="too many keywords in this folder"):
        store.set_flags(account, folder, [(1, 3)], "add", ["\\Flagged", "k0", "one-too-many"])
    with pytest.raises(store.InvalidInput, match="too many keywords in this folder"):
        store.set_flags(account, folder, [(2, 2)], "set", ["one-too-many"])
    assert store.changes_since(account, folder, 0) == before  # no flag, no modseq, no keyword
    # Keywords the folder has are still given; a keyword no row takes is not noted.
    assert store.set_flags(account, folder, [(2, 2)], "add", ["k5"]).changed[0].flags == {"\\Seen", "k5"}
    assert store.set_flags(account, folder, [(COUNT + 1, COUNT + 5)], "add", ["one-too-many"]).changed == []


def test_flags_and_expunge_on_someone_elses_folder_find_no_folder_and_change_nothing(inbox, bob) -> None:  # type: ignore[no-untyped-def]
    account, folder = inbox
    store.set_flags(account, folder, [(1, 1)], "add", ["\\Deleted"])
    before = store.changes_since(account, folder, 0)
    with pytest.raises(store.NoSuchFolder):
        store.set_flags(bob.id, folder, [(1, COUNT)], "add", ["\\Deleted"], unchangedsince=1)
    with pytest.raises(store.NoSuchFolder):
        store.expunge(bob.id, folder)
    with pytest.raises(store.NoSuchFolder):
        store.delete_messages(bob.id, folder, [(1, COUNT)])
    assert store.changes_since(account, folder, 0) == before


def test_an_expunge_with_nothing_to_remove_takes_no_modseq_and_frees_nothing(inbox) -> None:  # type: ignore[no-untyped-def]
    account, folder = inbox
    before = store.changes_since(account, folder, 0).highestmodseq, store.quota_usage(account).used
    assert store.expunge(account, folder) == store.ExpungeResult([], 0)
    assert store.expunge(account, folder, [(1, 5)]) == store.ExpungeResult([], 0)
    assert store.delete_messages(account, folder, [(COUNT + 1, COUNT + 9)]) == []
    assert (store.changes_since(account, folder, 0).highestmodseq, store.quota_usage(account).used) == before


def test_deleting_messages_releases_their_bytes_and_leaves_tombstones(inbox) -> None:  # type: ignore[no-untyped-def]
    account, folder = inbox
    used, modseq = store.quota_usage(account).used, store.changes_since(account, folder, 0).highestmodseq
    sizes = sum(m.size for m in store.fetch_messages(account, folder, [(2, 3), (7, 7)]))
    assert store.delete_messages(account, folder, [(2, 3), (7, 7)]) == [2, 3, 7]
    assert store.quota_usage(account).used == used - sizes
    changes = store.changes_since(account, folder, modseq)
    assert changes.expunged == [2, 3, 7] and changes.highestmodseq == modseq + 1


@needs_postgres
@pytest.mark.parametrize("command", ["expunge", "unchangedsince"])
def test_a_change_committed_while_waiting_for_the_folder_lock_is_seen(inbox, command) -> None:  # type: ignore[no-untyped-def]
    """The one-statement path's snapshot is taken before it waits for the
    folder's lock: a writer that commits meanwhile (here: \\Deleted set on
    message 5) must not be missed (messages.py, _LOCKED_FOLDER)."""
    account, folder = inbox
    written, go_on = threading.Event(), threading.Event()

    def writer() -> None:
        try:
            with transaction.atomic():
                store.set_flags(account, folder, [(5, 5)], "add", ["\\Deleted"])
                written.set()
                go_on.wait(10)
                time.sleep(0.5)  # the other statement is waiting for the lock by now
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        done = pool.submit(writer)
        assert written.wait(10)
        go_on.set()
        if command == "expunge":
            result = store.expunge(account, folder)
            assert result.uids == [5]
        else:
            stale = store.changes_since(account, folder, 0).highestmodseq
            conditional = store.set_flags(account, folder, [(4, 6)], "add", ["$Label1"], unchangedsince=stale)
            assert conditional.conflicts == [5]
            assert [c.uid for c in conditional.changed] == [4, 6]
        done.result()
    assert store.changes_since(account, folder, 0).highestmodseq == (
        result.modseq if command == "expunge" else conditional.modseq
    )


def test_keywords_change_only_the_rows_whose_flags_change_and_keep_the_others(inbox) -> None:  # type: ignore[no-untyped-def]
    account, folder = inbox
    store.set_flags(account, folder, [(1, 2)], "add", ["Work"])
    before = store.changes_since(account, folder, 0).highestmodseq
    result = store.set_flags(account, folder, [(1, 4)], "add", ["Work", "$Label1"])
    # Odd UIDs are unseen, even ones \Seen: two resulting sets of flags per state, every row changed once.
    assert {c.uid: c.flags for c in result.changed} == {
        1: {"Work", "$Label1"},
        2: {"\\Seen", "Work", "$Label1"},
        3: {"Work", "$Label1"},
        4: {"\\Seen", "Work", "$Label1"},
    }
    assert result.modseq == before + 1 and all(c.modseq == result.modseq for c in result.changed)
    again = store.set_flags(account, folder, [(1, 4)], "add", ["Work"])
    assert again.changed == [] and again.modseq == result.modseq  # no change, no new modseq
    removed = store.set_flags(account, folder, [(2, 3)], "remove", ["Work", "\\Seen"])
    assert {c.uid: c.flags for c in removed.changed} == {2: {"$Label1"}, 3: {"$Label1"}}
    changes = store.changes_since(account, folder, before)
    assert {c.uid: c.flags for c in changes.updated} == {
        1: {"Work", "$Label1"},
        2: {"$Label1"},
        3: {"$Label1"},
        4: {"\\Seen", "Work", "$Label1"},
    }
    assert changes.highestmodseq == removed.modseq


def test_changes_since_is_one_statement_and_only_for_the_owner(inbox, bob, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    account, folder = inbox
    top = store.changes_since(account, folder, 0)
    with django_assert_num_queries(1):
        assert store.changes_since(account, folder, top.highestmodseq) == store.Changes(
            top.highestmodseq, COUNT + 1, [], [], recent_uid=1
        )  # nobody has claimed \Recent yet
    store.set_flags(account, folder, [(3, 3)], "add", ["\\Deleted"])
    store.expunge(account, folder)
    with django_assert_num_queries(1):
        changes = store.changes_since(account, folder, top.highestmodseq)
    assert changes.updated == [] and changes.expunged == [3]  # flagged, then gone: a tombstone only
    with pytest.raises(store.NoSuchFolder):
        store.changes_since(bob.id, folder, 0)


def test_an_append_with_no_room_takes_no_uid_and_charges_nothing(alice) -> None:  # type: ignore[no-untyped-def]
    store.update_account("alice@example.test", quota=1000)
    store.append(alice.id, "INBOX", sample_message(body="x" * 500))
    before = store.folder_status(alice.id, "INBOX"), store.quota_usage(alice.id).used
    with pytest.raises(store.OverQuota):
        store.append(alice.id, "INBOX", sample_message(body="y" * 500))
    with pytest.raises(store.TooBigForQuota):
        store.append(alice.id, "INBOX", sample_message(body="z" * 2000))
    with pytest.raises(store.NoSuchFolder):
        store.append(alice.id, "Nowhere", sample_message())
    assert (store.folder_status(alice.id, "INBOX"), store.quota_usage(alice.id).used) == before
    result = store.append(alice.id, "inbox", sample_message(body="small"), ["\\Flagged", "Work"])
    assert result.uid == before[0].uidnext
    [message] = store.fetch_messages(alice.id, result.folder_id, [(result.uid, result.uid)])
    assert message.flags == {"\\Flagged", "Work"}


@needs_postgres
def test_sessions_claiming_recent_at_once_get_disjoint_ranges_covering_every_message(alice) -> None:  # type: ignore[no-untyped-def]
    folder = store.select_folder(alice.id, "INBOX").id
    claimed: list[store.RecentRange] = []

    def session() -> None:
        for below in range(2, 42):
            found = store.claim_recent(alice.id, folder, below)
            if found.end > found.first:
                claimed.append(found)
        connection.close()

    for n in range(40):
        store.append(alice.id, "INBOX", sample_message(subject=f"r{n}"))
    with ThreadPoolExecutor(6) as pool:
        for future in [pool.submit(session) for _ in range(6)]:
            future.result()
    uids = sorted(uid for r in claimed for uid in range(r.first, r.end))
    assert uids == list(range(1, 41))  # each message claimed by exactly one session


FLAG_AND_NUMBER_SEARCHES = [
    criteria.All(),
    criteria.Flag("\\Seen", False),
    criteria.Flag("\\flagged"),
    criteria.Flag("\\Recent"),
    criteria.Not(criteria.Flag("\\Recent")),
    criteria.Uids(((3, 3), (10, 20), (38, 2**32))),
    criteria.And((criteria.Flag("\\Seen"), criteria.Not(criteria.Uids(((1, 10),))))),
    criteria.Or(criteria.Size("larger", 400), criteria.ModSeq(30)),
    criteria.Not(criteria.Or(criteria.Flag("\\Deleted"), criteria.Size("smaller", 300))),
    criteria.And(()),
]


@pytest.mark.parametrize("criterion", FLAG_AND_NUMBER_SEARCHES, ids=repr)
def test_flag_and_number_searches_are_hand_written_and_match_what_the_orm_finds(
    inbox, bob, criterion, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    from mailboxes.models import Message
    from mailboxes.store.search import to_q, to_sql

    account, folder = inbox
    store.set_flags(account, folder, [(5, 9)], "add", ["\\Flagged", "\\Deleted"])
    expected = list(
        Message.objects.filter(folder_id=folder).filter(to_q(criterion)).order_by("uid").values_list("uid", flat=True)
    )
    assert to_sql(criterion) is not None
    with django_assert_num_queries(1):
        page = store.search_uids(account, folder, criterion, modseq=True)
    assert page.uids == expected
    assert (
        store.search_uids(account, folder, criterion, after_uid=4, limit=3).uids == [u for u in expected if u > 4][:3]
    )
    stats = store.search_stats(account, folder, criterion)
    assert (stats.count, stats.min_uid, stats.max_uid) == (
        len(expected),
        expected[0] if expected else None,
        expected[-1] if expected else None,
    )
    assert store.search_uids(bob.id, folder, criterion).uids == []  # not bob's folder


def test_searches_on_text_dates_and_keywords_keep_the_orm_form(inbox) -> None:  # type: ignore[no-untyped-def]
    from mailboxes.store.search import to_sql

    account, folder = inbox
    store.set_flags(account, folder, [(2, 2)], "add", ["Work"])
    for criterion in (
        criteria.Flag("Work"),
        criteria.Header("subject", "message 1"),
        criteria.And((criteria.Flag("\\Seen"), criteria.Text("body 3"))),
    ):
        assert to_sql(criterion) is None
    assert store.search_uids(account, folder, criteria.Flag("Work")).uids == [2]
    assert store.search_uids(account, folder, criteria.Header("subject", "message 1")).uids[:2] == [2, 11]


def test_a_claim_from_the_mark_read_with_the_changes_is_one_update_and_still_exclusive(
    alice, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    folder = store.select_folder(alice.id, "INBOX", claim_recent=True).id
    for n in range(3):
        store.append(alice.id, "INBOX", sample_message(subject=f"c{n}"))
    changes = store.changes_since(alice.id, folder, 0)
    seen = (changes.recent_uid, changes.uidnext)
    with django_assert_num_queries(1):
        assert store.claim_recent(alice.id, folder, 3, seen=seen) == store.RecentRange(1, 3)
    # The same (now stale) mark again: the UPDATE finds it moved, reads again, claims only what is left.
    assert store.claim_recent(alice.id, folder, 4, seen=seen) == store.RecentRange(3, 4)
    assert store.claim_recent(alice.id, folder, 4, seen=seen) == store.RecentRange(4, 4)
    # A `below` past the mark's uidnext is not answered from it.
    store.append(alice.id, "INBOX", sample_message(subject="c3"))
    assert store.claim_recent(alice.id, folder, 5, seen=(4, 4)) == store.RecentRange(4, 5)


def test_copy_and_move_keep_flags_keywords_and_dates_and_cost_the_same_for_any_number(
    inbox, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    account, folder = inbox
    store.set_flags(account, folder, [(1, 2)], "add", ["Work", "\\Answered"])
    source = {m.uid: m for m in store.fetch_messages(account, folder, [(1, COUNT)], limit=COUNT)}
    # Source check, dest lock, source rows, quota, dest UIDs, the rows (+ BEGIN/COMMIT).
    with django_assert_num_queries(8):
        copied = store.copy(account, folder, [(1, 2)], "Archive")
    with django_assert_num_queries(8):
        store.copy(account, folder, [(3, COUNT)], "Archive")
    archive = store.select_folder(account, "Archive")
    assert copied.source_uids == [1, 2] and copied.dest_uids == [1, 2] and archive.uids == list(range(1, COUNT + 1))
    for message in store.fetch_messages(account, archive.id, [(1, COUNT)], limit=COUNT):
        original = source[message.uid]
        assert (message.flags, message.internal_date, message.size, message.blob) == (
            original.flags,
            original.internal_date,
            original.size,
            original.blob,
        )
    moved = store.move(account, archive.id, [(1, 2), (5, 5)], "Trash")
    assert moved.source_uids == [1, 2, 5] and moved.dest_uids == [1, 2, 3]
    changes = store.changes_since(account, archive.id, archive.highestmodseq)
    assert changes.expunged == [1, 2, 5]
    trash = store.select_folder(account, "Trash")
    assert [m.flags for m in store.fetch_messages(account, trash.id, [(1, 3)])] == [
        source[1].flags,
        source[2].flags,
        source[5].flags,
    ]


def _prepared_here() -> list[str]:
    """The statements prepared on this thread's connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


@needs_postgres
def test_hot_statements_are_prepared_and_searches_never(inbox) -> None:  # type: ignore[no-untyped-def]
    account, folder = inbox
    for _ in range(3):
        store.fetch_messages(account, folder, [(1, COUNT)], limit=COUNT)
        store.search_uids(account, folder, criteria.Text("body"))
        store.search_uids(account, folder, criteria.Header("subject", "message"))
    prepared = _prepared_here()
    assert any("m.blob_id" in statement and "LIMIT" in statement for statement in prepared)  # fetch_messages
    # A LIKE's plan depends on its pattern: a generic plan kept for one took
    # SEARCH TEXT from 20 ms to 2.6 s on 100,000 messages (docs/PERFORMANCE.md).
    assert not [statement for statement in prepared if "LIKE" in statement.upper()]
