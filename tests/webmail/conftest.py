"""Webmail fixtures: Django test clients signed in as alice and bob.

`users` is overridden here: most webmail tests need no other thread or
process to see the accounts, so they run inside a transaction that is
rolled back (fast); a test that asks for `transactional_db` or `live_server` (the browser,
vacation replies sent on commit) gets committed ones."""

from __future__ import annotations

import pytest
from django.test import Client

from conftest import PASSWORDS

from .helpers import signed_in


@pytest.fixture
def users(db):  # type: ignore[no-untyped-def]
    # pytest-django: a test that also asks for transactional_db or live_server gets that instead of db.
    from mailboxes import store

    store.create_domain("example.test")
    store.create_domain("other.test")
    return {addr: store.create_account(addr, pw) for addr, pw in PASSWORDS.items()}


@pytest.fixture
def alice_client(alice) -> Client:  # type: ignore[no-untyped-def]
    return signed_in(alice.address)


@pytest.fixture
def bob_client(bob) -> Client:  # type: ignore[no-untyped-def]
    return signed_in(bob.address)
