"""Malformed messages (tests/hardening/malformed.py): each one is delivered
through the store, then FETCHed over IMAP (BODYSTRUCTURE, ENVELOPE, BODY[1],
BODY[2.1]), RETRed over POP3 and shown by the webmail, with no BAD, no -ERR,
no server error, and the servers still answering afterwards."""

from __future__ import annotations

import imaplib
import logging
import poplib
from collections.abc import Callable, Iterator

import pytest

from conftest import PASSWORDS
from tests.servers import InProcessServer
from tests.webmail.helpers import deliver_to, signed_in

from .malformed import corpus
from .test_fuzz_findings import crashes

pytestmark = pytest.mark.slow

ALICE = "alice@example.test"


@pytest.fixture(scope="module")
def listeners() -> Iterator[InProcessServer]:
    with InProcessServer(["imap", "pop3"]) as server:
        yield server


def _imap(port: int) -> imaplib.IMAP4:
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=60)
    imap.login(ALICE, PASSWORDS[ALICE])
    assert imap.select("INBOX")[0] == "OK"
    return imap


@pytest.mark.parametrize("name,make", corpus(), ids=[name for name, _ in corpus()])
def test_a_malformed_message_is_fetched_retrieved_and_shown_without_an_error(
    users, listeners: InProcessServer, name: str, make: Callable[[], bytes], caplog, monkeypatch
) -> None:
    monkeypatch.setattr(poplib, "_MAXLINE", 4 << 20)  # the client's own limit; the 1 MB header is one line
    caplog.set_level(logging.INFO)
    raw = make()
    inbox, uid = deliver_to(ALICE, raw)

    imap = _imap(listeners.ports["imap"])
    for items in (
        "(BODYSTRUCTURE ENVELOPE FLAGS RFC822.SIZE)",
        "(BODY.PEEK[1])",
        "(BODY.PEEK[2.1])",
        "(BODY.PEEK[HEADER] BODY.PEEK[1.MIME])",
        "(BODY.PEEK[])",
    ):
        status, data = imap.uid("FETCH", str(uid), items)
        assert status == "OK", (items, data)
        assert data and data[0] is not None, (items, data)
    assert imap.uid("SEARCH", "TEXT", "bottom")[0] == "OK"
    imap.logout()

    pop = poplib.POP3("127.0.0.1", listeners.ports["pop3"], timeout=60)
    pop.user(ALICE)
    pop.pass_(PASSWORDS[ALICE])
    response, lines, octets = pop.retr(1)
    assert response.startswith(b"+OK")
    assert octets >= len(raw.replace(b"\r\n", b"\n"))  # the whole message came back
    assert pop.top(1, 3)[0].startswith(b"+OK")
    pop.quit()

    client = signed_in(ALICE)
    page = client.get(f"/mail/m/{inbox}/{uid}/")
    assert page.status_code == 200
    assert client.get(f"/mail/m/{inbox}/{uid}/frame").status_code in (200, 204, 404)
    assert client.get(f"/mail/m/{inbox}/{uid}/raw").status_code in (200, 404)

    # Still answering: a fresh session on each door.
    imap = _imap(listeners.ports["imap"])
    assert imap.noop()[0] == "OK"
    imap.logout()
    assert not crashes(caplog.records)
