"""UTF8=ACCEPT (RFC 6855) in the pure parts: the parser in UTF-8 mode, the
mailbox name encoder, and the ENVELOPE a client without it gets."""

from __future__ import annotations

import imaplib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from conftest import PASSWORDS
from mailboxes import store
from protocols.imap import commands as c
from protocols.imap.downgrade import ascii_envelope
from protocols.imap.encoder import render_envelope, render_mailbox
from protocols.imap.errors import BadMailboxName
from protocols.imap.fetch_items import render_message
from protocols.imap.parser import ParseError, parse_command

from .helpers import MAX_LITERAL, parse_split_everywhere


def parse(data: bytes, *, utf8: bool) -> c.Command:
    return parse_command(data, max_literal=MAX_LITERAL, utf8=utf8)[0]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ('a SELECT "Äpfel"\r\n'.encode(), c.Select(tag=b"a", mailbox="Äpfel", readonly=False)),
        (b'a CREATE "R&D"\r\n', c.Create(tag=b"a", mailbox="R&D")),  # "&" is itself, not a shift
        ("a RENAME {6}\r\nÄpfel \"Birnen\"\r\n".encode(), c.Rename(tag=b"a", mailbox="Äpfel", new_name="Birnen")),
        (
            "a APPEND \"Äpfel\" (\\Seen) UTF8 (~{5}\r\nx: é)\r\n".encode(),
            c.Append(tag=b"a", mailbox="Äpfel", flags=("\\Seen",), message="x: é".encode()),
        ),
    ],
)
def test_utf8_mode_reads_mailbox_names_and_append_utf8_at_every_split(data: bytes, expected: c.Command) -> None:
    command, _ = parse_split_everywhere(data, utf8=True)
    assert command == expected


def test_without_utf8_mode_names_are_modified_utf7_and_append_utf8_is_bad() -> None:
    assert parse(b"a SELECT &AMQ-pfel\r\n", utf8=False) == c.Select(tag=b"a", mailbox="Äpfel", readonly=False)
    with pytest.raises(ParseError, match="ENABLE UTF8=ACCEPT"):
        parse(b"a APPEND INBOX UTF8 (~{1}\r\nx)\r\n", utf8=False)


@pytest.mark.parametrize("name", [b'"bad\xff"', '"line\u2028sep"'.encode(), '"c1\u0085"'.encode()])
def test_utf8_mode_refuses_invalid_utf8_and_excluded_characters(name: bytes) -> None:
    with pytest.raises(BadMailboxName):
        parse(b"a SELECT " + name + b"\r\n", utf8=True)


def test_utf8_mode_refuses_search_charset() -> None:
    with pytest.raises(ParseError, match="CHARSET"):
        parse(b"a SEARCH CHARSET UTF-8 ALL\r\n", utf8=True)
    assert isinstance(parse(b"a SEARCH CHARSET UTF-8 ALL\r\n", utf8=False), c.Search)


def test_mailbox_names_go_out_as_utf8_quoted_only_in_utf8_mode() -> None:
    assert render_mailbox("Äpfel") == b"&AMQ-pfel"
    assert render_mailbox("Äpfel", utf8=True) == '"Äpfel"'.encode()
    assert render_mailbox('Say "hi" Ä', utf8=True) == '"Say \\"hi\\" Ä"'.encode()
    assert render_mailbox("R&D", utf8=True) == b"R&D"
    assert render_mailbox("R&D") == b"R&-D"


UTF8_ENVELOPE = {
    "date": "Mon, 7 Dec 2026 10:00:00 +0000",
    "subject": "Grüße",
    "from": [["Jörg", None, "jörg", "bücher.example"]],
    "sender": [["Jörg", None, "jörg", "bücher.example"]],
    "reply_to": [["Jörg", None, "jörg", "bücher.example"]],
    "to": [["Ann Ödegaard", None, "ann", "bücher.example"], [None, None, "Ünits", None], [None, None, None, None]],
    "cc": None,
    "bcc": None,
    "in_reply_to": None,
    "message_id": "<ü@bücher.example>",
}


