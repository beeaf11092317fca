"""The change bus wakes sessions in this process and, through Redis, in others."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from django.conf import settings

from conftest import sample_message
from mailboxes import store
from tests.markers import needs_redis
from tests.servers import ROOT, database_url


def listening(account_id: int) -> None:
    """With REDIS_URL the listener thread subscribes in the background, and
    an event published before it has is lost (sessions also poll): publish
    the folder-list event (folder 0) until one comes back."""
    from tests.relay.helpers import wait_for

    heard = threading.Event()
    unsubscribe = store.subscribe(account_id, lambda a, f: heard.set())
    try:
        wait_for(lambda: store.publish(account_id, 0) or heard.wait(0.1), timeout=30, what="the event bus to listen")
    finally:
        unsubscribe()


def test_a_delivery_wakes_a_subscriber_of_that_account_only(alice, bob):
    woken: list[tuple[int, int]] = []
    event = threading.Event()

    def callback(account_id: int, folder_id: int) -> None:
        woken.append((account_id, folder_id))
        event.set()

    listening(alice.id)
    unsubscribe = store.subscribe(alice.id, callback)
    try:
        store.deliver(sample_message(), ["bob@example.test"])
        store.deliver(sample_message(), ["alice@example.test"])
        assert event.wait(5)
    finally:
        unsubscribe()
    inbox = store.select_folder(alice.id, "INBOX")
    assert (alice.id, inbox.id) in woken
    assert all(account == alice.id for account, _ in woken)


@pytest.mark.slow
@needs_redis
def test_a_delivery_in_another_process_wakes_this_one_through_redis(alice):
    import redis

    from mailboxes.store.events import channel_prefix
    from tests.relay.helpers import wait_for

    folders: set[int] = set()
    unsubscribe = store.subscribe(alice.id, lambda a, f: folders.add(f))
    try:
        # The listener thread subscribes to Redis in the background: publish a
        # folder-list event until it comes back, then the real test.
        client = redis.Redis.from_url(settings.REDIS_URL)
        wait_for(
            lambda: client.publish(f"{channel_prefix()}{alice.id}", "0") is not None and 0 in folders,
            timeout=30,
            what="the Redis listener to subscribe",
        )
        code = (
            "import django; django.setup(); from mailboxes import store; "
            "store.deliver(b'Subject: x\\r\\n\\r\\nbody\\r\\n', ['alice@example.test'])"
        )
        env = {
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "mailhost.settings",
            "MAIL_DB_POOL": "false",
        }
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)
        inbox = store.select_folder(alice.id, "INBOX").id
        wait_for(lambda: inbox in folders, timeout=10, what="the delivery's event")
    finally:
        unsubscribe()


def _flag(account_id: int, folder_id: int) -> int:
    return store.set_flags(account_id, folder_id, [(1, 1)], "add", ["\\Flagged"]).modseq


def _expunge(account_id: int, folder_id: int) -> int:
    store.set_flags(account_id, folder_id, [(1, 1)], "add", ["\\Deleted"])
    result = store.expunge(account_id, folder_id)
    assert result.uids == [1]
    return result.modseq


@pytest.mark.parametrize("change", [_flag, _expunge], ids=["flag change", "expunge"])
def test_a_flag_change_or_expunge_carries_its_modseq_to_subscribers_that_ask_for_it(alice, change):
    """IMAP sessions tell their own STORE or EXPUNGE from another's by it (state.Session._changed)."""
    store.deliver(sample_message(), ["alice@example.test"])
    inbox = store.select_folder(alice.id, "INBOX")
    with_modseq: list[tuple[int, int, int]] = []
    plain: list[tuple[int, int]] = []
    heard = threading.Condition()

    def callback(account_id: int, folder_id: int, modseq: int) -> None:
        with heard:
            with_modseq.append((account_id, folder_id, modseq))
            heard.notify_all()

    listening(alice.id)
    unsubscribe = store.subscribe(alice.id, callback, with_modseq=True)
    plain_event = threading.Event()
    unsubscribe_plain = store.subscribe(
        alice.id, lambda a, f: (plain.append((a, f)), f == inbox.id and plain_event.set())
    )
    try:
        modseq = change(alice.id, inbox.id)
        with heard:
            assert heard.wait_for(lambda: (alice.id, inbox.id, modseq) in with_modseq, timeout=5)
        assert plain_event.wait(5)
    finally:
        unsubscribe()
        unsubscribe_plain()
    assert modseq > 0
    assert (alice.id, inbox.id) in plain


@needs_redis
def test_an_installation_sharing_the_redis_never_wakes_or_signs_out_this_ones_sessions(alice):
    """Redis publish/subscribe ignores database numbers: the channels are
    named under the database, as the store's keys are."""
    import redis

    from mailboxes.store.events import channel_prefix
    from tests.relay.helpers import wait_for

    folders: list[int] = []
    unsubscribe = store.subscribe(alice.id, lambda a, f: folders.append(f))
    try:
        client = redis.Redis.from_url(settings.REDIS_URL)
        wait_for(
            lambda: client.publish(f"{channel_prefix()}{alice.id}", "0") is not None and 0 in folders,
            timeout=30,
            what="the Redis listener to subscribe",
        )
        database = settings.DATABASES["default"]
        ours = database["NAME"]
        database["NAME"] = f"{ours}-another-installation"
        try:
            store.publish(alice.id, store.SIGN_OUT)  # another installation's account with our id
        finally:
            database["NAME"] = ours
        store.publish(alice.id, 7)  # ours, published after it on the same connection
        wait_for(lambda: 7 in folders, timeout=10, what="this installation's event")
    finally:
        unsubscribe()
    assert store.SIGN_OUT not in folders
