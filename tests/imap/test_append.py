"""APPEND's writes (store.append, through delivery.file_copies): on PostgreSQL
one statement, no BEGIN/COMMIT; the folder's keyword set (its FLAGS) grown in
it; a refusal (no such folder, no room, too many keywords) leaves nothing
written. Run on PostgreSQL and on SQLite (the step path; `make test-sqlite`)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from django.db import connection

from conftest import PASSWORDS, sample_message
from mailboxes import store
from mailboxes.models import Account, Folder, Message
from mailboxes.store.messages import MAX_FOLDER_KEYWORDS
from tests.markers import needs_postgres

from .client import RawClient

ALICE = "alice@example.test"


def append_command(message: bytes, mailbox: str = "INBOX", flags: str = "") -> bytes:
    return f"APPEND {mailbox} ({flags}) {{{len(message)}+}}\r\n".encode() + message


def written(account_id: int) -> tuple[object, ...]:
    """What an APPEND writes, to show that a refused one wrote nothing (the
    bytes aside: a refused copy may leave them, for store.collect_blobs)."""
    folders = Folder.objects.filter(owner_id=account_id).order_by("pk")
    return (
        list(folders.values_list("name", "uidnext", "highestmodseq", "keywords")),
        Message.objects.filter(folder__owner_id=account_id).count(),
        Account.objects.get(pk=account_id).used_bytes,
    )


def flags_line(untagged: list[bytes]) -> list[str]:
    """The flags of the one ``* FLAGS`` line: the five system flags, then the keywords."""
    [line] = [u for u in untagged if u.startswith(b"* FLAGS ")]
    return line[len(b"* FLAGS (") : line.rindex(b")")].decode().split()


def test_append_with_keywords_grows_flags_for_another_session_in_the_order_given(client, imap_port) -> None:  # type: ignore[no-untyped-def]
    client.ok(append_command(sample_message(subject="one"), flags="$Label2"))
    with RawClient(imap_port) as other:
        other.login(ALICE, PASSWORDS[ALICE])
        untagged, _ = other.command("SELECT INBOX")
        assert flags_line(untagged)[5:] == ["$Label2"]
        client.ok(append_command(sample_message(subject="two"), flags="\\Seen Zebra $Label2 Apple"))
        untagged, _ = other.command("NOOP")
        assert b"* 2 EXISTS\r\n" in untagged
        # The folder's set as it was, then the new keywords in the order the client gave them.
        assert flags_line(untagged)[5:] == ["$Label2", "Zebra", "Apple"]
    with RawClient(imap_port) as third:
        third.login(ALICE, PASSWORDS[ALICE])
        untagged, _ = third.command("EXAMINE INBOX")
        assert flags_line(untagged)[5:] == ["$Label2", "Zebra", "Apple"]


def test_append_over_quota_leaves_no_row_and_no_charge(client, alice) -> None:  # type: ignore[no-untyped-def]
    message = sample_message(body="x" * 3000 + "\r\n")
    client.ok(append_command(message))
    store.update_account(ALICE, quota=len(message) + 100)
    before = written(alice.id)
    _, done = client.command(append_command(message, flags="$Label1 \\Flagged"))
    assert done.endswith(b"NO [OVERQUOTA] Quota exceeded\r\n")
    assert written(alice.id) == before  # no UID or modseq taken, no keyword, no row, no charge
    with pytest.raises(store.OverQuota):
        store.append(alice.id, "Archive", message, ["$Label1"])
    store.update_account(ALICE, quota=100)
    with pytest.raises(store.TooBigForQuota):
        store.append(alice.id, "Archive", message)
    assert written(alice.id) == before
    store.update_account(ALICE, quota=2 * len(message))
    assert store.append(alice.id, "Archive", message, ["$Label1"]).uid == 1


def test_append_to_a_missing_folder_is_trycreate_and_writes_nothing(client, alice) -> None:  # type: ignore[no-untyped-def]
    before = written(alice.id)
    _, done = client.command(append_command(sample_message(), "Nowhere", "$Label1"))
    assert done.endswith(b"NO [TRYCREATE] Mailbox does not exist\r\n")  # RFC 3501 6.3.11
    assert written(alice.id) == before
    with pytest.raises(store.NoSuchFolder):
        store.append(alice.id, "Nowhere", sample_message())


def test_a_bad_flag_is_refused_before_anything_is_written(alice) -> None:  # type: ignore[no-untyped-def]
    before = written(alice.id)
    with pytest.raises(store.InvalidInput):
        store.append(alice.id, "INBOX", sample_message(), ["\\Bogus"])
    assert written(alice.id) == before


def test_the_folder_keyword_limit_refuses_new_keywords_with_nothing_written(client, alice) -> None:  # type: ignore[no-untyped-def]
    held = [f"k{n}" for n in range(MAX_FOLDER_KEYWORDS - 1)]
    Folder.objects.filter(owner_id=alice.id, name="INBOX").update(keywords=held)
    before = written(alice.id)
    with pytest.raises(store.InvalidInput, match="too many keywords in this folder"):
        store.append(alice.id, "INBOX", sample_message(), ["k1", "new1", "new2"])
    assert written(alice.id) == before
    _, done = client.command(append_command(sample_message(), flags="new1 new2"))
    assert done.endswith(b"NO [CANNOT] Invalid request\r\n")
    assert written(alice.id) == before
    # Keywords the folder holds already never count against it; one more fits exactly.
    store.append(alice.id, "INBOX", sample_message(subject="old"), ["k1", "k2"])
    store.append(alice.id, "INBOX", sample_message(subject="last"), ["k3", "new1"])
    keywords = Folder.objects.get(owner_id=alice.id, name="INBOX").keywords
    assert len(keywords) == MAX_FOLDER_KEYWORDS and keywords[-1] == "new1"
    store.append(alice.id, "INBOX", sample_message(subject="full"), ["new1", "\\Seen"])
    with pytest.raises(store.InvalidInput):
        store.append(alice.id, "INBOX", sample_message(subject="over"), ["new2"])
    assert store.folder_status(alice.id, "INBOX").messages == 3


@contextmanager
def statements() -> Iterator[list[str]]:
    """The statements this thread's connection sends, seen on the wire (libpq's
    trace): each Execute (extended protocol) and each Query (simple protocol,
    which BEGIN and COMMIT use). The store's bound cursor bypasses Django's
    query log, so CaptureQueriesContext would not see the APPEND statement."""
    from psycopg import pq

    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    sent: list[str] = []
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield sent
        finally:
            pgconn.untrace()
            trace.seek(0)
            messages = [line.split("\t") for line in trace.read().splitlines()]
            sent += [
                m[3].strip(' "') if m[2] == "Query" else "execute"
                for m in messages
                if m[0] == "F" and m[2] in ("Query", "Execute")
            ]


@needs_postgres
def test_an_append_is_one_statement_without_a_transaction_whatever_its_keywords(alice) -> None:  # type: ignore[no-untyped-def]
    for n, flags in enumerate([[], ["$Label1"], ["\\Seen", "$Label1", "$Label2"], ["$Label2"]]):
        with statements() as sent:
            result = store.append(alice.id, "INBOX", sample_message(subject=f"m{n}"), flags)
        assert sent == ["execute"], (flags, sent)
        assert result.uid == n + 1
    assert Folder.objects.get(owner_id=alice.id, name="INBOX").keywords == ["$Label1", "$Label2"]
    with statements() as sent, pytest.raises(store.NoSuchFolder):
        store.append(alice.id, "Nowhere", sample_message(), ["$Label1"])
    assert sent == ["execute"]


@needs_postgres
def test_concurrent_appends_with_new_keywords_lose_none_and_share_no_uid(alice) -> None:  # type: ignore[no-untyped-def]
    """Each APPEND's statement locks the folder row and grows its set from the
    row it locked: concurrent ones each see the others' keywords."""

    def appender(worker: int) -> list[int]:
        try:
            return [
                store.append(alice.id, "INBOX", sample_message(f"w{worker} m{n}"), [f"w{worker}k{n}", "$Label1"]).uid
                for n in range(5)
            ]
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        uids = [uid for batch in pool.map(appender, range(6)) for uid in batch]
    assert sorted(uids) == list(range(1, 31))
    keywords = Folder.objects.get(owner_id=alice.id, name="INBOX").keywords
    assert sorted(keywords) == sorted(["$Label1", *(f"w{w}k{n}" for w in range(6) for n in range(5))])
    folder = Folder.objects.get(owner_id=alice.id, name="INBOX")
    assert (folder.uidnext, folder.highestmodseq) == (31, 31)
