from __future__ import annotations

import email
from email.message import Message

import pytest

from .helpers import Sink


@pytest.fixture(scope="module")
def sink():  # type: ignore[no-untyped-def]
    server = Sink()
    yield server
    server.close()


@pytest.fixture
def fresh_sink(sink):  # type: ignore[no-untyped-def]
    sink.handler.reset()
    return sink


def inbox_messages(account_id: int) -> list[Message]:
    """Every message in the account's INBOX, parsed."""
    from mailboxes import store
    view = store.select_folder(account_id, "INBOX")
    rows = store.fetch(account_id, view.id, [(1, 2**31)], data=True)
    return [email.message_from_bytes(row.data or b"") for row in rows]


def dsn_parts(message: Message) -> tuple[str, str]:
    """(delivery-status text, returned headers text) of an RFC 3464 report."""
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    status = headers = ""
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            status = "".join(str(p) for p in part.get_payload())
        elif part.get_content_type() == "text/rfc822-headers":
            headers = part.get_payload(decode=True).decode()
    return status, headers
