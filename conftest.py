"""Shared fixtures. Users alice and bob (example.test) and charlie
(other.test) cover the permission and isolation cases."""

from __future__ import annotations

import os

import pytest

PASSWORDS = {
    "alice@example.test": "alice-secret",
    "bob@example.test": "bob-secret",
    "charlie@other.test": "charlie-secret",
}


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


def sample_message(
    subject: str = "Hello",
    body: str = "Hi there.\r\n",
    sender: str = "bob@example.test",
    to: str = "alice@example.test",
    extra: str = "",
) -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 30 Nov 2026 07:00:00 +0000\r\nMessage-ID: <{abs(hash(subject + body))}@example.test>\r\n"
        f"{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()


@pytest.fixture(autouse=True)
def fresh_login_throttle():  # type: ignore[no-untyped-def]
    """Failed logins counted in Redis outlive a test's rolled-back or flushed
    tables: every test starts with none."""
    from mailboxes import store

    store.reset_login_throttle()
    store.reset_sending_counts()
    store.reset_session_counts()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):  # type: ignore[no-untyped-def]
    """pytest-django's, and before it drops the test database: the store
    threads give back the connections they keep between calls (protocols/dbcall.py)."""
    yield
    from protocols import dbcall

    dbcall.stop()


@pytest.fixture(autouse=True, scope="session")
def worker_database(request):  # type: ignore[no-untyped-def]
    """Under pytest-xdist (`make test-fast`) each worker has its own test
    database (pytest-django names it after the worker), and the store names
    its Redis keys and event channels under the database's name
    (mailboxes/store/_redis.py): the workers share REDIS_URL without
    meeting. The database is set up before the first test, so that the
    Redis counters, made on first use, take the worker's name even when
    that test does not use the database."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        request.getfixturevalue("django_db_setup")


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
_PROCESS_FIXTURES = {"two_workers", "worker", "rspamd"}  # runmailserver, Celery or rspamd subprocesses


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def _empty_the_tables(self) -> None:  # type: ignore[no-untyped-def]
    """TransactionTestCase's teardown on PostgreSQL, as DELETEs in one
    transaction instead of Django's flush (one TRUNCATE of every table).
    A TRUNCATE gives each table new files, which PostgreSQL must create and
    sync: about a second per test on a busy machine, most of the fast run's
    time, for tables that hold a few rows. The foreign keys are deferred, so
    one COMMIT checks them once every table is empty. The content types and
    permissions that flush would delete and post_migrate create again are
    kept as they are. SQLite keeps Django's flush."""
    from django.db import connections, transaction

    names = list(self._databases_names(include_mirrors=False))
    if any(connections[name].vendor != "postgresql" for name in names):
        _django_fixture_teardown(self)
        return
    for name in names:
        connection = connections[name]
        tables = [
            t
            for t in connection.introspection.django_table_names(only_existing=True, include_views=False)
            if t not in _KEPT_TABLES
        ]
        with transaction.atomic(using=name), connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")


_KEPT_TABLES = {"django_content_type", "auth_permission"}


def _install_fast_teardown() -> None:
    from django.test import TransactionTestCase

    global _django_fixture_teardown
    _django_fixture_teardown = TransactionTestCase._fixture_teardown
    TransactionTestCase._fixture_teardown = _empty_the_tables  # type: ignore[method-assign]


_django_fixture_teardown = None


@pytest.fixture(autouse=True, scope="session")
def fast_teardown():  # type: ignore[no-untyped-def]
    _install_fast_teardown()
    yield
