"""The verified-credential cache in front of the slow password hash
(store.authenticate): a repeated login skips the hash, a password change
makes the old password fail at once, a disabled or deleted account (or its
domain disabled) cannot log in from it, and the cache never holds a password."""

from __future__ import annotations

import imaplib
import poplib

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test.utils import override_settings

from conftest import PASSWORDS
from mailboxes import store
from mailboxes.models import Domain
from mailboxes.store import accounts
from tests.servers import InProcessServer

ALICE = "alice@example.test"


class CountedPBKDF2(PBKDF2PasswordHasher):
    """PBKDF2 with few iterations (the test is about whether it runs, not its cost)."""

    iterations = 1000


PBKDF2 = ["tests.scale.test_credential_cache.CountedPBKDF2"]


def hashes_during(func) -> int:  # type: ignore[no-untyped-def]
    """How many times the password hasher ran while func ran."""
    calls = []
    original = CountedPBKDF2.encode

    def counting(self, password, salt, iterations=None):  # type: ignore[no-untyped-def]
        calls.append(1)
        return original(self, password, salt, iterations)

    CountedPBKDF2.encode = counting  # type: ignore[method-assign]
    try:
        func()
    finally:
        CountedPBKDF2.encode = original  # type: ignore[method-assign]
    return len(calls)


@override_settings(PASSWORD_HASHERS=PBKDF2)
def test_a_second_login_with_the_same_password_skips_the_hash(users) -> None:
    store.set_password(ALICE, "first-password")
    assert hashes_during(lambda: store.authenticate(ALICE, "first-password")) == 1
    assert hashes_during(lambda: store.authenticate(ALICE, "first-password")) == 0


@override_settings(PASSWORD_HASHERS=PBKDF2)
def test_a_password_change_makes_the_cached_password_fail(users) -> None:
    store.set_password(ALICE, "first-password")
    assert store.authenticate(ALICE, "first-password") is not None
    store.set_password(ALICE, "second-password")
    assert store.authenticate(ALICE, "first-password") is None
    assert store.authenticate(ALICE, "second-password") is not None


def test_the_cache_keeps_keyed_digests_not_passwords(users) -> None:
    store.authenticate(ALICE, PASSWORDS[ALICE])
    keys = list(accounts._verified._entries)
    assert keys and all(len(key) == 32 and PASSWORDS[ALICE].encode() not in key for key in keys)


# The cache is consulted only after the account's row has been read on every
# login, in every worker: what the row says now (active, its domain active,
# its password hash) decides, whatever was verified before.


def _cached_login(protocol: str = "imap") -> int:
    account = store.login(ALICE, PASSWORDS[ALICE], protocol=protocol, ip="192.0.2.1")
    assert store.login(ALICE, PASSWORDS[ALICE], protocol=protocol, ip="192.0.2.1").id == account.id
    return account.id


def test_a_disabled_account_cannot_log_in_with_its_cached_password(users) -> None:
    _cached_login()
    store.update_account(ALICE, active=False)
    with pytest.raises(store.LoginFailed):
        store.login(ALICE, PASSWORDS[ALICE], protocol="imap", ip="192.0.2.1")
    store.update_account(ALICE, active=True)
    assert store.login(ALICE, PASSWORDS[ALICE], protocol="imap", ip="192.0.2.1").address == ALICE


def test_an_account_of_a_disabled_domain_cannot_log_in_with_its_cached_password(users) -> None:
    _cached_login()
    Domain.objects.filter(name="example.test").update(active=False)
    with pytest.raises(store.LoginFailed):
        store.login(ALICE, PASSWORDS[ALICE], protocol="imap", ip="192.0.2.1")


def test_a_deleted_account_cannot_log_in_and_its_successor_is_a_new_account(users) -> None:
    old = _cached_login()
    store.delete_account(ALICE)
    with pytest.raises(store.LoginFailed):
        store.login(ALICE, PASSWORDS[ALICE], protocol="imap", ip="192.0.2.1")
    new = store.create_account(ALICE, PASSWORDS[ALICE])
    assert store.login(ALICE, PASSWORDS[ALICE], protocol="imap", ip="192.0.2.1").id == new.id != old


def test_a_disabled_account_is_refused_over_imap_and_pop3_after_cached_logins(users) -> None:
    with InProcessServer(["imap", "pop3"]) as server:
        for _ in range(2):  # the second login comes from the cache
            imap = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
            imap.login(ALICE, PASSWORDS[ALICE])
            imap.logout()
            pop = poplib.POP3("127.0.0.1", server.ports["pop3"])
            pop.user(ALICE)
            pop.pass_(PASSWORDS[ALICE])
            pop.quit()
        store.update_account(ALICE, active=False)
        imap = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            imap.login(ALICE, PASSWORDS[ALICE])
        imap.logout()
        pop = poplib.POP3("127.0.0.1", server.ports["pop3"])
        pop.user(ALICE)
        with pytest.raises(poplib.error_proto, match="AUTH"):
            pop.pass_(PASSWORDS[ALICE])
        pop.quit()
