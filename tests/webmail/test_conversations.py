"""Conversations: the folder grouped by RFC 5256 REFERENCES threading in the
store, the list showing each once with its count and participants, the
conversation page with every message, and actions on all of it or one."""

from __future__ import annotations

import re

from django.urls import reverse

from conftest import sample_message
from mailboxes import store

from .helpers import deliver_to, folder_id

ALICE = "alice@example.test"


def _thread(alice) -> tuple[int, list[int]]:  # type: ignore[no-untyped-def]
    first = sample_message(
        subject="Trip to Turin",
        body="Shall we go in May?\r\n",
        sender="Bob <bob@example.test>",
        extra="Message-ID: <trip-1@example.test>\r\n",
    ).replace(b"Message-ID: <", b"X-Old-ID: <", 1)
    reply = (
        b"From: Carol <carol@example.test>\r\nTo: alice@example.test\r\nSubject: Re: Trip to Turin\r\n"
        b"Date: Tue, 01 Dec 2026 09:00:00 +0000\r\nMessage-ID: <trip-2@example.test>\r\n"
        b"In-Reply-To: <trip-1@example.test>\r\nReferences: <trip-1@example.test>\r\n\r\nMay suits me.\r\n"
    )
    other = sample_message(subject="Invoice 7", body="Attached.\r\n")
    inbox, one = deliver_to(ALICE, first)
    _inbox, two = deliver_to(ALICE, reply)
    _inbox, three = deliver_to(ALICE, other)
    return inbox, [one, two, three]


def test_a_reply_and_its_original_are_one_conversation_in_the_store(alice):
    inbox, (one, two, three) = _thread(alice)
    result = store.conversation_page(alice.id, inbox)
    assert result.total == 2
    by_count = {c.count: c for c in result.items}
    trip = by_count[2]
    assert trip.uids == (one, two)
    assert trip.latest.uid == two
    assert trip.participants == ("Bob", "Carol")
    assert trip.unseen == 2
    assert by_count[1].uids == (three,)
    assert store.conversation_uids(alice.id, inbox, one) == [one, two]


def test_the_list_shows_the_conversation_once_with_its_count(alice, alice_client):
    inbox, (one, two, _three) = _thread(alice)
    html = alice_client.get(reverse("webmail:folder", args=[inbox])).content.decode()
    assert html.count('class="msg') == 2
    assert 'title="2 messages in this conversation">2</span>' in html
    assert "Bob, Carol" in html
    assert f'value="{one},{two}"' in html
    assert reverse("webmail:conversation", args=[inbox, two]) in html


def test_with_conversations_off_or_another_sort_the_list_is_flat(alice, alice_client):
    inbox, _uids = _thread(alice)
    url = reverse("webmail:folder", args=[inbox])
    assert alice_client.get(url + "?sort=subject").content.decode().count('class="msg') == 3
    store.save_preferences(alice.id, store.Preferences(conversations=False))
    assert alice_client.get(url).content.decode().count('class="msg') == 3


def test_the_conversation_page_shows_every_message_in_order_the_older_folded(alice, alice_client):
    inbox, (one, two, _three) = _thread(alice)
    html = alice_client.get(reverse("webmail:conversation", args=[inbox, one])).content.decode()
    folded = re.findall(r'<details class="in-conversation" data-uid="(\d+)"( open)?>', html)
    assert folded == [(str(one), ""), (str(two), " open")]
    assert html.index("Shall we go in May?") < html.index("May suits me.")
    flags = {m.uid: m.flags for m in store.message_page(alice.id, inbox).items}
    assert "\\Seen" in flags[one] and "\\Seen" in flags[two]


def test_an_action_applies_to_the_whole_conversation_or_to_one_message(alice, alice_client):
    inbox, (one, two, three) = _thread(alice)
    act = reverse("webmail:act", args=[inbox])
    alice_client.post(act, {"uid": f"{one},{two}", "action": "read"})
    seen = {m.uid for m in store.message_page(alice.id, inbox).items if "\\Seen" in m.flags}
    assert seen == {one, two}
    alice_client.post(act, {"uid": str(one), "action": "delete"})
    assert [m.uid for m in store.message_page(alice.id, inbox).items] == [three, two]
    alice_client.post(act, {"uid": f"{two},{three}", "action": "delete"})
    assert store.message_page(alice.id, inbox).total == 0
    assert store.message_page(alice.id, folder_id(alice.id, "Trash")).total == 3


def test_someone_elses_conversation_is_not_found(alice, bob_client):
    inbox, (one, _two, _three) = _thread(alice)
    assert bob_client.get(reverse("webmail:conversation", args=[inbox, one])).status_code == 404


