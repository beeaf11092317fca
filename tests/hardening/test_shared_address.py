"""One client address shared by many people (an office behind one NAT
address): a blocked address refuses the accounts that never logged in from
it, before their password is looked at, and still lets in the right password
of an account that has; its wrong passwords still count."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import PASSWORDS
from mailboxes import store
from tests.servers import SubprocessServer

from .conftest import ALL_DOORS, WORKER_ENV
from .doors import MAIL_DOORS, WEB_DOORS

IP_LIMIT = 3
ALICE, BOB = "alice@example.test", "bob@example.test"
DOORS = {**MAIL_DOORS, **WEB_DOORS}


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker) -> Iterator[SubprocessServer]:  # type: ignore[no-untyped-def]
    env = {**WORKER_ENV, "MAIL_LOGIN_MAX_FAILURES_PER_IP": str(IP_LIMIT)}
    with SubprocessServer(ALL_DOORS, env) as server:
        yield server


@pytest.fixture
def root(users) -> store.Actor:  # type: ignore[no-untyped-def]
    """A superuser; alice and bob administer example.test (so the dashboard lets them in too)."""
    actor = store.admin_actor(store.create_account("root@example.test", "root-secret", superuser=True).id)
    assert actor is not None
    for address in (ALICE, BOB):
        store.admin_set_roles(actor, users[address].id, admin_domains=["example.test"])
    return actor


def _ip_failures(actor: store.Actor, ip: str) -> int:
    return next(b.failures for b in store.admin_login_blocks(actor=actor) if (b.kind, b.value) == ("ip", ip))


@pytest.mark.parametrize("door", DOORS)
def test_a_blocked_address_still_takes_the_right_password_of_an_account_that_logged_in_from_it(
    worker, root, door, settings
):
    settings.MAIL_LOGIN_MAX_FAILURES_PER_IP = IP_LIMIT
    attempt = DOORS[door]
    for address in (ALICE, BOB):
        store.set_apop_secret(address, PASSWORDS[address])
    assert attempt(worker.ports, ALICE, PASSWORDS[ALICE]) == "ok"  # alice's phone, this morning
    for n in range(IP_LIMIT):  # a colleague's misconfigured phone
        assert attempt(worker.ports, f"nobody{n}@example.test", "guess") == "fail"
    assert attempt(worker.ports, BOB, PASSWORDS[BOB]) == "blocked"  # never logged in from here
    assert attempt(worker.ports, ALICE, PASSWORDS[ALICE]) == "ok"
    assert attempt(worker.ports, ALICE, "guess") == "fail"  # checked, and counted
    assert _ip_failures(root, "127.0.0.1") == IP_LIMIT + 1
    assert attempt(worker.ports, ALICE, PASSWORDS[ALICE]) == "ok"
