"""The store functions the webmail reads through."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import sample_message
from mailboxes import store
from mailboxes.store import search as s

from .helpers import deliver_to, folder_id, with_attachments


@pytest.mark.parametrize("count", [3, 40])
def test_a_message_list_page_costs_the_same_queries_whatever_its_size(alice, count):
    for n in range(count):
        deliver_to(alice.address, with_attachments(subject=f"S{n}") if n % 2 else sample_message(subject=f"S{n}"))
    inbox = folder_id(alice.id, "INBOX")
    with CaptureQueriesContext(connection) as queries:
        result = store.message_page(alice.id, inbox, per_page=50)
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 3  # the folder, the count, one joined page
    assert result.total == count and len(result.items) == count
    assert [m.has_attachments for m in result.items][:2] in ([True, False], [False, True])


def test_pages_sort_by_date_sender_subject_and_size(alice):
    for subject, sender, body in (
        ("b", "zed@x.test", "x" * 10),
        ("a", "amy@x.test", "x" * 500),
        ("c", "kim@x.test", ""),
    ):
        deliver_to(alice.address, sample_message(subject=subject, sender=sender, body=body))
    inbox = folder_id(alice.id, "INBOX")

    def order(**kw: object) -> list[str]:
        return [m.subject for m in store.message_page(alice.id, inbox, **kw).items]  # type: ignore[arg-type]

    assert order() == ["c", "a", "b"]  # newest first
    assert order(sort="from", reverse=False) == ["a", "c", "b"]
    assert order(sort="subject", reverse=False) == ["a", "b", "c"]
    assert order(sort="size") == ["a", "b", "c"]
    assert order(per_page=2, page=2) == ["b"] and order(per_page=2, page=99) == ["b"]
    with pytest.raises(store.InvalidInput):
        store.message_page(alice.id, inbox, sort="uid; drop table")


def test_open_message_marks_seen_and_knows_its_neighbours(alice):
    uids = [deliver_to(alice.address, sample_message(subject=f"M{n}"))[1] for n in range(3)]
    inbox = folder_id(alice.id, "INBOX")
    middle = store.open_message(alice.id, inbox, uids[1], mark_seen=True, neighbours=True)
    assert (middle.previous_uid, middle.next_uid) == (uids[2], uids[0])
    assert "\\Seen" in middle.flags and middle.subject == "M1" and middle.structure["type"] == "text"
    assert store.open_message(alice.id, inbox, uids[0]).flags == frozenset()


def test_message_bytes_cuts_in_the_database(alice):
    raw = with_attachments()
    inbox, uid = deliver_to(alice.address, raw)
    assert store.message_bytes(alice.id, inbox, uid) == raw
    assert store.message_bytes(alice.id, inbox, uid, 10, 30) == raw[10:30]
    assert store.message_bytes(alice.id, inbox, uid, 5, 5) == b""
    with pytest.raises(store.NotFound):
        store.message_bytes(alice.id, inbox, uid + 1, 0, 4)


def test_search_over_one_folder_or_all_uses_the_criteria_tree(alice):
    deliver_to(alice.address, sample_message(subject="Invoice 42", body="amount due\r\n"))
    deliver_to(alice.address, sample_message(subject="Holiday", body="due to the weather\r\n"))
    inbox = folder_id(alice.id, "INBOX")
    holiday = next(m.uid for m in store.message_page(alice.id, inbox).items if m.subject == "Holiday")
    store.move(alice.id, inbox, [(holiday, holiday)], "Archive")
    everywhere = store.search_messages(alice.id, s.Text("DUE", "body"))
    assert sorted(m.subject for m in everywhere.items) == ["Holiday", "Invoice 42"]
    assert {m.folder_id for m in everywhere.items} == {inbox, folder_id(alice.id, "Archive")}
    assert [m.subject for m in store.search_messages(alice.id, s.Text("due", "body"), folder_id=inbox).items] == [
        "Invoice 42"
    ]
    assert store.search_messages(alice.id, s.Header("subject", "invoice")).total == 1


def test_search_never_sees_another_accounts_mail(alice, bob):
    deliver_to(bob.address, sample_message(subject="Bob's secret", to=bob.address))
    assert store.search_messages(alice.id, s.Header("subject", "secret")).total == 0
    with pytest.raises(store.NoSuchFolder):
        store.search_messages(alice.id, s.All(), folder_id=folder_id(bob.id, "INBOX"))


def test_correspondents_rank_people_written_to_above_people_heard_from(alice):
    deliver_to(alice.address, sample_message(sender="Dan Heard <dan@x.test>"))
    deliver_to(alice.address, sample_message(sender="Dan Heard <dan@x.test>", subject="again"))
    store.append(alice.id, "Sent", sample_message(sender=alice.address, to="Dana Wrote <dana@x.test>"))
    assert store.correspondents(alice.id, "dan") == [("Dana Wrote", "dana@x.test"), ("Dan Heard", "dan@x.test")]
    assert store.correspondents(alice.id, "d") == []


def test_drafts_replace_each_other_and_sending_files_the_copy(alice):
    first = store.save_draft(alice.id, sample_message(subject="v1"))
    second = store.save_draft(alice.id, sample_message(subject="v2"), replaces=first.uid)
    drafts = folder_id(alice.id, "Drafts")
    assert [m.subject for m in store.message_page(alice.id, drafts).items] == ["v2"]
    inbox, uid = deliver_to(alice.address, sample_message(subject="question"))
    store.record_sent(alice.id, sample_message(subject="answer"), draft_uid=second.uid, answered=(inbox, uid))
    assert store.message_page(alice.id, drafts).total == 0
    assert [m.subject for m in store.message_page(alice.id, folder_id(alice.id, "Sent")).items] == ["answer"]
    assert "\\Answered" in store.open_message(alice.id, inbox, uid).flags


def test_a_renamed_drafts_folder_is_still_found_by_its_special_use(alice):
    store.rename_folder(alice.id, "Drafts", "Entwürfe")
    saved = store.save_draft(alice.id, sample_message())
    assert saved.folder_id == folder_id(alice.id, "Entwürfe")


@pytest.mark.parametrize(
    "prefs, message",
    [
        (store.Preferences(display_name="A\nB"), "display name"),
        (store.Preferences(vacation_days=0), "vacation interval"),
        (store.Preferences(vacation_enabled=True, vacation_body=" "), "needs a message"),
        (store.Preferences(forward_to="not an address"), "not a valid mail address"),
    ],
)
def test_preferences_are_validated(alice, prefs, message):
    with pytest.raises(store.InvalidInput, match=message):
        store.save_preferences(alice.id, prefs)
    assert store.get_preferences(alice.id) == store.Preferences()
