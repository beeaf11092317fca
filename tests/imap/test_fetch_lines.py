"""FETCH of flags for many messages, its lines built by PostgreSQL
(store.fetch_lines, protocols/imap/fetch_bulk.py): the same bytes as the
general path, message by message, in every case the view can be in."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from conftest import PASSWORDS, sample_message
from mailboxes import store
from protocols.imap.fetch import FetchAttribute
from protocols.imap.fetch_bulk import MIN_MESSAGES, PAGE
from protocols.imap.fetch_items import render_message
from protocols.imap.view import RECENT
from tests.markers import needs_postgres

from .client import RawClient

pytestmark = needs_postgres

# Flags the messages cycle through: every system flag, keywords alone and
# with system flags, several keywords (rendered in code point order).
FLAG_CYCLE = [
    [],
    ["\\Seen"],
    ["\\Answered", "\\Seen"],
    ["\\Flagged", "\\Deleted", "\\Draft"],
    ["$Forwarded"],
    ["\\Seen", "zeta", "Alpha", "$label1"],
    ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "B", "a"],
]
KEYWORDS = sorted({f for flags in FLAG_CYCLE for f in flags if not f.startswith("\\")})


def _fill(account_id: int, count: int, first: int = 0) -> None:
    raw = sample_message(subject="bulk")
    for start in range(first, first + count, 1000):
        n = min(1000, first + count - start)
        store.append_many(
            account_id, "INBOX", [(raw, FLAG_CYCLE[(start + i) % len(FLAG_CYCLE)], None) for i in range(n)]
        )


def _expected(account_id, folder_id, lo, hi, first_seq, attributes, recent=()):  # type: ignore[no-untyped-def]
    """The lines the general path renders (fetch_messages, render_message)."""
    out = []
    for seq, message in enumerate(store.fetch_messages(account_id, folder_id, [(lo, hi)], limit=10**6), first_seq):
        if any(a <= message.uid <= b for a, b in recent):
            message = replace(message, flags=message.flags | {RECENT})
        out.append(render_message(seq, attributes, message))
    return b"".join(out)


@pytest.mark.parametrize("names", [["UID", "FLAGS"], ["FLAGS", "UID", "MODSEQ", "RFC822.SIZE"], ["FLAGS"]])
def test_the_database_renders_each_line_as_the_general_path_does(alice, names) -> None:  # type: ignore[no-untyped-def]
    _fill(alice.id, 60)
    folder = store.select_folder(alice.id, "INBOX").id
    store.set_flags(alice.id, folder, [(21, 30)], "add", ["\\Deleted"])
    store.expunge(alice.id, folder, [(21, 30)])  # a gap: 1..20, 31..60
    attributes = [FetchAttribute(name) for name in names]
    recent = [(5, 7), (33, 40)]

    def lines(lo, hi, first_seq, contiguous, recent=()):  # type: ignore[no-untyped-def]
        page = store.fetch_lines(
            alice.id,
            folder,
            lo,
            hi,
            items=names,
            first_seq=first_seq,
            contiguous=contiguous,
            recent=recent,
            keywords=KEYWORDS,
        )
        assert page is not None
        return page

    page = lines(1, 60, 1, False, recent)
    assert page.count == 50 and page.uid_sum == sum(range(1, 21)) + sum(range(31, 61))
    assert page.data == _expected(alice.id, folder, 1, 60, 1, attributes, recent)
    assert re.search(rb"^\* 21 FETCH \(", page.data, re.M) and b"\\Recent" in page.data
    # A contiguous slice numbered by its UIDs: 31..60 are messages 21..50.
    assert lines(31, 60, 21, True).data == _expected(alice.id, folder, 31, 60, 21, attributes)
    assert lines(31, 60, 21, True, recent).data == _expected(alice.id, folder, 31, 60, 21, attributes, recent)


def test_a_page_holding_a_keyword_the_client_was_not_told_of_is_not_rendered(alice) -> None:  # type: ignore[no-untyped-def]
    _fill(alice.id, 10)
    folder = store.select_folder(alice.id, "INBOX").id
    known = [k for k in KEYWORDS if k != "zeta"]
    kwargs = {"items": ["UID", "FLAGS"], "first_seq": 1, "contiguous": True}
    assert store.fetch_lines(alice.id, folder, 1, 6, keywords=known, **kwargs) is None  # message 6 has zeta
    assert store.fetch_lines(alice.id, folder, 1, 6, keywords=KEYWORDS, **kwargs) is not None
    assert store.fetch_lines(alice.id, folder, 1, 5, keywords=known, **kwargs) is not None


def test_another_accounts_folder_has_no_lines(alice, bob) -> None:  # type: ignore[no-untyped-def]
    _fill(alice.id, 3)
    folder = store.select_folder(alice.id, "INBOX").id
    page = store.fetch_lines(bob.id, folder, 1, 3, items=["UID"], first_seq=1, contiguous=True, keywords=KEYWORDS)
    assert page is not None and page.count == 0 and page.data == b""


def _fetch_lines(client: RawClient, command: str) -> list[bytes]:
    untagged = client.ok(command)
    return [line for line in untagged if re.match(rb"\* \d+ FETCH ", line)]


def _in_small_fetches(client: RawClient, last: int, items: str) -> list[bytes]:
    """The same FETCH as several below MIN_MESSAGES each: the general path."""
    step = MIN_MESSAGES - 1
    out: list[bytes] = []
    for lo in range(1, last + 1, step):
        out += _fetch_lines(client, f"FETCH {lo}:{min(last, lo + step - 1)} {items}")
    return out


def test_fetch_of_a_whole_big_folder_sends_what_small_fetches_send(alice, imap_port: int) -> None:  # type: ignore[no-untyped-def]
    """Over a real socket: pages with gaps and without, \\Recent for some, a
    message expunged by someone else that the session still numbers (a
    ghost, RFC 2180 4.1.3), and one stored just before the FETCH but not yet
    announced to the session (it learns of it after the FETCH)."""
    total = PAGE + 300
    _fill(alice.id, total - 40)
    folder = store.select_folder(alice.id, "INBOX", claim_recent=True).id  # another session had these
    _fill(alice.id, 40, first=total - 40)  # \Recent for the session below
    gaps = [(140, 140), (4000, 4010)]  # in the first page; the second one has none
    store.set_flags(alice.id, folder, gaps, "add", ["\\Deleted"])
    store.expunge(alice.id, folder, gaps)
    with RawClient(imap_port, timeout=60) as client:
        client.login("alice@example.test", PASSWORDS["alice@example.test"])
        exists = int(re.search(rb"\* (\d+) EXISTS", b"".join(client.ok("SELECT INBOX"))).group(1))
        assert exists == total - 12
        store.append(alice.id, "INBOX", sample_message(subject="late"))  # not announced before the FETCH
        whole = _fetch_lines(client, "FETCH 1:* (UID FLAGS)")
        assert len(whole) == exists  # the late one is announced after this FETCH, not in it
        assert sum(b"\\Recent" in line for line in whole) == 40
        assert whole == _in_small_fetches(client, exists, "(UID FLAGS)")
        exists += 1
        whole = _fetch_lines(client, "FETCH 1:* (FLAGS UID RFC822.SIZE MODSEQ)")
        assert len(whole) == exists
        assert whole == _in_small_fetches(client, exists, "(FLAGS UID RFC822.SIZE MODSEQ)")
        # Another session expunges message 3: a ghost here until a command may say EXPUNGE.
        store.set_flags(alice.id, folder, [(3, 3)], "add", ["\\Deleted"])
        store.expunge(alice.id, folder, [(3, 3)])
        ghosted = _fetch_lines(client, "FETCH 1:* (UID FLAGS)")
        assert len(ghosted) == exists - 1 and not any(line.startswith(b"* 3 FETCH") for line in ghosted)
        assert ghosted == _in_small_fetches(client, exists, "(UID FLAGS)")
