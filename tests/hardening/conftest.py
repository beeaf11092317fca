"""Fixtures of the hardening tests: two runmailserver worker processes with
every mail door, a low failed-login threshold, and a superuser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import SubprocessServer

ALL_DOORS = "smtp,submission,smtps,imap,pop3,pop2,managesieve"
THRESHOLD = 3  # failures per account before it is refused from new IPs
WORKER_ENV = {
    "MAIL_LOGIN_MAX_FAILURES": str(THRESHOLD),
    "MAIL_LOGIN_MAX_FAILURES_PER_IP": "1000",
    "MAIL_LOGIN_BLOCK_DELAY": "600",
    "MAIL_FAST_PASSWORD_HASHING": "true",
}
ROOT, ROOT_PASSWORD = "root@example.test", "root-secret"


@pytest.fixture(scope="module")
def two_workers(django_db_setup, django_db_blocker) -> Iterator[tuple[SubprocessServer, SubprocessServer]]:  # type: ignore[no-untyped-def]
    """Two worker processes on one database and one Redis."""
    with SubprocessServer(ALL_DOORS, WORKER_ENV) as one, SubprocessServer(ALL_DOORS, WORKER_ENV) as two:
        yield one, two


@pytest.fixture
def root(users):  # type: ignore[no-untyped-def]
    from mailboxes import store

    return store.create_account(ROOT, ROOT_PASSWORD, superuser=True)
