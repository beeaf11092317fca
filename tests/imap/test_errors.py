"""Store errors become response codes at the boundary (RFC 5530): a full
mailbox is NO [OVERQUOTA], a database that cannot be reached NO [UNAVAILABLE],
and nothing is lost or half done."""

from __future__ import annotations

import pytest

from conftest import PASSWORDS, sample_message
from mailboxes import store
from tests.servers import SubprocessServer

from .client import RawClient

ALICE = "alice@example.test"


def test_append_and_copy_past_the_quota_are_refused_with_overquota(client: RawClient) -> None:
    message = sample_message(body="x" * 3000 + "\r\n")
    client.ok(b"APPEND INBOX {%d+}\r\n" % len(message) + message)
    store.update_account(ALICE, quota=len(message) + 100)
    _, done = client.command(b"APPEND INBOX {%d+}\r\n" % len(message) + message)
    assert done.endswith(b"NO [OVERQUOTA] Quota exceeded\r\n")
    client.ok("SELECT INBOX")
    _, done = client.command("COPY 1 Archive")
    assert done.endswith(b"NO [OVERQUOTA] Quota exceeded\r\n")
    assert store.folder_status(store.get_account(ALICE).id, "Archive").messages == 0
    # A message larger than the whole quota can never fit: the same code.
    store.update_account(ALICE, quota=100)
    _, done = client.command(b"APPEND Drafts {%d+}\r\n" % len(message) + message)
    assert done.endswith(b"NO [OVERQUOTA] Quota exceeded\r\n")


@pytest.mark.slow
def test_a_database_that_cannot_be_reached_is_a_temporary_failure(users) -> None:  # type: ignore[no-untyped-def]
    store.deliver(sample_message(), [ALICE])
    nowhere = {"DATABASE_URL": "postgres://postgres@127.0.0.1:9/nowhere", "MAIL_DB_POOL": "false"}
    with SubprocessServer("imap", nowhere) as server, RawClient(server.ports["imap"]) as raw:
        raw.greeting()
        _, done = raw.command(f"LOGIN {ALICE} {PASSWORDS[ALICE]}")
        assert done.endswith(b"NO [UNAVAILABLE] Temporary failure, try again later\r\n")
        assert raw.ok("NOOP") == []
