"""Learning from what users file (mailboxes/store/learning.py): a real IMAP
server in this process, a real Celery worker calling the suite's rspamd
controller, whose `stat` says how many messages it has learned."""

from __future__ import annotations

import imaplib
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.test import Client

from mailboxes import store
from mailboxes.models import Account, SpamLesson
from mailboxes.spam import client
from tests.relay.helpers import Worker
from tests.servers import InProcessServer, database_url

from .conftest import PASSWORD, message


@pytest.fixture(scope="module")
def worker(rspamd, django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Worker]:  # type: ignore[no-untyped-def]
    from django.conf import settings

    if not settings.REDIS_URL:
        pytest.skip("learning runs as a Celery task: it needs REDIS_URL (a real broker)")
    redis.Redis.from_url(settings.REDIS_URL).delete("celery")  # no tasks left from before
    with django_db_blocker.unblock():
        url = database_url()
    env = {
        "DATABASE_URL": url,
        "MAIL_DB_POOL": "false",
        "REDIS_URL": settings.REDIS_URL,
        "MAIL_RSPAMD_CONTROLLER_URL": rspamd.controller_url,
        "MAIL_RSPAMD_PASSWORD": PASSWORD,
    }
    process = Worker(env, tmp_path_factory.mktemp("celery"), pool=("--pool=solo",)).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def imap_port() -> Iterator[int]:
    with InProcessServer(["imap"]) as server:
        yield server.ports["imap"]


@pytest.fixture
def learning(scanning, worker):  # type: ignore[no-untyped-def]
    return scanning


def learned() -> int:
    return int(client.stat()["learned"])


def wait_for_learned(count: int) -> None:
    deadline = time.monotonic() + 30
    while learned() < count:
        assert time.monotonic() < deadline, f"rspamd learned {learned()}, not {count}"
        time.sleep(0.2)


def fresh_text() -> str:
    """Words rspamd has never learned (its learn cache refuses a message twice)."""
    words = " ".join(uuid.uuid4().hex[:8] for _ in range(24))
    return f"Cheap watches and pills delivered overnight to your door, order today {words}"


def imap(port: int, address: str, password: str) -> imaplib.IMAP4:
    connection = imaplib.IMAP4("127.0.0.1", port)
    connection.login(address, password)
    return connection


def test_a_move_into_junk_over_imap_teaches_rspamd_spam_once(learning, imap_port, alice):
    raw = message(fresh_text())
    store.deliver(raw, ["alice@example.test"])
    before = learned()
    connection = imap(imap_port, "alice@example.test", "alice-secret")
    connection.select("INBOX")
    assert connection.uid("MOVE", "1", "Junk")[0] == "OK"
    wait_for_learned(before + 1)
    # The same message filed again (delivered twice, moved again): not learned twice.
    store.deliver(raw, ["alice@example.test"])
    connection.select("INBOX")
    assert connection.uid("COPY", "2", "Junk")[0] == "OK"
    # A fresh message filed after it: the worker (one, solo) takes tasks in
    # order, so once that one is learned the copy's turn has been and gone.
    assert connection.append("Junk", None, None, message(fresh_text()))[0] == "OK"
    connection.logout()
    wait_for_learned(before + 2)
    assert learned() == before + 2
    assert SpamLesson.objects.filter(spam=True).count() == 2


def test_an_append_into_junk_teaches_spam_and_a_move_back_to_the_inbox_teaches_ham(learning, imap_port, alice):
    before = learned()
    connection = imap(imap_port, "alice@example.test", "alice-secret")
    assert connection.append("Junk", None, None, message(fresh_text()))[0] == "OK"
    wait_for_learned(before + 1)
    connection.select("Junk")
    assert connection.uid("MOVE", "1", "INBOX")[0] == "OK"
    wait_for_learned(before + 2)
    connection.logout()
    assert list(SpamLesson.objects.values_list("spam", flat=True)) == [False]


def test_a_move_from_junk_to_trash_teaches_nothing(learning, imap_port, alice):
    store.deliver(
        message(fresh_text()), ["alice@example.test"], place=lambda _account: store.Placement(special_use="\\Junk")
    )
    connection = imap(imap_port, "alice@example.test", "alice-secret")
    before = learned()
    connection.select("Junk")
    assert connection.uid("MOVE", "1", "Trash")[0] == "OK"
    # Then something that does teach: once it is learned, anything the move
    # had asked of the worker (one, solo, in order) has been done.
    assert connection.append("Junk", None, None, message(fresh_text()))[0] == "OK"
    connection.logout()
    wait_for_learned(before + 1)
    assert list(SpamLesson.objects.values_list("spam", flat=True)) == [True]


def test_the_webmail_spam_button_files_into_junk_and_teaches_spam(learning, alice):
    store.deliver(message(fresh_text()), ["alice@example.test"])
    before = learned()
    web = Client()
    web.force_login(Account.objects.get(pk=alice.id))
    inbox = store.select_folder(alice.id, "INBOX")
    response = web.post(f"/mail/f/{inbox.id}/act", {"uid": ["1"], "action": "spam"})
    assert response.status_code == 302
    assert len(store.select_folder(alice.id, "Junk").uids) == 1
    wait_for_learned(before + 1)


@pytest.mark.parametrize(
    ("source", "dest", "lesson"),
    [
        ("", "\\Junk", True),
        ("\\Sent", "\\Junk", True),
        ("\\Junk", "", False),
        ("\\Junk", "\\Archive", False),
        ("\\Junk", "\\Trash", None),
        ("\\Junk", "\\Junk", None),
        ("", "\\Trash", None),
        ("", "", None),
    ],
)
def test_filing_into_junk_is_spam_and_out_of_it_but_not_to_trash_is_ham(source, dest, lesson):
    from mailboxes.store.learning import lesson as decide

    assert decide(source, dest) is lesson


def test_the_webmail_not_spam_button_files_back_into_the_inbox_and_teaches_ham(learning, alice):
    store.deliver(
        message(fresh_text()), ["alice@example.test"], place=lambda _account: store.Placement(special_use="\\Junk")
    )
    before = learned()
    junk = store.select_folder(alice.id, "Junk")
    web = Client()
    web.force_login(Account.objects.get(pk=alice.id))
    assert b'id="bulk-notspam"' in web.get(f"/mail/f/{junk.id}/").content
    assert web.post(f"/mail/f/{junk.id}/act", {"uid": ["1"], "action": "notspam"}).status_code == 302
    assert len(store.select_folder(alice.id, "INBOX").uids) == 1
    wait_for_learned(before + 1)
    assert list(SpamLesson.objects.values_list("spam", flat=True)) == [False]
