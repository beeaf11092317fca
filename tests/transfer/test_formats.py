"""The pure parts of mailboxes.transfer: folder names, Maildir info flags,
mbox framing and status fields, IMAP responses, progress display."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailboxes.transfer import imapwire
from mailboxes.transfer.maildir import flags_from_info
from mailboxes.transfer.mbox import MboxReader, from_line_date, mbox_entry, split_meta
from mailboxes.transfer.names import decode_mutf7, encode_mutf7, header_length, key_of, key_of_raw, target_folder
from mailboxes.transfer.progress import Progress
from mailboxes.transfer.source import clean_flags, to_crlf

WHEN = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    "text, encoded",
    [
        ("Café", "Caf&AOk-"),
        ("台北/日本語", "&U,BTFw-/&ZeVnLIqe-"),
        ("Tom & Jerry", "Tom &- Jerry"),
        ("Sent Items", "Sent Items"),
        ("&", "&-"),
    ],
)
def test_modified_utf7_round_trips_as_rfc3501_says(text, encoded):
    assert encode_mutf7(text) == encoded
    assert decode_mutf7(encoded) == text


def test_a_name_that_is_not_modified_utf7_is_kept_as_it_is():
    assert decode_mutf7("R&D stuff") == "R&D stuff"


@pytest.mark.parametrize(
    "name, attributes, ours",
    [
        ("Sent Items", (), ("Sent", "\\Sent")),
        ("INBOX/Sent", (), ("Sent", "\\Sent")),
        ("[Gmail]/Spam", (), ("Junk", "\\Junk")),
        ("Deleted Messages", (), ("Trash", "\\Trash")),
        ("Papierkorb", (), ("Trash", "\\Trash")),
        ("Whatever", ("\\HasNoChildren", "\\Drafts"), ("Drafts", "\\Drafts")),
        ("Projects/Sent", (), ("Projects/Sent", "")),
        ("inbox", (), ("INBOX", "")),
        ("a*b%/ /..", (), ("a_b_/_/_", "")),
    ],
)
def test_source_folders_map_onto_ours(name, attributes, ours):
    assert target_folder(name, attributes) == ours


@pytest.mark.parametrize(
    "filename, flags",
    [
        ("1700000000.M1P2.host,S=123:2,FRS", {"\\Flagged", "\\Answered", "\\Seen"}),
        ("1700000000.M1P2.host:2,DPT", {"\\Draft", "$Forwarded", "\\Deleted"}),
        ("1700000000.M1P2.host;2,Sab", {"\\Seen", "$Label1", "Work"}),
        ("1700000000.M1P2.host:2,z", set()),  # a letter without a keyword
        ("1700000000.M1P2.host", set()),
    ],
)
def test_maildir_info_suffix_gives_imap_flags(filename, flags):
    assert flags_from_info(filename, {"a": "$Label1", "b": "Work"}) == flags


@pytest.mark.parametrize(
    "flags, kept, dropped",
    [
        (["\\seen", "\\RECENT", "$Label1"], {"\\Seen", "$Label1"}, []),
        (["\\Unknown", "bad keyword", "naïve", "ok"], {"ok"}, ["\\Unknown", "bad keyword", "naïve"]),
    ],
)
def test_flags_are_cleaned_for_the_store(flags, kept, dropped):
    assert clean_flags(flags) == (frozenset(kept), dropped)


def test_import_keys_use_message_id_and_size_else_the_bytes():
    raw = b"Subject: x\r\nMessage-ID:\r\n  <id@host> (comment)\r\n\r\nbody\r\n"
    assert key_of_raw(raw) == ("<id@host>", len(raw))
    assert key_of("<id@host> (comment)", len(raw), "ignored") == ("<id@host>", len(raw))
    assert key_of_raw(b"Subject: x\r\n\r\nbody\r\n")[0].startswith("sha256:")
    assert key_of_raw(b"body only, Message-ID: <no@header>\r\n")[0].startswith("sha256:")


@pytest.mark.parametrize(
    "raw, length", [(b"A: 1\r\nB: 2\r\n\r\nbody", 12), (b"A: 1\n\nbody", 5), (b"\r\nbody", 0), (b"A: 1\r\n", 6)]
)
def test_header_length_ends_after_the_last_field(raw, length):
    assert header_length(raw) == length


def test_unix_line_ends_become_crlf_but_mixed_files_are_kept():
    assert to_crlf(b"a\nb\n") == b"a\r\nb\r\n"
    assert to_crlf(b"a\r\nb\n") == b"a\r\nb\n"


@pytest.mark.parametrize(
    "line, when",
    [
        (b"From MAILER-DAEMON Tue Nov 14 22:13:20 2023\n", WHEN),
        (b"From - Tue Nov 14 22:13:20 2023\r\n", WHEN),
        (b"From a@b  Tue Nov 14 22:13 2023\n", WHEN.replace(second=0)),
        (b"From a@b Tue Nov 14 22:13:20 CET 2023\n", WHEN),
        (b"From a@b Tue, 14 Nov 2023 22:13:20 +0000\n", WHEN),
        (b"From here on, we disagree.\n", None),
    ],
)
def test_from_lines_are_recognised_by_their_date(line, when):
    assert from_line_date(line) == when


def test_status_fields_become_flags_and_leave_the_message():
    raw = (
        b"Subject: s\r\nStatus: RO\r\nX-Status: AFTD\r\nX-Keywords: $Label1, Work\r\nX-UID: 7\r\n"
        b"X-Mozilla-Status: 1000\r\n\r\nStatus: in the body stays\r\n"
    )
    message, flags = split_meta(raw)
    assert message == b"Subject: s\r\nX-Mozilla-Status: 1000\r\n\r\nStatus: in the body stays\r\n"
    assert flags == {"\\Seen", "\\Answered", "\\Flagged", "\\Draft", "\\Deleted", "$Label1", "Work", "$Forwarded"}


def read_mbox(data: bytes, variant: str = "mboxrd") -> list:
    return list(MboxReader(Path("mbox"), 1 << 20, variant).split(io.BytesIO(data)))


line = st.lists(st.sampled_from(["From ", ">", "x", " ", "é", "F", "rom"]), max_size=6).map("".join)


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(line, max_size=8),
    flags=st.sets(st.sampled_from(["\\Seen", "\\Answered", "\\Flagged", "\\Draft", "\\Deleted", "$Label1", "Work"])),
)
def test_any_message_survives_an_mbox_round_trip(lines, flags):
    raw = ("Subject: s\r\nMessage-ID: <a@b>\r\n\r\n" + "".join(f"{text}\r\n" for text in lines)).encode()
    data = mbox_entry(raw, frozenset(flags), WHEN) * 2
    items = read_mbox(data)
    assert [(i.raw, i.flags, i.internal_date) for i in items] == [(raw, frozenset(flags), WHEN)] * 2


@pytest.mark.parametrize("variant, body", [("mboxrd", b"From x\n>From y\n"), ("mboxo", b"From x\n>>From y\n")])
def test_quoted_from_lines_are_unquoted_by_the_variant(variant, body):
    data = b"From a Tue Nov 14 22:13:20 2023\nSubject: q\n\n>From x\n>>From y\n\n"
    assert read_mbox(data, variant)[0].raw == b"Subject: q\r\n\r\n" + body.replace(b"\n", b"\r\n")


def test_a_message_past_the_limit_is_reported_without_keeping_it():
    data = (
        b"From a Tue Nov 14 22:13:20 2023\nSubject: big\n\n"
        + b"x" * 100
        + b"\n" * 3
        + b"From a Tue Nov 14 22:13:20 2023\nSubject: small\n\nok\n"
    )
    big, small = MboxReader(Path("mbox"), 50, "mboxrd").split(io.BytesIO(data))
    assert big.raw is None and "larger than the message size limit" in big.error
    assert small.raw == b"Subject: small\r\n\r\nok\r\n"


def test_fetch_responses_with_literals_anywhere_are_read():
    data = [
        (b'1 (UID 7 RFC822.SIZE 42 BODY[HEADER.FIELDS (MESSAGE-ID)] {22}', b"Message-ID: <a@b>\r\n\r\n"),
        b' FLAGS (\\Seen $Label1) INTERNALDATE "14-Nov-2023 22:13:20 +0000")',
        b'2 (UID 9 FLAGS () INTERNALDATE " 4-Jan-2024 01:02:03 -0700" RFC822.SIZE 3 BODY[HEADER.FIELDS (MESSAGE-ID)] NIL)',
    ]
    first, second = imapwire.parse_fetch(data)
    assert imapwire.number(first, "UID") == 7 and imapwire.number(first, "RFC822.SIZE") == 42
    assert imapwire.flags_of(first) == {"\\Seen", "$Label1"}
    assert imapwire.internal_date(first) == WHEN
    assert imapwire.body_section(first, "BODY[HEADER") == b"Message-ID: <a@b>\r\n\r\n"
    assert imapwire.body_section(second, "BODY[HEADER") == b""
    assert imapwire.internal_date(second).utcoffset().total_seconds() == -7 * 3600


def test_list_responses_give_names_delimiters_and_special_use():
    data = [
        b'(\\HasNoChildren \\Sent) "/" "Sent Items"',
        b'(\\Noselect) "." Archive',
        (b'(\\HasNoChildren) NIL {5}', b'odd"n'),
        b'() "/" "a\\"b"',
    ]
    entries = imapwire.parse_list(data)
    assert [(e.name, e.delimiter, e.attributes) for e in entries] == [
        ("Sent Items", "/", ("\\HasNoChildren", "\\Sent")),
        ("Archive", ".", ("\\Noselect",)),
        ('odd"n', "", ("\\HasNoChildren",)),
        ('a"b', "/", ()),
    ]


def test_progress_draws_bars_on_a_terminal_and_plain_lines_elsewhere():
    for tty in (True, False):
        out = io.StringIO()
        progress = Progress(out, tty=tty, interval=0)
        progress.start("test", [("INBOX", 2, 200)])
        progress.begin_folder("INBOX", 2, 200)
        progress.done(1, 100)
        progress.failed("x", "too big", 100)
        progress.end_folder()
        summary = progress.finish()
        text = out.getvalue()
        assert ("\x1b[K" in text and "ETA" in text) is tty
        assert ("progress: INBOX" in text) is not tty
        assert "1 copied, 0 skipped (already there), 1 failed" in text and "INBOX: x: too big" in text
        assert (summary.done, summary.failed) == (1, 1)