def test_a_move_asked_for_as_json_answers_what_undo_needs(alice, alice_client):
    inbox, (one, two, _three) = _thread(alice)
    archive = folder_id(alice.id, "Archive")
    done = alice_client.post(
        reverse("webmail:act", args=[inbox]),
        {"uid": f"{one},{two}", "action": "move", "dest": archive},
        HTTP_ACCEPT="application/json",
    ).json()
    assert done["text"] == "Moved 2 to Archive." and done["folder"] == archive and len(done["uids"]) == 2
    back = alice_client.post(
        reverse("webmail:act", args=[archive]),
        {"uid": ",".join(map(str, done["uids"])), "action": "move", "dest": inbox},
        HTTP_ACCEPT="application/json",
    )
    assert back.json()["text"] == "Moved 2 to Inbox."
    assert store.message_page(alice.id, inbox).total == 3 and store.message_page(alice.id, archive).total == 0


# --- the threading cache (store/conversations.py) -------------------------------


def _threadings(call) -> int:  # type: ignore[no-untyped-def]
    """How many times call read a folder's threading facts (thread_rows' statement)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        call()
    return sum("references:" in q["sql"].lower() for q in queries.captured_queries)


def test_an_unchanged_folder_or_a_flag_change_is_not_threaded_again(alice):
    inbox, (one, _two, _three) = _thread(alice)
    assert _threadings(lambda: store.conversation_page(alice.id, inbox)) == 1
    assert _threadings(lambda: store.conversation_page(alice.id, inbox)) == 0
    store.set_flags(alice.id, inbox, [(one, one)], "add", ["\\Seen", "\\Flagged"])
    assert _threadings(lambda: store.conversation_uids(alice.id, inbox, one)) == 0
    trip = next(c for c in store.conversation_page(alice.id, inbox).items if c.count == 2)
    assert trip.unseen == 1 and trip.flagged  # the flags are read fresh, only the grouping is kept


def test_new_mail_in_the_folder_shows_in_the_next_page(alice):
    inbox, (one, two, three) = _thread(alice)
    assert store.conversation_page(alice.id, inbox).total == 2
    reply = (
        b"From: Dan <dan@example.test>\r\nTo: alice@example.test\r\nSubject: Re: Trip to Turin\r\n"
        b"Date: Wed, 02 Dec 2026 09:00:00 +0000\r\nMessage-ID: <trip-3@example.test>\r\n"
        b"References: <trip-1@example.test> <trip-2@example.test>\r\n\r\nCount me in.\r\n"
    )
    _inbox, four = deliver_to(ALICE, reply)
    page = store.conversation_page(alice.id, inbox)
    assert page.total == 2 and page.items[0].uids == (one, two, four)
    assert page.items[0].participants == ("Bob", "Carol", "Dan")
    _inbox, five = deliver_to(ALICE, sample_message(subject="Lunch?", body="Noon.\r\n"))  # dated as Invoice 7
    assert [c.uids for c in store.conversation_page(alice.id, inbox).items] == [(one, two, four), (five,), (three,)]
    store.delete_messages(alice.id, inbox, [(five, five)])  # one out, one in: the count is as it was
    _inbox, six = deliver_to(ALICE, sample_message(subject="Dinner?", body="Eight.\r\n"))
    assert [c.uids for c in store.conversation_page(alice.id, inbox).items] == [(one, two, four), (six,), (three,)]


def test_an_expunge_a_move_out_and_a_move_in_each_show_in_the_next_page(alice):
    inbox, (one, two, three) = _thread(alice)
    archive = store.create_folder(alice.id, "Projects").id
    assert store.conversation_page(alice.id, inbox).total == 2
    store.delete_messages(alice.id, inbox, [(three, three)])  # the count falls, UIDNEXT stays
    page = store.conversation_page(alice.id, inbox)
    assert page.total == 1 and [c.uids for c in page.items] == [(one, two)]
    store.move(alice.id, inbox, [(two, two)], "Projects")
    assert [c.uids for c in store.conversation_page(alice.id, inbox).items] == [(one,)]
    assert store.conversation_uids(alice.id, inbox, one) == [one]
    assert store.conversation_uids(alice.id, archive, 1) == [1]
    store.move(alice.id, archive, [(1, 1)], "INBOX")  # back in, under a new UID
    [trip] = store.conversation_page(alice.id, inbox).items
    assert trip.count == 2 and trip.uids[0] == one and trip.uids[1] > three


def test_the_cache_keeps_the_most_recently_used_folders_within_its_size():
    from mailboxes.store.conversations import _GroupCache

    cache = _GroupCache(max_uids=5)
    cache.put(1, (1, 4, 3), [(1, 2), (3,)])
    cache.put(2, (1, 3, 2), [(1,), (2,)])
    assert cache.get(1, (1, 4, 3)) == [(1, 2), (3,)]  # folder 1 is now the most recent
    assert cache.get(1, (1, 5, 4)) is None  # another stamp: not this grouping
    cache.put(3, (1, 2, 1), [(1,)])  # 6 UIDs: folder 2, least recently used, goes
    assert cache.get(2, (1, 3, 2)) is None and cache.get(3, (1, 2, 1)) == [(1,)]
    cache.put(4, (1, 9, 8), [tuple(range(1, 9))])  # larger than the whole cache: not kept
    assert cache.get(4, (1, 9, 8)) is None and cache.get(1, (1, 4, 3)) is not None
