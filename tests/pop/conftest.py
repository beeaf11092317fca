"""Fixtures of the POP3/POP2 tests: the real listeners in this process, and
mail put in with store.deliver (fixed bytes, so transcripts can state sizes)."""

from __future__ import annotations

import poplib
import ssl
import time
from collections.abc import Iterator

import pytest

from conftest import PASSWORDS
from mailboxes import store
from mailboxes.store.pop import pop_form
from tests.servers import InProcessServer

ALICE = "alice@example.test"
ALICE_PW = PASSWORDS[ALICE]

# Three messages with what POP must take care of: CRLF lines (1), bare-LF
# lines, lines starting with a dot and no final line end (2), a body of
# several lines for TOP (3).
MESSAGES = [
    b"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: one\r\n\r\nHello Alice.\r\n",
    b"From: bob@example.test\nSubject: two\n\n.hidden line\nsecond line\n..double\nlast line, no newline",
    b"From: charlie@other.test\r\nSubject: three\r\n\r\nline 1\r\nline 2\r\nline 3\r\n",
]
POP_FORMS = [pop_form(m) for m in MESSAGES]
# The greeting, then USER and PASS as alice; the reply to PASS is the caller's.
USER_PASS = f"""
    S: +OK {{{{.*}}}}
    C: USER {ALICE}
    S: +OK send your password
    C: PASS {ALICE_PW}
"""
# How every CAPA answer starts (the rest depends on state and TLS).
CAPA_COMMON = """
    S: +OK Capability list follows
    S: TOP
    S: UIDL
    S: RESP-CODES
    S: AUTH-RESP-CODE
    S: PIPELINING
"""
SIZES = [len(p) for p in POP_FORMS]


@pytest.fixture(scope="module")
def pop_server() -> Iterator[InProcessServer]:
    with InProcessServer(["pop3", "pop3s", "pop2"]) as server:
        yield server


@pytest.fixture
def maildrop(alice: store.AccountInfo) -> store.AccountInfo:
    """alice with MESSAGES in her INBOX."""
    for raw in MESSAGES:
        store.deliver(raw, [ALICE])
    return alice


def inbox_uids(account: store.AccountInfo) -> list[int]:
    return store.select_folder(account.id, "INBOX").uids


def wait_unlocked(account_id: int, attempts: int = 200) -> None:
    """Wait until no session holds the maildrop lock (a server releases it
    just after the client hangs up, on its own schedule)."""
    for _ in range(attempts):
        try:
            store.acquire_maildrop_lock(account_id, "test-probe", 60)
        except store.MaildropLocked:
            time.sleep(0.05)
            continue
        store.release_maildrop_lock(account_id, "test-probe")
        return
    raise AssertionError("the maildrop lock was never released")


def insecure() -> ssl.SSLContext:
    """TLS without certificate checks (the server's certificate is self-signed)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def login(port: int, *, pop3s: bool = False) -> poplib.POP3:
    """alice logged in with poplib, over POP3 or POP3S."""
    client = poplib.POP3_SSL("127.0.0.1", port, context=insecure()) if pop3s else poplib.POP3("127.0.0.1", port)
    client.user(ALICE)
    client.pass_(ALICE_PW)
    return client
