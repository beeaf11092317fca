"""The verified-credential cache in front of the slow password hash
(store.authenticate): a repeated login skips the hash, a password change
makes the old password fail at once, and the cache never holds a password."""
from __future__ import annotations

from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test.utils import override_settings

from conftest import PASSWORDS
from mailboxes import store
from mailboxes.store import accounts

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