def test_an_envelope_with_utf8_is_downgraded_to_ascii_after_rfc_6857() -> None:
    env = ascii_envelope(UTF8_ENVELOPE)
    rendered = render_envelope(env)
    assert rendered.isascii() and b"{" not in rendered  # no literal needed any more
    assert env["subject"] == "=?utf-8?b?R3LDvMOfZQ==?="
    # A local part with no ASCII form: an empty group that names it (RFC 6857 3.1.2).
    assert env["from"] == [
        [None, None, "=?utf-8?b?SsO2cmcgPGrDtnJnQGLDvGNoZXIuZXhhbXBsZT4=?=", None],
        [None, None, None, None],
    ]
    # An ASCII local part keeps its address, the domain as its A-label, the name encoded.
    assert env["to"][0] == ["=?utf-8?q?Ann_=C3=96degaard?=", None, "ann", "xn--bcher-kva.example"]
    assert env["to"][1] == [None, None, "=?utf-8?b?w5xuaXRz?=", None]
    assert env["message_id"] is None and env["date"] == UTF8_ENVELOPE["date"]


@dataclass(frozen=True)
class Facts:
    """One stored message's facts, as the store hands them to FETCH."""

    envelope: dict[str, Any]
    blob: str = "c0ffee" * 10
    uid: int = 7
    modseq: int = 1
    flags: frozenset[str] = frozenset()
    internal_date: datetime | None = None
    size: int = 60
    structure: dict[str, Any] | None = None
    header_bytes: int = 50
    preview: str | None = None
    data: bytes | None = None


def test_the_same_message_renders_its_envelope_for_each_mode_every_time() -> None:
    """Rendered envelopes are kept by message (fetch_items._rendered): a
    session with UTF8=ACCEPT and one without never get each other's."""
    (attribute,) = parse(b"a FETCH 1 (ENVELOPE)\r\n", utf8=False).attributes  # type: ignore[attr-defined]
    facts = Facts(UTF8_ENVELOPE)
    utf8 = b"* 1 FETCH (ENVELOPE " + render_envelope(UTF8_ENVELOPE) + b")\r\n"
    ascii_only = b"* 1 FETCH (ENVELOPE " + render_envelope(ascii_envelope(UTF8_ENVELOPE)) + b")\r\n"
    for mode in (False, True, False, True):
        assert render_message(1, [attribute], facts, utf8=mode) == (utf8 if mode else ascii_only)


def test_an_ascii_envelope_is_left_as_it_is() -> None:
    env = {"subject": "plain", "from": [["Ann", None, "ann", "example.test"]], "to": None}
    assert ascii_envelope(env) is env


def test_imaplib_in_utf8_mode_creates_lists_and_reads_utf8_names_and_headers(alice, imap_port: int) -> None:  # type: ignore[no-untyped-def]
    """Python's imaplib, a real client: after ENABLE UTF8=ACCEPT it sends
    names as UTF-8. (Its APPEND in that mode puts "UTF8 (" inside the
    literal, a client bug, so the message is stored through the store.)"""
    message = "From: Jörg <jörg@bücher.example>\r\nSubject: Grüße\r\n\r\nHallo\r\n".encode()
    client = imaplib.IMAP4("127.0.0.1", imap_port)
    try:
        client.login("alice@example.test", PASSWORDS["alice@example.test"])
        assert client.enable("UTF8=ACCEPT")[0] == "OK" and client.utf8_enabled
        assert client.create('"Äpfel"')[0] == "OK"
        typ, listed = client.list('""', '"Ä*"')
        assert typ == "OK" and listed == ['(\\HasNoChildren) "/" "Äpfel"'.encode()]
        store.append(alice.id, "Äpfel", message)
        client.select('"Äpfel"', readonly=True)
        typ, data = client.fetch("1", "(BODY.PEEK[])")
        assert typ == "OK" and data[0][1] == message  # stored and returned byte for byte
    finally:
        client.logout()
