from __future__ import annotations

import email
import os
from email.message import Message

import pytest
import redis

from conftest import sample_message

from .helpers import Sink, Worker

DOMAINS = ("remote.test", "far.test")


@pytest.fixture(scope="module")
def sink():  # type: ignore[no-untyped-def]
    server = Sink()
    yield server
    server.close()


@pytest.fixture
def fresh_sink(sink):  # type: ignore[no-untyped-def]
    sink.handler.reset()
    return sink


@pytest.fixture(scope="module")
def worker_env(sink, django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    from tests.servers import database_url

    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("the Celery worker tests need REDIS_URL")
    redis.Redis.from_url(redis_url).flushdb()  # this suite's own Redis database
    with django_db_blocker.unblock():
        url = database_url()
    return {
        "DATABASE_URL": url,
        "MAIL_DB_POOL": "false",
        "REDIS_URL": redis_url,
        "MAIL_RELAY_MX_OVERRIDE": ",".join(f"{d}=127.0.0.1:{sink.port}" for d in DOMAINS),
        "MAIL_RELAY_LEASE": "3",
        "MAIL_RELAY_BACKOFF": "1",
        "MAIL_RELAY_SWEEP_INTERVAL": "1",
        "MAIL_HOSTNAME": "relay.example.test",
    }


@pytest.fixture(scope="module")
def worker(worker_env, tmp_path_factory):  # type: ignore[no-untyped-def]
    process = Worker(worker_env, tmp_path_factory.mktemp("celery")).start()
    yield process
    process.stop()


def send(alice, to: list[str], subject: str = "Hello", mail_from: str | None = None) -> None:  # type: ignore[no-untyped-def]
    from mailboxes import store

    raw = sample_message(subject=subject, sender="alice@example.test", to=", ".join(to))
    sender = "alice@example.test" if mail_from is None else mail_from
    store.deliver(raw, to, sender, sender_account_id=alice.id)


def settled(address: str):  # type: ignore[no-untyped-def]
    """The address's last queue entry once it is sent or failed, else None."""
    from mailboxes import store

    rows = store.outbound_recipients(address=address)
    return rows[-1] if rows and rows[-1].state in ("sent", "failed") else None


def inbox_messages(account_id: int) -> list[Message]:
    """Every message in the account's INBOX, parsed."""
    from mailboxes import store

    view = store.select_folder(account_id, "INBOX")
    rows = store.fetch_messages(account_id, view.id, [(1, 2**31)], content="full")
    return [email.message_from_bytes(row.data or b"") for row in rows]


def dsn_parts(message: Message) -> tuple[str, str]:
    """(delivery-status text, returned headers text) of an RFC 3464 report."""
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    status = headers = ""
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            status = "".join(str(p) for p in part.get_payload())
        elif part.get_content_type() == "text/rfc822-headers":
            headers = part.get_payload(decode=True).decode()
    return status, headers
