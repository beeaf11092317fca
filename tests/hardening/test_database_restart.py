"""The database goes away in the middle of IMAP and POP3 sessions and comes
back: clients get temporary errors (IMAP NO [UNAVAILABLE], POP3 -ERR
[SYS/TEMP]), then the same sessions carry on, and nothing acknowledged is
missing. The cut is a TCP proxy in front of PostgreSQL (tests/tcpproxy.py), so
the shared server itself is never stopped."""

from __future__ import annotations

import imaplib
import poplib
from collections.abc import Callable, Iterator
from typing import TypeVar
from urllib.parse import urlsplit

import pytest

from conftest import PASSWORDS, sample_message
from mailboxes import store
from tests.servers import SubprocessServer, database_url
from tests.tcpproxy import TcpProxy

pytestmark = pytest.mark.slow

ALICE = "alice@example.test"
T = TypeVar("T")


@pytest.fixture
def db_proxy() -> Iterator[TcpProxy]:
    target = urlsplit(database_url())
    with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        yield proxy


def until_ok(attempt: Callable[[], T], ok: Callable[[T], bool], tries: int = 12) -> T:
    """A client's retries after the outage: a connection the pool held across
    the cut may fail once more before a fresh one is made."""
    result = attempt()
    for _ in range(tries):
        if ok(result):
            break
        result = attempt()
    return result


@pytest.mark.parametrize("pool", ["true", "false"], ids=["pooled", "unpooled"])
def test_imap_and_pop3_sessions_get_temporary_errors_then_carry_on(alice, db_proxy, pool):
    for n in range(2):
        store.deliver(sample_message(f"before {n}"), [ALICE])
    env = {
        "DATABASE_URL": db_proxy.url_for(database_url()),
        "MAIL_DB_POOL": pool,
        "MAIL_DB_POOL_TIMEOUT": "2",
        "MAIL_LOG_LEVEL": "WARNING",
    }
    with SubprocessServer("imap,pop3", extra_env=env) as server:
        imap = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=30)
        imap.login(ALICE, PASSWORDS[ALICE])
        assert imap.select("INBOX")[0] == "OK"
        pop = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=30)
        pop.user(ALICE)
        pop.pass_(PASSWORDS[ALICE])

        db_proxy.cut()
        status, data = imap.status("INBOX", "(MESSAGES)")
        assert status == "NO" and data[0].startswith(b"[UNAVAILABLE]")
        status, data = imap.append("INBOX", None, None, sample_message("during the outage"))
        assert status == "NO" and data[0].startswith(b"[UNAVAILABLE]")
        with pytest.raises(poplib.error_proto, match=r"\[SYS/TEMP\]"):
            pop.retr(1)

        db_proxy.restore()
        status, _ = until_ok(
            lambda: imap.append("INBOX", None, None, sample_message("after the outage")), lambda r: r[0] == "OK"
        )
        assert status == "OK"
        assert imap.status("INBOX", "(MESSAGES)") == ("OK", [b'INBOX (MESSAGES 3)'])
        status, data = imap.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        subjects = [part[1].strip() for part in data if isinstance(part, tuple)]
        assert subjects == [b"Subject: before 0", b"Subject: before 1", b"Subject: after the outage"]
        imap.logout()

        def retr() -> object:
            try:
                return pop.retr(1)
            except poplib.error_proto as exc:
                assert b"[SYS/TEMP]" in exc.args[0]
                return None

        response = until_ok(retr, lambda r: r is not None)
        assert response is not None and b"Subject: before 0" in b"\r\n".join(response[1])  # type: ignore[index]
        pop.dele(1)
        assert pop.quit().startswith(b"+OK")

    # The DELE took effect at QUIT; the message APPENDed during the outage was
    # refused and is nowhere; the one APPENDed after it is stored once.
    view = store.select_folder(alice.id, "INBOX")
    infos = store.fetch_messages(alice.id, view.id, [(1, 2**32)], envelope=True, structure=True)
    assert [i.envelope["subject"] for i in infos] == ["before 1", "after the outage"]
