"""Shared fixtures. Users alice and bob (example.test) and charlie
(other.test) cover the permission and isolation cases."""
from __future__ import annotations

import pytest

PASSWORDS = {"alice@example.test": "alice-secret", "bob@example.test": "bob-secret",
             "charlie@other.test": "charlie-secret"}


@pytest.fixture
def users(transactional_db):  # type: ignore[no-untyped-def]
    """Committed domains and accounts, visible to server threads and processes."""
    from mailboxes import store
    store.create_domain("example.test")
    store.create_domain("other.test")
    return {addr: store.create_account(addr, pw) for addr, pw in PASSWORDS.items()}


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
