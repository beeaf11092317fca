"""What a login costs in round trips (docs/PERFORMANCE.md, "Login path"):
a login whose password is in the verified-credential cache reads one row
and asks Redis once (the IP's and the account's failures together); POP3
takes its lock and lists the maildrop in one statement and a QUIT that only
looked releases it in one; the session count is claimed atomically."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from redis.connection import Connection

from conftest import PASSWORDS
from mailboxes import store
from tests.markers import needs_redis

ALICE = "alice@example.test"


@contextmanager
def redis_round_trips() -> Iterator[list[int]]:
    """Counts what redis-py sends: one write per command, or per pipeline or script."""
    sent = [0]
    original = Connection.send_packed_command

    def counted(self, command, check_health=True):  # type: ignore[no-untyped-def]
        sent[0] += 1
        return original(self, command, check_health)

    Connection.send_packed_command = counted  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        Connection.send_packed_command = original  # type: ignore[method-assign]


def costs(func: Callable[[], object]) -> tuple[list[str], int]:
    """(the SQL statements, the Redis round trips) func makes."""
    with CaptureQueriesContext(connection) as queries, redis_round_trips() as sent:
        func()
    return [q["sql"] for q in queries.captured_queries], sent[0]


@needs_redis
def test_a_cached_login_reads_one_row_and_asks_redis_once(users) -> None:
    login = lambda: store.login(ALICE, PASSWORDS[ALICE], protocol="imap", ip="192.0.2.1")  # noqa: E731
    statements, _ = costs(login)  # the first: the hash, and the login recorded
    assert any("loginrecord" in s.lower() for s in statements)
    statements, trips = costs(login)
    assert len(statements) == 1 and statements[0].startswith("SELECT"), statements
    assert trips == 1


def test_a_wrong_password_is_counted_against_the_ip_and_the_account(users, settings) -> None:
    settings.MAIL_LOGIN_MAX_FAILURES = 2
    for _ in range(2):
        with pytest.raises(store.LoginFailed):
            store.login(ALICE, "wrong", protocol="pop3", ip="192.0.2.9")
    with pytest.raises(store.LoginBlocked):  # a new IP: the account's count refuses it
        store.login(ALICE, PASSWORDS[ALICE], protocol="pop3", ip="192.0.2.10")
    assert store.login_blocked("nobody@example.test", "192.0.2.9") is False  # the IP is under its own limit


def test_a_blocked_ip_is_refused_even_with_a_password_in_the_cache(users, settings) -> None:
    settings.MAIL_LOGIN_MAX_FAILURES_PER_IP = 3
    for _ in range(2):  # cached, but alice has no history at the blocked address
        store.login(ALICE, PASSWORDS[ALICE], protocol="imap", ip="192.0.2.21")
    for n in range(3):
        with pytest.raises(store.LoginFailed):
            store.login(f"guess{n}@example.test", "wrong", protocol="imap", ip="192.0.2.20")
    with pytest.raises(store.LoginBlocked):
        store.login(ALICE, PASSWORDS[ALICE], protocol="imap", ip="192.0.2.20")
    assert store.login(ALICE, PASSWORDS[ALICE], protocol="imap", ip="192.0.2.21").address == ALICE


def test_pop3_takes_the_lock_with_the_listing_in_one_statement_and_a_quit_that_only_looked_releases_it_in_one(
    users,
) -> None:
    alice = users[ALICE].id
    store.append(alice, "INBOX", b"Subject: one\r\n\r\nbody\r\n")
    store.close_maildrop(alice, "warm", store.open_maildrop(alice, "warm", 60).folder_id, [])  # sizes known
    drop = None

    def open_() -> None:
        nonlocal drop
        drop = store.open_maildrop(alice, "first", 60)

    statements, _ = costs(open_)
    assert len(statements) == 1 and drop is not None and len(drop.messages) == 1, statements
    with pytest.raises(store.MaildropLocked):
        store.open_maildrop(alice, "second", 60)
    statements, _ = costs(lambda: store.close_maildrop(alice, "first", drop.folder_id, []))
    assert len(statements) == 1 and statements[0].startswith("DELETE"), statements
    assert store.open_maildrop(alice, "second", 60).messages == drop.messages


def test_a_lock_taken_over_after_a_lapse_refuses_the_old_holders_quit(users) -> None:
    alice = users[ALICE].id
    drop = store.open_maildrop(alice, "first", 0.001)
    threading.Event().wait(0.05)  # the lease lapses (its length is the test's, not a timing threshold)
    store.open_maildrop(alice, "second", 60)
    with pytest.raises(store.MaildropLocked):
        store.close_maildrop(alice, "first", drop.folder_id, [])


@needs_redis
def test_logins_racing_for_the_last_sessions_get_exactly_the_limit(users, settings) -> None:
    settings.MAIL_MAX_SESSIONS_PER_ACCOUNT = 3
    store.reset_session_counts()
    alice = users[ALICE].id
    start, results = threading.Barrier(12), []

    def claim(n: int) -> None:
        start.wait()
        try:
            store.open_session(alice, f"race-{n}")
            results.append(True)
        except store.TooManySessions:
            results.append(False)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert results.count(True) == 3
    finally:
        store.reset_session_counts()
