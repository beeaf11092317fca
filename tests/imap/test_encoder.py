"""IMAP response encoder: exact bytes, and a real client parser (imapclient) agrees."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from imapclient.response_parser import parse_fetch_response  # type: ignore[import-untyped]

from protocols.imap.encoder import (
    QUOTED_MAX,
    Atom,
    Item,
    Raw,
    continuation,
    continuation_data,
    esearch_response,
    fetch_response,
    format_internaldate,
    render,
    render_astring,
    render_bodystructure,
    render_envelope,
    render_flags,
    render_literal,
    render_mailbox,
    render_nstring,
    render_string,
    response_code,
    tagged,
    untagged,
    untagged_status,
)
from protocols.imap.grammar import Reader
from protocols.imap.sequence import STAR, SequenceSet


def client_parse(response: bytes) -> dict[bytes, Any]:
    """Parse ``* n FETCH (...)`` the way imapclient does after imaplib read it."""
    assert response.startswith(b"* ") and response.endswith(b"\r\n")
    # imaplib hands over "12 (...)" without "* " and the FETCH keyword.
    seq, keyword, body = response[2:-2].split(b" ", 2)
    assert keyword == b"FETCH"
    body = seq + b" " + body
    chunks: list[Any] = []
    pos = 0
    for match in re.finditer(rb"\{(\d+)\}\r\n", body):
        if match.start() < pos:
            continue
        size = int(match.group(1))
        chunks.append((body[pos : match.start()] + match.group()[:-2], body[match.end() : match.end() + size]))
        pos = match.end() + size
    if pos < len(body) or not chunks:
        chunks.append(body[pos:])
    parsed = parse_fetch_response(chunks, normalise_times=False, uid_is_key=False)
    (result,) = parsed.values()
    return dict(result)


# -- scalars -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (None, b"NIL"),
        (0, b"0"),
        (4294967295, b"4294967295"),
        ("hello world", b'"hello world"'),
        ("NIL", b'"NIL"'),
        ("", b'""'),
        ('say "hi" \\o/', b'"say \\"hi\\" \\\\o/"'),
        ("Entw\xfcrfe", b"{9}\r\nEntw\xc3\xbcrfe"),
        (b"two\r\nlines", b"{10}\r\ntwo\r\nlines"),
        (b"nul\0", b"{4}\r\nnul\0"),
        (Atom("EXISTS"), b"EXISTS"),
        (Raw(b"(\\Seen)"), b"(\\Seen)"),
        (SequenceSet(((1, 3), (5, STAR))), b"1:3,5:*"),
        ([1, "a", None, [Atom("X")]], b'(1 "a" NIL (X))'),
        ((), b"()"),
    ],
)
def test_render_picks_the_right_form(value: Item, wire: bytes) -> None:
    assert render(value) == wire


def test_long_strings_become_literals() -> None:
    assert render_string("x" * QUOTED_MAX).startswith(b'"')
    assert render_string("x" * (QUOTED_MAX + 1)) == b"{%d}\r\n" % (QUOTED_MAX + 1) + b"x" * (QUOTED_MAX + 1)
    assert render_literal("short") == b"{5}\r\nshort"


def test_render_refuses_values_without_an_imap_form() -> None:
    with pytest.raises(TypeError):
        render(True)
    with pytest.raises(ValueError):
        render(-1)


@pytest.mark.parametrize(
    ("value", "wire"),
    [("INBOX", b"INBOX"), ("nil", b'"nil"'), ("a b", b'"a b"'), ("x]", b"x]"), ("%", b'"%"'), ("", b'""')],
)
def test_astring_uses_an_atom_only_when_safe(value: str, wire: bytes) -> None:
    assert render_astring(value) == wire


def test_mailbox_names_go_out_in_modified_utf7() -> None:
    assert render_mailbox("Entw\xfcrfe") == b"Entw&APw-rfe"
    assert render_mailbox("Tom & Jerry") == b'"Tom &- Jerry"'


@pytest.mark.slow
@given(st.one_of(st.binary(), st.text()))
def test_every_string_reads_back_unchanged(value: bytes | str) -> None:
    raw = value.encode() if isinstance(value, str) else value
    for rendered in (render_string(value), render_astring(value), render_nstring(value)):
        reader = Reader(rendered + b"\r\n", len(rendered) + 2)
        assert reader.astring() == raw
        reader.eol()


# -- flags, dates -------------------------------------------------------------------


def test_render_flags() -> None:
    assert render_flags(["\\Seen", "$Forwarded"]) == b"(\\Seen $Forwarded)"
    assert render_flags([]) == b"()"


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (
            dt.datetime(1996, 7, 17, 2, 44, 25, tzinfo=dt.timezone(dt.timedelta(hours=-7))),
            b'"17-Jul-1996 02:44:25 -0700"',
        ),
        (
            dt.datetime(2024, 1, 5, 23, 0, 9, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
            b'" 5-Jan-2024 23:00:09 +0530"',
        ),
        (dt.datetime(2024, 12, 31, 0, 0, 0), b'"31-Dec-2024 00:00:00 +0000"'),
    ],
)
def test_format_internaldate(value: dt.datetime, wire: bytes) -> None:
    assert format_internaldate(value) == wire


# -- envelope ---------------------------------------------------------------------

ENVELOPE = {
    "date": "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
    "subject": "IMAP4rev1 WG mtg summary and minutes",
    "from": [["Terry Gray", None, "gray", "cac.washington.edu"]],
    "sender": [["Terry Gray", None, "gray", "cac.washington.edu"]],
    "reply_to": [["Terry Gray", None, "gray", "cac.washington.edu"]],
    "to": [[None, None, "imap", "cac.washington.edu"]],
    "cc": [[None, None, "minutes", "CNRI.Reston.VA.US"], ["John Klensin", None, "KLENSIN", "MIT.EDU"]],
    "bcc": None,
    "in_reply_to": None,
    "message_id": "<B27397-0100000@cac.washington.edu>",
}


def test_envelope_matches_the_rfc_3501_example() -> None:
    # RFC 3501 section 8, the FETCH FULL example.
    assert render_envelope(ENVELOPE) == (
        b'("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) '
        b'((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL '
        b'"<B27397-0100000@cac.washington.edu>")'
    )


def test_envelope_defaults_sender_and_reply_to_and_sends_empty_lists_as_nil() -> None:
    env = {"subject": "Gr\xfc\xdfe", "from": [["Al", None, "al", "example.test"]], "to": [], "sender": None}
    wire = render_envelope(env)
    assert wire.startswith(b'(NIL {7}\r\nGr\xc3\xbc\xc3\x9fe (("Al" NIL "al" "example.test")) (("Al" ')
    envelope = client_parse(b"* 1 FETCH (ENVELOPE " + wire + b")\r\n")[b"ENVELOPE"]
    assert envelope.subject == "Gr\xfc\xdfe".encode()
    assert envelope.sender == envelope.reply_to == envelope.from_
    assert envelope.to is None


# -- body structure -------------------------------------------------------------------

TEXT_PART = {
    "type": "text",
    "subtype": "plain",
    "params": [["charset", "us-ascii"]],
    "id": None,
    "description": None,
    "encoding": "7BIT",
    "size": 3028,
    "lines": 92,
    "md5": None,
    "disposition": None,
    "language": None,
    "location": None,
    "offsets": [0, 100, 3128],
}
ATTACHMENT = {
    "type": "application",
    "subtype": "pdf",
    "params": [],
    "id": "<part2@x>",
    "description": "Report",
    "encoding": "BASE64",
    "size": 4554,
    "lines": None,
    "md5": "Q2hlY2sgSW50ZWdyaXR5IQ==",
    "disposition": ["attachment", [["filename", "r\xe9sum\xe9.pdf"]]],
    "language": ["en", "de"],
    "location": "http://example.test/r.pdf",
    "offsets": [0, 0, 0],
}
INNER = {
    "type": "message",
    "subtype": "rfc822",
    "params": [],
    "id": None,
    "description": None,
    "encoding": "7BIT",
    "size": 500,
    "lines": 12,
    "md5": None,
    "disposition": None,
    "language": None,
    "location": None,
    "offsets": [0, 0, 0],
    "envelope": {"subject": "inner", "from": [[None, None, "b", "x.test"]]},
    "message": dict(TEXT_PART, size=10, lines=1),
}
MIXED = {
    "type": "multipart",
    "subtype": "mixed",
    "params": [["boundary", "xyz"]],
    "id": None,
    "description": None,
    "encoding": "7BIT",
    "size": 9000,
    "lines": None,
    "md5": None,
    "disposition": None,
    "language": None,
    "location": None,
    "offsets": [0, 0, 0],
    "parts": [TEXT_PART, ATTACHMENT, INNER],
}

STRUCTURES = [
    (TEXT_PART, False, b'("TEXT" "PLAIN" ("charset" "us-ascii") NIL NIL "7BIT" 3028 92)'),
    (TEXT_PART, True, b'("TEXT" "PLAIN" ("charset" "us-ascii") NIL NIL "7BIT" 3028 92 NIL NIL NIL NIL)'),
    (
        ATTACHMENT,
        True,
        b'("APPLICATION" "PDF" NIL "<part2@x>" "Report" "BASE64" 4554 "Q2hlY2sgSW50ZWdyaXR5IQ==" '
        b'("ATTACHMENT" ("filename" {12}\r\nr\xc3\xa9sum\xc3\xa9.pdf)) ("en" "de") "http://example.test/r.pdf")',
    ),
    (ATTACHMENT, False, b'("APPLICATION" "PDF" NIL "<part2@x>" "Report" "BASE64" 4554)'),
    (
        INNER,
        False,
        b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 500 (NIL "inner" ((NIL NIL "b" "x.test")) ((NIL NIL "b" "x.test")) '
        b'((NIL NIL "b" "x.test")) NIL NIL NIL NIL NIL) ("TEXT" "PLAIN" ("charset" "us-ascii") NIL NIL "7BIT" 10 1) 12)',
    ),
    (
        {
            "type": "multipart",
            "subtype": "alternative",
            "params": [],
            "parts": [TEXT_PART, dict(TEXT_PART, subtype="html")],
        },
        False,
        b'(("TEXT" "PLAIN" ("charset" "us-ascii") NIL NIL "7BIT" 3028 92)'
        b'("TEXT" "HTML" ("charset" "us-ascii") NIL NIL "7BIT" 3028 92) "ALTERNATIVE")',
    ),
    (
        {"type": "multipart", "subtype": "mixed", "params": [["boundary", "b"]], "parts": [], "language": ["en"]},
        True,
        b'(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL) "MIXED" ("boundary" "b") NIL ("en") NIL)',
    ),
    (
        {"type": "multipart", "subtype": "mixed", "parts": []},
        False,
        b'(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0) "MIXED")',
    ),
]


@pytest.mark.parametrize(("part", "extended", "wire"), STRUCTURES)
def test_bodystructure_renders_the_rfc_3501_grammar(part: dict[str, Any], extended: bool, wire: bytes) -> None:
    assert render_bodystructure(part, extended) == wire


@pytest.mark.parametrize("extended", [False, True])
def test_a_real_client_parser_reads_our_bodystructure(extended: bool) -> None:
    name = b"BODYSTRUCTURE" if extended else b"BODY"
    parsed = client_parse(b"* 1 FETCH (" + name + b" " + render_bodystructure(MIXED, extended) + b")\r\n")[name]
    assert parsed.is_multipart
    parts, subtype = parsed[0], parsed[1]
    assert subtype == b"MIXED"
    assert [p[:2] for p in parts] == [(b"TEXT", b"PLAIN"), (b"APPLICATION", b"PDF"), (b"MESSAGE", b"RFC822")]
    if extended:
        assert parsed[2] == (b"boundary", b"xyz")
        assert parts[1][8] == (b"ATTACHMENT", (b"filename", "r\xe9sum\xe9.pdf".encode()))


# -- response lines -------------------------------------------------------------------------


def test_status_lines() -> None:
    assert tagged(b"a1", "OK", None, "LOGIN completed") == b"a1 OK LOGIN completed\r\n"
    assert tagged(b"a1", "NO", b"BADCHARSET (UTF-8 US-ASCII)", "No") == b"a1 NO [BADCHARSET (UTF-8 US-ASCII)] No\r\n"
    assert untagged_status("OK", response_code("UIDVALIDITY", 3857529045), "UIDs valid") == (
        b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
    )
    assert untagged_status("BYE", None, "") == b"* BYE Bye\r\n"


def test_status_text_cannot_smuggle_a_line_end_or_a_code() -> None:
    assert tagged(b"a1", "BAD", None, "oops\r\n* OK fake") == b"a1 BAD oops??* OK fake\r\n"
    assert tagged(b"a1", "OK", None, "[ALERT] x") == b"a1 OK  [ALERT] x\r\n"
    assert tagged(b"a1", "OK", None, "caf\xe9") == b"a1 OK caf?\r\n"
    with pytest.raises(ValueError):
        tagged(b"a1", "OK", "X\r\nY", "text")


def test_untagged_data_and_continuations() -> None:
    assert untagged(172, Atom("EXISTS")) == b"* 172 EXISTS\r\n"
    assert untagged(Atom("FLAGS"), Raw(render_flags(["\\Seen"]))) == b"* FLAGS (\\Seen)\r\n"
    assert untagged(Atom("LIST"), Raw(b"(\\HasNoChildren)"), "/", Raw(render_mailbox("Entw\xfcrfe"))) == (
        b'* LIST (\\HasNoChildren) "/" Entw&APw-rfe\r\n'
    )
    assert continuation() == b"+ Ready\r\n"
    assert continuation_data(b"\0") == b"+ AA==\r\n"


def test_fetch_response_is_read_back_by_a_real_client() -> None:
    when = dt.datetime(1996, 7, 17, 2, 44, 25, tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    wire = fetch_response(
        12,
        [
            (b"UID", b"4827"),
            (b"FLAGS", render_flags(["\\Seen", "$Junk"])),
            (b"INTERNALDATE", format_internaldate(when)),
            (b"BODY[HEADER.FIELDS (FROM)]<0>", render_literal(b"From: a@b\r\n\r\n")),
            (b"ENVELOPE", render_envelope(ENVELOPE)),
        ],
    )
    assert wire.startswith(b"* 12 FETCH (UID 4827 FLAGS (\\Seen $Junk) INTERNALDATE ")
    parsed = client_parse(wire)
    assert parsed[b"UID"] == 4827
    assert parsed[b"FLAGS"] == (b"\\Seen", b"$Junk")
    assert parsed[b"INTERNALDATE"] == when
    assert parsed[b"BODY[HEADER.FIELDS (FROM)]<0>"] == b"From: a@b\r\n\r\n"
    assert parsed[b"ENVELOPE"].cc[1].name == b"John Klensin"


def test_esearch_response() -> None:
    assert esearch_response(b"a1", uid=True, min=2, count=3, all=SequenceSet.from_ints([2, 3, 9])) == (
        b'* ESEARCH (TAG "a1") UID MIN 2 COUNT 3 ALL 2:3,9\r\n'
    )
    assert esearch_response(b"a2", uid=False, count=0, all=SequenceSet(())) == b'* ESEARCH (TAG "a2") COUNT 0\r\n'
