"""Argon2id is the password hasher (PASSWORD_HASHERS' first); a password
stored the older way (PBKDF2) is re-hashed with Argon2id at the account's
next successful login, by any door, and still logs in afterwards."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, PBKDF2PasswordHasher
from django.test.utils import override_settings

from conftest import PASSWORDS
from mailboxes import store
from mailboxes.models import Account

ALICE = "alice@example.test"


class CheapArgon2(Argon2PasswordHasher):
    """Argon2id at a test's cost (the test is about which hasher, not its cost)."""

    time_cost, memory_cost, parallelism = 1, 1024, 1


class CheapPBKDF2(PBKDF2PasswordHasher):
    iterations = 1000


OLD = ["tests.authn.test_password_hashing.CheapPBKDF2"]
NEW = ["tests.authn.test_password_hashing.CheapArgon2", *OLD]


def stored() -> str:
    return Account.objects.get(address=ALICE).password


def test_argon2id_comes_first_unless_the_tests_fast_hasher_is_asked_for() -> None:
    first = [h for h in settings.PASSWORD_HASHERS if not h.endswith("MD5PasswordHasher")][0]
    assert first == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_an_older_hash_becomes_argon2id_at_the_next_successful_login(users) -> None:
    with override_settings(PASSWORD_HASHERS=OLD):
        store.set_password(ALICE, PASSWORDS[ALICE])
    assert stored().startswith("pbkdf2_sha256$")
    with override_settings(PASSWORD_HASHERS=NEW):
        with pytest.raises(store.LoginFailed):
            store.login(ALICE, "not-it", protocol="imap", ip="192.0.2.3")
        assert stored().startswith("pbkdf2_sha256$")  # a failure changes nothing
        store.login(ALICE, PASSWORDS[ALICE], protocol="imap", ip="192.0.2.3")
        assert stored().startswith("argon2$argon2id$")
        assert store.login(ALICE, PASSWORDS[ALICE], protocol="pop3", ip="192.0.2.3").address == ALICE
