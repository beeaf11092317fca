"""METADATA (RFC 5464) in the store: limits, all-or-nothing, and who may
write the server's shared entries (the protocol side is in
transcripts/metadata.txt)."""

from __future__ import annotations

import time

import pytest

from conftest import PASSWORDS
from mailboxes import store
from mailboxes.store.metadata import MAX_ENTRIES, MAX_VALUE

from .client import RawClient


def test_a_value_over_the_limit_is_refused_and_nothing_of_the_command_is_kept(alice) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(store.MetadataTooBig):
        store.set_metadata(alice.id, "INBOX", [("/private/a", b"ok"), ("/private/b", b"x" * (MAX_VALUE + 1))])
    assert store.get_metadata(alice.id, "INBOX", ["/private/a", "/private/b"]) == []
    store.set_metadata(alice.id, "INBOX", [("/private/b", b"x" * MAX_VALUE)])
    assert store.get_metadata(alice.id, "INBOX", ["/private/b"]) == [("/private/b", b"x" * MAX_VALUE)]


def test_more_entries_than_the_limit_are_refused(alice) -> None:  # type: ignore[no-untyped-def]
    items = [(f"/private/n/{i}", b"v") for i in range(MAX_ENTRIES + 1)]
    with pytest.raises(store.MetadataTooMany):
        store.set_metadata(alice.id, None, items)
    store.set_metadata(alice.id, None, items[:MAX_ENTRIES])
    assert len(store.get_metadata(alice.id, None, ["/private/n"], "infinity")) == MAX_ENTRIES


def test_server_shared_entries_are_written_by_a_superuser_and_read_by_everyone(users) -> None:  # type: ignore[no-untyped-def]
    alice, bob = users["alice@example.test"], users["bob@example.test"]
    with pytest.raises(store.NotPermitted):
        store.set_metadata(bob.id, None, [("/shared/admin", b"mailto:bob@example.test")])
    root = store.create_account("root@example.test", "root-secret", superuser=True)
    store.set_metadata(root.id, None, [("/shared/admin", b"mailto:postmaster@example.test")])
    assert store.get_metadata(bob.id, None, ["/shared/admin"]) == [("/shared/admin", b"mailto:postmaster@example.test")]
    # A mailbox's shared entries are its owner's: bob's INBOX has none of alice's.
    store.set_metadata(alice.id, "INBOX", [("/shared/comment", b"alice")])
    assert store.get_metadata(bob.id, "INBOX", ["/shared/comment"]) == []


def _metadata_heard(raw: RawClient, seconds: float = 5.0) -> list[bytes]:
    """The METADATA responses NOOPs bring within ``seconds`` (events cross a thread: poll)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        heard = [line for line in raw.ok("NOOP") if line.startswith(b"* METADATA")]
        if heard:
            return heard
        time.sleep(0.05)
    return []


def test_every_account_that_asks_hears_of_the_servers_shared_entries(users, imap_port) -> None:  # type: ignore[no-untyped-def]
    """RFC 5465 5.10: ServerMetadataChange reaches every NOTIFY session that
    asked, not only the superuser's who wrote the entry; the others hear nothing."""
    root = store.create_account("root@example.test", "root-secret", superuser=True)
    with RawClient(imap_port) as bob, RawClient(imap_port) as carol:
        bob.login("bob@example.test", PASSWORDS["bob@example.test"])
        carol.login("alice@example.test", PASSWORDS["alice@example.test"])
        bob.ok("NOTIFY SET (INBOXES (MessageNew ServerMetadataChange))")
        carol.ok("NOTIFY SET (INBOXES (MessageNew))")
        store.set_metadata(root.id, None, [("/shared/admin", b"mailto:postmaster@example.test")])
        assert _metadata_heard(bob) == [b'* METADATA "" /shared/admin\r\n']
        assert _metadata_heard(carol, seconds=0.5) == []
        bob.ok("NOTIFY NONE")
        store.set_metadata(root.id, None, [("/shared/admin", None)])
        assert _metadata_heard(bob, seconds=0.5) == []
