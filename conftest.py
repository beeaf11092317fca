"""Shared fixtures. Users alice and bob (example.test) and charlie
(other.test) cover the permission and isolation cases."""
from __future__ import annotations

import os

import pytest

PASSWORDS = {"alice@example.test": "alice-secret", "bob@example.test": "bob-secret",
             "charlie@other.test": "charlie-secret"}


@pytest.fixture
def users(transactional_db):  # type: ignore[no-untyped-def]
    """Committed domains and accounts, visible to server threads and processes."""
    from mailboxes import store
    store.create_domain("example.test")
    store.create_domain("other.test")
    yield {addr: store.create_account(addr, pw) for addr, pw in PASSWORDS.items()}
    # Without a broker (the SQLite run) queued mail is relayed on a thread of
    # this process: it ends before the tables are emptied, not in the next test.
    from protocols.relay import local
    local.drain()


@pytest.fixture
def alice(users):  # type: ignore[no-untyped-def]
    return users["alice@example.test"]


@pytest.fixture
def bob(users):  # type: ignore[no-untyped-def]
    return users["bob@example.test"]


@pytest.fixture
def charlie(users):  # type: ignore[no-untyped-def]
    return users["charlie@other.test"]


def sample_message(subject: str = "Hello", body: str = "Hi there.\r\n", sender: str = "bob@example.test",
                   to: str = "alice@example.test", extra: str = "") -> bytes:
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: Mon, 30 Nov 2026 07:00:00 +0000\r\nMessage-ID: <{abs(hash(subject + body))}@example.test>\r\n"
            f"{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}").encode()


@pytest.fixture(autouse=True)
def fresh_login_throttle():  # type: ignore[no-untyped-def]
    """Failed logins counted in Redis outlive a test's rolled-back or flushed
    tables: every test starts with none."""
    from mailboxes import store
    store.reset_login_throttle()
    store.reset_sending_counts()
    store.reset_session_counts()


@pytest.fixture(autouse=True, scope="session")
def loopback_dns():  # type: ignore[no-untyped-def]
    """Every DNS lookup of the whole suite (SPF, DKIM, DMARC, MX) goes to an empty
    zone on 127.0.0.1, never to the machine's resolver: tests stay on loopback.
    Tests that need records start their own server and point the setting at it."""
    from django.conf import settings

    from tests.relay.helpers import DnsServer
    server = DnsServer({})
    saved = settings.MAIL_DNS_NAMESERVERS, os.environ.get("MAIL_DNS_NAMESERVERS")
    settings.MAIL_DNS_NAMESERVERS = [f"127.0.0.1:{server.port}"]
    os.environ["MAIL_DNS_NAMESERVERS"] = f"127.0.0.1:{server.port}"  # for child processes
    yield server
    settings.MAIL_DNS_NAMESERVERS = saved[0]
    if saved[1] is None:
        os.environ.pop("MAIL_DNS_NAMESERVERS", None)
    else:
        os.environ["MAIL_DNS_NAMESERVERS"] = saved[1]
    server.close()


# Fixtures that start worker processes: a test that uses one is slow, whatever
# its module says (tests/markers.py: the fast run refuses to start them).
_PROCESS_FIXTURES = {"two_workers"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
