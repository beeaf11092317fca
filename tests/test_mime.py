"""mailboxes.mime: the facts stored at delivery for FETCH, SEARCH and the webmail.

Pure unit tests, no database:
    .venv/bin/python -m pytest -q tests/test_mime.py -p no:django
"""

from __future__ import annotations

import base64
import json
import random
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailboxes.mime import (
    MAX_DEPTH,
    MAX_PARTS,
    MAX_TEXT,
    ParsedMessage,
    analyze,
    decode_header_value,
    decoded_part_body,
    part_at,
    part_text,
)
from mailboxes.mime_addresses import MISSING_HOST, parse_address_list


def crlf(text: str) -> bytes:
    """A dedented message with CRLF line endings."""
    return textwrap.dedent(text).lstrip("\n").replace("\n", "\r\n").encode("utf-8")


def walk(part: dict[str, Any]) -> list[dict[str, Any]]:
    out, stack = [], [part]
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(p.get("parts") or [])
        if "message" in p:
            stack.append(p["message"])
    return out


def check_invariants(raw: bytes, parsed: ParsedMessage) -> None:
    """What every reader of the stored facts relies on, whatever the input."""
    assert isinstance(parsed, ParsedMessage)
    # Stored as JSON: no tuples or other types that would not come back equal.
    assert json.loads(json.dumps(parsed.structure)) == parsed.structure
    assert json.loads(json.dumps(parsed.envelope)) == parsed.envelope
    root = parsed.structure
    assert root["offsets"] == [0, parsed.header_bytes, len(raw)]
    stack = [(root, 0, len(raw))]
    while stack:
        part, lo, hi = stack.pop()
        h, b, e = part["offsets"]
        assert lo <= h <= b <= e <= hi, (part["type"], part["offsets"], lo, hi)
        assert part["size"] == e - b
        assert part["encoding"] == part["encoding"].upper() and part["encoding"]
        assert part["type"] == part["type"].lower() and part["subtype"] == part["subtype"].lower()
        if part["type"] == "multipart":
            assert part["parts"], "a multipart always has a part (BODYSTRUCTURE needs one)"
            previous_end = b
            for child in part["parts"]:
                assert child["offsets"][0] >= previous_end
                previous_end = child["offsets"][2]
                stack.append((child, b, e))
        else:
            assert not part.get("parts")
        if (part["type"], part["subtype"]) == ("message", "rfc822"):
            assert part["message"]["offsets"][0] == b and part["message"]["offsets"][2] == e
            assert set(part["envelope"]) == set(parsed.envelope)
            stack.append((part["message"], b, e))
        if part["type"] == "text" or (part["type"], part["subtype"]) == ("message", "rfc822"):
            assert isinstance(part["lines"], int)
        else:
            assert part["lines"] is None
    assert len(parsed.text) <= MAX_TEXT
    assert len(parsed.preview) <= 200


SIMPLE = crlf("""
    Return-Path: <alice@example.test>
    From: Alice Example <alice@example.test>
    To: bob@example.test, "Carol, C." <carol@example.test>
    Cc: =?ISO-8859-1?Q?Andr=E9?= <andre@example.test>
    Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=
     aus Berlin
    Date: Tue, 02 Jan 2024 10:30:00 +0100
    Message-ID: <m1@example.test>
    In-Reply-To: <m0@example.test>
    References: <a@example.test>
     <m0@example.test>
    MIME-Version: 1.0
    Content-Type: text/plain; charset="utf-8"

    Hello Bob,

      how are   you?
    """)


def test_simple_text_message_has_every_fact() -> None:
    p = analyze(SIMPLE)
    check_invariants(SIMPLE, p)
    assert p.subject == "Grüße aus Berlin"
    assert p.from_ == "Alice Example <alice@example.test>"
    assert p.to == 'bob@example.test, "Carol, C." <carol@example.test>'
    assert p.cc == "André <andre@example.test>"
    assert p.bcc == ""
    assert p.date == datetime(2024, 1, 2, 9, 30, tzinfo=UTC)
    assert p.date is not None and p.date.utcoffset() == timedelta(hours=1)
    assert p.message_id == "<m1@example.test>"
    assert p.in_reply_to == "<m0@example.test>"
    assert p.references == "<a@example.test> <m0@example.test>"
    assert p.text == "Hello Bob,\r\n\r\n  how are   you?\r\n"
    assert p.preview == "Hello Bob, how are you?"
    assert not p.has_attachments
    assert SIMPLE[p.header_bytes - 4 : p.header_bytes] == b"\r\n\r\n"
    assert SIMPLE[p.header_bytes :] == b"Hello Bob,\r\n\r\n  how are   you?\r\n"
    s = p.structure
    assert (s["type"], s["subtype"], s["params"]) == ("text", "plain", [["charset", "utf-8"]])
    assert (s["encoding"], s["lines"], s["size"]) == ("7BIT", 3, len(SIMPLE) - p.header_bytes)
    assert s["disposition"] is None and s["filename"] is None and "parts" not in s


def test_envelope_holds_raw_unfolded_values_as_imap_wants() -> None:
    env = analyze(SIMPLE).envelope
    assert env == {
        "date": "Tue, 02 Jan 2024 10:30:00 +0100",
        "subject": "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus Berlin",
        "from": [["Alice Example", None, "alice", "example.test"]],
        "sender": [["Alice Example", None, "alice", "example.test"]],
        "reply_to": [["Alice Example", None, "alice", "example.test"]],
        "to": [[None, None, "bob", "example.test"], ["Carol, C.", None, "carol", "example.test"]],
        "cc": [["=?ISO-8859-1?Q?Andr=E9?=", None, "andre", "example.test"]],
        "bcc": None,
        "in_reply_to": "<m0@example.test>",
        "message_id": "<m1@example.test>",
    }


ATTACHMENT = random.Random(7).randbytes(3000)


def mixed_message() -> bytes:
    b64 = base64.encodebytes(ATTACHMENT).replace(b"\n", b"\r\n")
    return (
        crlf("""
        From: a@example.test
        Subject: report
        Content-Type: multipart/mixed; boundary="==b1=="

        This is the preamble.
        --==b1==
        Content-Type: text/plain; charset=us-ascii

        See attached.
        --==b1==
        Content-Type: application/octet-stream; name="data.bin"
        Content-Disposition: attachment; filename="data.bin"
        Content-Transfer-Encoding: base64

        """)
        + b64
        + crlf("""
        --==b1==--
        epilogue
        """)
    )


def test_multipart_offsets_slice_exactly_the_mime_headers_and_bodies() -> None:
    raw = mixed_message()
    p = analyze(raw)
    check_invariants(raw, p)
    text, att = p.structure["parts"]
    h, b, e = text["offsets"]
    assert raw[h:b] == b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
    assert raw[b:e] == b"See attached."
    assert raw[e : e + 10] == b"\r\n--==b1==", "the CRLF before a delimiter belongs to it"
    h, b, e = att["offsets"]
    assert raw[h:b].startswith(b"Content-Type: application/octet-stream") and raw[h:b].endswith(b"base64\r\n\r\n")
    assert raw[b:e] == base64.encodebytes(ATTACHMENT).replace(b"\n", b"\r\n")[:-2]
    assert text["lines"] == 1 and att["lines"] is None


def test_base64_attachment_decodes_back_to_the_original_bytes() -> None:
    raw = mixed_message()
    p = analyze(raw)
    att = part_at(p.structure, [2])
    assert att is not None
    assert decoded_part_body(raw, att) == ATTACHMENT
    assert (att["type"], att["subtype"], att["encoding"]) == ("application", "octet-stream", "BASE64")
    assert att["disposition"] == ["attachment", [["filename", "data.bin"]]]
    assert att["filename"] == "data.bin"
    assert att["params"] == [["name", "data.bin"]]
    assert p.has_attachments
    assert p.text == "See attached."
    assert p.structure["offsets"][1] == p.header_bytes
    assert raw[p.header_bytes :].startswith(b"This is the preamble.")


NESTED = crlf("""
    From: a@example.test
    Content-Type: multipart/mixed; boundary=outer

    --outer
    Content-Type: multipart/alternative; boundary=inner

    --inner
    Content-Type: text/plain; charset=utf-8

    Plain body
    --inner
    Content-Type: text/html; charset=utf-8

    <p>HTML <b>body</b></p>
    --inner--

    --outer
    Content-Type: image/png; name=pic.png
    Content-Disposition: inline
    Content-Transfer-Encoding: base64

    iVBORw0KGgo=
    --outer--
    """)


@pytest.mark.parametrize(
    "section, kind, body",
    [
        ([], "multipart/mixed", None),
        ([1], "multipart/alternative", None),
        ([1, 1], "text/plain", b"Plain body"),
        ([1, 2], "text/html", b"<p>HTML <b>body</b></p>"),
        ([2], "image/png", b"iVBORw0KGgo="),
        ([3], None, None),
        ([1, 3], None, None),
        ([2, 1], None, None),
        ([1, 1, 1], None, None),
        ([0], None, None),
    ],
)
def test_alternative_inside_mixed_is_numbered_like_rfc3501(
    section: list[int], kind: str | None, body: bytes | None
) -> None:
    p = analyze(NESTED)
    check_invariants(NESTED, p)
    part = part_at(p.structure, section)
    if kind is None:
        assert part is None
        return
    assert part is not None and f"{part['type']}/{part['subtype']}" == kind
    if body is not None:
        _h, b, e = part["offsets"]
        assert NESTED[b:e] == body


def test_search_text_takes_the_plain_alternative_and_inline_image_with_name_is_an_attachment() -> None:
    p = analyze(NESTED)
    assert p.text == "Plain body"
    assert p.preview == "Plain body"
    assert p.has_attachments


FORWARD = crlf("""
    From: bob@example.test
    To: alice@example.test
    Subject: Fwd: lunch
    Content-Type: multipart/mixed; boundary=XX

    --XX
    Content-Type: text/plain

    See below.
    --XX
    Content-Type: message/rfc822

    From: Carol <carol@example.test>
    To: bob@example.test
    Subject: lunch
    Date: Wed, 3 Jan 2024 12:00:00 -0500
    Message-ID: <inner@example.test>
    Content-Type: multipart/mixed; boundary=YY

    --YY
    Content-Type: text/plain

    Noon?
    --YY
    Content-Type: text/calendar; name=invite.ics
    Content-Disposition: attachment; filename=invite.ics

    BEGIN:VCALENDAR
    --YY--

    --XX--
    """)


@pytest.mark.parametrize(
    "section, kind",
    [([2], "message/rfc822"), ([2, 1], "text/plain"), ([2, 2], "text/calendar"), ([2, 3], None), ([3], None)],
)
def test_numbers_after_a_message_part_go_into_the_embedded_message(section: list[int], kind: str | None) -> None:
    p = analyze(FORWARD)
    check_invariants(FORWARD, p)
    part = part_at(p.structure, section)
    assert (f"{part['type']}/{part['subtype']}" if part else None) == kind


def test_embedded_message_has_its_own_envelope_header_and_lines() -> None:
    p = analyze(FORWARD)
    rfc822 = part_at(p.structure, [2])
    assert rfc822 is not None
    env = rfc822["envelope"]
    assert env["subject"] == "lunch"
    assert env["from"] == [["Carol", None, "carol", "example.test"]]
    assert env["sender"] == env["reply_to"] == env["from"]
    assert env["message_id"] == "<inner@example.test>"
    assert env["date"] == "Wed, 3 Jan 2024 12:00:00 -0500"
    inner = rfc822["message"]
    assert inner["type"] == "multipart"
    h, b, _e = inner["offsets"]
    header = FORWARD[h:b]  # what BODY[2.HEADER] returns
    assert header.startswith(b"From: Carol") and header.endswith(b"boundary=YY\r\n\r\n")
    _h, b, e = rfc822["offsets"]
    assert rfc822["lines"] == FORWARD[b:e].count(b"\n") == 17
    assert FORWARD[b:e].endswith(b"--YY--\r\n")
    assert p.text == "See below.\nNoon?\nBEGIN:VCALENDAR"
    assert p.has_attachments


def test_in_a_single_part_message_part_one_is_the_body() -> None:
    p = analyze(SIMPLE)
    assert part_at(p.structure, []) is p.structure
    assert part_at(p.structure, [1]) is p.structure
    assert part_at(p.structure, [2]) is None
    assert part_at(p.structure, [1, 1]) is None


def test_a_top_level_message_rfc822_body_is_part_one_and_its_parts_follow() -> None:
    raw = crlf("""
        Subject: bounce
        Content-Type: message/rfc822

        Subject: original

        original text
        """)
    p = analyze(raw)
    check_invariants(raw, p)
    assert part_at(p.structure, [1]) is p.structure
    inner = part_at(p.structure, [1, 1])
    assert inner is not None and inner is p.structure["message"]
    assert p.structure["envelope"]["subject"] == "original"
    assert p.text == "original text\r\n"


@pytest.mark.parametrize(
    "encoded, decoded",
    [
        ("=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=", "Grüße aus Köln"),
        ("=?utf-8?b?R3LDvMOfZQ==?=", "Grüße"),
        ("=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"),
        ("=?iso-8859-1?b?QW5kcuk=?=", "André"),
        ("=?utf-8?q?a?= =?utf-8?q?b?=", "ab"),  # RFC 2047 6.2: space between words goes
        ("=?utf-8?q?a?=\r\n =?utf-8?q?b?=", "ab"),
        ("=?utf-8?q?a?= plain =?utf-8?q?b?=", "a plain b"),
        ("=?utf-8?b?5pel?= =?utf-8?b?5pys?=", "日本"),
        ("=?utf-8?b?5pc=?= =?utf-8?b?pQ==?=", "日"),  # a character split across two words
        ("=?UTF-8*en?Q?hi?=", "hi"),  # RFC 2231 language suffix
        ("=?x-bogus?q?caf=C3=A9?=", "café"),  # unknown charset: UTF-8
        ("=?utf-8?b?!!QU*JD?=", "ABC"),  # junk in base64 is skipped
        ("=?utf-8?q?=ZZ?=", "=ZZ"),
        ("no encoding here", "no encoding here"),
        ("=?utf-8?q?unterminated", "=?utf-8?q?unterminated"),
        ("", ""),
    ],
)
def test_rfc2047_header_values_decode_tolerantly(encoded: str, decoded: str) -> None:
    assert decode_header_value(encoded) == decoded


def test_decoded_subject_and_from_in_a_message() -> None:
    raw = crlf("""
        From: =?utf-8?B?SsO2cmc=?= <jorg@example.test>
        Subject: =?iso-8859-1?q?=A1Hola!?= =?utf-8?b?8J+Ygg==?=

        x
        """)
    p = analyze(raw)
    assert p.subject == "¡Hola!😂"
    assert p.from_ == "Jörg <jorg@example.test>"
    assert p.envelope["from"] == [["=?utf-8?B?SsO2cmc=?=", None, "jorg", "example.test"]]


@pytest.mark.parametrize(
    "headers, filename, params",
    [
        (
            "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*=utf-8''%E2%82%AC%20rates.pdf",
            "€ rates.pdf",
            [],
        ),
        (
            "Content-Type: application/pdf; name*0*=iso-8859-1''Gr%FC; name*1=\"ne Liste\"; name*2*=.pdf",
            "Grüne Liste.pdf",
            [["name", "Grüne Liste.pdf"]],
        ),
        (
            'Content-Type: application/pdf; name="=?utf-8?q?r=C3=A9sum=C3=A9.pdf?="',
            "résumé.pdf",
            [["name", "=?utf-8?q?r=C3=A9sum=C3=A9.pdf?="]],
        ),
        (
            'Content-Type: application/pdf; name="plain.pdf"; name*=utf-8\'\'better.pdf',
            "better.pdf",
            [["name", "better.pdf"]],
        ),
        ('Content-Type: application/pdf; name="../../etc/passwd"', "passwd", [["name", "../../etc/passwd"]]),
        (
            'Content-Type: application/pdf; NAME="a;b \\"c\\".pdf"; X=1',
            'a;b "c".pdf',
            [["name", 'a;b "c".pdf'], ["x", "1"]],
        ),
    ],
)
def test_rfc2231_and_quoted_parameters_give_the_filename(headers: str, filename: str, params: list[list[str]]) -> None:
    raw = headers.encode("utf-8") + b"\r\n\r\nbody"
    p = analyze(raw)
    assert p.structure["filename"] == filename
    assert p.structure["params"] == params
    assert p.has_attachments


@pytest.mark.parametrize(
    "value, addresses",
    [
        ("a@example.test", [[None, None, "a", "example.test"]]),
        ("A <a@example.test>", [["A", None, "a", "example.test"]]),
        ('"Doe, John" <j@x.test>', [["Doe, John", None, "j", "x.test"]]),
        ('"say \\"hi\\"" <h@x.test>', [['say "hi"', None, "h", "x.test"]]),
        ("John Q. Public <jqp@x.test>", [["John Q. Public", None, "jqp", "x.test"]]),
        ("j@x.test (Old Style)", [["Old Style", None, "j", "x.test"]]),
        ("<@relay.test,@hop.test:u@x.test>", [[None, "@relay.test,@hop.test", "u", "x.test"]]),
        ('"quoted local"@x.test', [[None, None, '"quoted local"', "x.test"]]),
        ("u@[192.0.2.1]", [[None, None, "u", "[192.0.2.1]"]]),
        ("nohost", [[None, None, "nohost", MISSING_HOST]]),
        ("a@x.test,, b@y.test", [[None, None, "a", "x.test"], [None, None, "b", "y.test"]]),
        ("undisclosed-recipients:;", [[None, None, "undisclosed-recipients", None], [None, None, None, None]]),
        (
            "Team: a@x.test, B <b@y.test>; c@z.test",
            [
                [None, None, "Team", None],
                [None, None, "a", "x.test"],
                ["B", None, "b", "y.test"],
                [None, None, None, None],
                [None, None, "c", "z.test"],
            ],
        ),
        ("Open: a@x.test", [[None, None, "Open", None], [None, None, "a", "x.test"], [None, None, None, None]]),
        ("", None),
        ("  ,  ", None),
        ("(only a comment)", None),
        ("Unclosed <a@x.test, b@y.test", [["Unclosed", None, "a", "x.test"], [None, None, "b", "y.test"]]),
    ],
)
def test_address_lists_parse_into_imap_envelope_addresses(value: str, addresses: list[list[str | None]] | None) -> None:
    assert parse_address_list(value) == addresses


def test_group_syntax_in_a_message_envelope_and_display() -> None:
    raw = crlf("""
        From: Alice <alice@example.test>
        To: undisclosed-recipients:;
        Cc: Friends: bob@example.test, =?utf-8?q?Ren=C3=A9?= <rene@example.test>;

        x
        """)
    p = analyze(raw)
    assert p.envelope["to"] == [[None, None, "undisclosed-recipients", None], [None, None, None, None]]
    assert p.envelope["cc"][0] == [None, None, "Friends", None]
    assert p.envelope["cc"][-1] == [None, None, None, None]
    assert p.to == "undisclosed-recipients: ;"
    assert p.cc == "Friends: bob@example.test, René <rene@example.test>;"


@pytest.mark.parametrize(
    "extra, sender, reply_to",
    [
        ("", "from", "from"),
        ("Sender: \r\nReply-To: \r\n", "from", "from"),  # RFC 3501 7.4.2: present but empty too
        ("Sender: s@x.test\r\nReply-To: r@x.test\r\n", [[None, None, "s", "x.test"]], [[None, None, "r", "x.test"]]),
    ],
)
def test_sender_and_reply_to_default_to_from(extra: str, sender: Any, reply_to: Any) -> None:
    raw = b"From: f@x.test\r\n" + extra.encode() + b"\r\nbody"
    env = analyze(raw).envelope
    assert env["sender"] == (env["from"] if sender == "from" else sender)
    assert env["reply_to"] == (env["from"] if reply_to == "from" else reply_to)


def test_absent_headers_give_none_in_the_envelope_and_empty_strings_elsewhere() -> None:
    p = analyze(b"\r\nbody only")
    assert all(value is None for value in p.envelope.values())
    assert (p.subject, p.from_, p.message_id, p.date, p.header_bytes) == ("", "", "", None, 2)
    assert p.structure["params"] == [["charset", "us-ascii"]]  # RFC 2045 5.2 default
    assert p.text == "body only"


def test_bare_lf_message_is_parsed_like_crlf() -> None:
    raw = NESTED.replace(b"\r\n", b"\n")
    p = analyze(raw)
    check_invariants(raw, p)
    plain = part_at(p.structure, [1, 1])
    html_part = part_at(p.structure, [1, 2])
    assert plain is not None and html_part is not None
    h, b, e = plain["offsets"]
    assert raw[h:b] == b"Content-Type: text/plain; charset=utf-8\n\n"
    assert raw[b:e] == b"Plain body"
    assert raw[html_part["offsets"][1] : html_part["offsets"][2]] == b"<p>HTML <b>body</b></p>"
    assert raw[: p.header_bytes].endswith(b"outer\n\n")


def test_mixed_line_endings_split_headers_at_the_first_empty_line() -> None:
    raw = b"Subject: mixed\r\nContent-Type: multipart/mixed; boundary=m\n\r\n--m\nContent-Type: text/plain\r\n\nhi\r\n--m--\n"
    p = analyze(raw)
    check_invariants(raw, p)
    assert p.subject == "mixed"
    part = p.structure["parts"][0]
    assert raw[part["offsets"][1] : part["offsets"][2]] == b"hi"


@pytest.mark.parametrize(
    "raw, header_bytes",
    [
        (b"Subject: only headers\r\nFrom: a@x.test", None),
        (b"Subject: only headers\r\n", None),
        (b"", 0),
        (b"\r\n", 2),
        (b"\n", 1),
        (b"\r\n\r\n", 2),
        (b"no colon, no blank line", None),
    ],
)
def test_without_a_blank_line_everything_is_header(raw: bytes, header_bytes: int | None) -> None:
    p = analyze(raw)
    check_invariants(raw, p)
    assert p.header_bytes == (len(raw) if header_bytes is None else header_bytes)
    if header_bytes is None:
        assert p.structure["size"] == 0 and raw[p.header_bytes :] == b""


def test_message_without_blank_line_still_yields_its_headers() -> None:
    p = analyze(b"Subject: only headers\r\nFrom: a@x.test")
    assert (p.subject, p.from_) == ("only headers", "a@x.test")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Tue, 02 Jan 2024 10:30:00 +0100", datetime(2024, 1, 2, 9, 30, tzinfo=UTC)),
        ("2 Jan 2024 10:30 GMT", datetime(2024, 1, 2, 10, 30, tzinfo=UTC)),
        ("Tue, 02 Jan 2024 10:30:00 -0000", datetime(2024, 1, 2, 10, 30, tzinfo=UTC)),
        ("Tue, 02 Jan 2024 10:30:00 +9999", None),
        ("yesterday", None),
        ("Tue, 99 Foo 2024 99:99:99 +0000", None),
        ("", None),
    ],
)
def test_date_is_timezone_aware_or_none(value: str, expected: datetime | None) -> None:
    date = analyze(f"Date: {value}\r\n\r\nx".encode()).date
    assert date == expected
    assert date is None or date.tzinfo is not None


def test_mime_fields_are_recorded_for_bodystructure() -> None:
    raw = crlf("""
        Content-Type: TEXT/Plain; Charset="ISO-8859-1"; format=flowed
        Content-Transfer-Encoding: quoted-printable
        Content-ID: <c1@example.test>
        Content-Description: A note
        Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==
        Content-Language: en, de
        Content-Location: http://example.test/note.txt
        Content-Disposition: INLINE

        caf=E9 au lait=
         ok=3D
        """)
    p = analyze(raw)
    s = p.structure
    assert (s["type"], s["subtype"]) == ("text", "plain")
    assert s["params"] == [["charset", "ISO-8859-1"], ["format", "flowed"]]
    assert s["encoding"] == "QUOTED-PRINTABLE"
    assert s["id"] == "<c1@example.test>"
    assert s["description"] == "A note"
    assert s["md5"] == "Q2hlY2sgSW50ZWdyaXR5IQ=="
    assert s["language"] == ["en", "de"]
    assert s["location"] == "http://example.test/note.txt"
    assert s["disposition"] == ["inline", []]
    assert decoded_part_body(raw, s) == b"caf\xe9 au lait ok=\r\n"
    assert part_text(raw, s) == "café au lait ok=\r\n"
    assert p.text == "café au lait ok=\r\n"
    assert not p.has_attachments


@pytest.mark.parametrize(
    "part_headers, attachment",
    [
        ("Content-Type: text/plain\r\nContent-Disposition: attachment", True),
        ("Content-Type: text/plain; name=notes.txt", False),  # text with a name is not an attachment
        ("Content-Type: image/png; name=a.png\r\nContent-Disposition: inline", True),
        ("Content-Type: image/png", False),
        ("Content-Type: message/rfc822", False),
    ],
)
def test_has_attachments(part_headers: str, attachment: bool) -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=Q\r\n\r\n--Q\r\nContent-Type: text/plain\r\n\r\nhi\r\n--Q\r\n"
        + part_headers.encode()
        + b"\r\n\r\nSubject: x\r\n\r\ndata\r\n--Q--\r\n"
    )
    assert analyze(raw).has_attachments is attachment


def test_html_is_reduced_to_text_for_search_and_preview() -> None:
    raw = crlf("""
        Content-Type: text/html; charset=utf-8

        <html><head><style>p { color: red }</style><script>var x = "<p>";</script></head>
        <body><p>Caf&eacute; &amp; cr&#232;me</p><!-- hidden --><div>second&nbsp;line</div></body></html>
        """)
    p = analyze(raw)
    assert "color" not in p.text and "var x" not in p.text and "hidden" not in p.text
    assert "Café & crème" in p.text and "second\xa0line" in p.text
    assert p.preview == "Café & crème second line"


def test_preview_collapses_white_space_and_stops_near_200_characters() -> None:
    raw = b"Content-Type: text/plain\r\n\r\n" + b"word \r\n\t " * 500
    p = analyze(raw)
    assert len(p.preview) == 200
    assert p.preview.startswith("word word word")


def test_search_text_is_capped() -> None:
    raw = b"Content-Type: text/plain\r\n\r\n" + b"0123456789" * 150_000
    p = analyze(raw)
    assert len(p.text) == MAX_TEXT


def test_multipart_digest_parts_default_to_message_rfc822() -> None:
    raw = crlf("""
        Content-Type: multipart/digest; boundary=D

        --D

        Subject: one

        first
        --D
        Content-Type: text/plain

        not a message
        --D--
        """)
    p = analyze(raw)
    check_invariants(raw, p)
    first, second = p.structure["parts"]
    assert (first["type"], first["subtype"], first["envelope"]["subject"]) == ("message", "rfc822", "one")
    assert (second["type"], second["subtype"]) == ("text", "plain")


# --- hostile input --------------------------------------------------------------------------------


def nested_multiparts(depth: int) -> bytes:
    return (
        b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(depth))
        + b"\r\nleaf\r\n"
    )


def many_parts(n: int) -> bytes:
    return (
        b"Content-Type: multipart/mixed; boundary=P\r\n\r\n"
        + b"--P\r\nContent-Type: text/plain\r\n\r\nx\r\n" * n
        + b"--P--\r\n"
    )


HOSTILE: dict[str, Callable[[], bytes]] = {
    "no closing delimiter": lambda: (
        b"Content-Type: multipart/mixed; boundary=Z\r\n\r\n--Z\r\n\r\none\r\n--Z\r\n\r\ntwo\r\n"
    ),
    "boundary never appears": lambda: b"Content-Type: multipart/mixed; boundary=Z\r\n\r\njust text\r\n",
    "no boundary parameter": lambda: b"Content-Type: multipart/mixed\r\n\r\n--Z\r\n\r\none\r\n",
    "empty boundary": lambda: b'Content-Type: multipart/mixed; boundary=""\r\n\r\n--\r\n\r\none\r\n',
    "boundary prefix of a line": lambda: (
        b"Content-Type: multipart/mixed; boundary=Z\r\n\r\n--Z\r\n\r\n--Zebra\r\n--Z--\r\n"
    ),
    "adjacent delimiters": lambda: b"Content-Type: multipart/mixed; boundary=Z\r\n\r\n--Z\r\n--Z\r\n--Z\r\n--Z--",
    "delimiter at end without newline": lambda: b"Content-Type: multipart/mixed; boundary=Z\r\n\r\n--Z",
    "inner boundary equals outer": lambda: (
        b"Content-Type: multipart/mixed; boundary=Z\r\n\r\n--Z\r\nContent-Type: multipart/mixed; boundary=Z\r\n\r\n"
        b"--Z\r\n\r\nx\r\n--Z--\r\n--Z--\r\n"
    ),
    "bad base64": lambda: (
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!@@@ QUJD=== ==x\r\n"
    ),
    "bad quoted-printable": lambda: (
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=\r\n=4"
    ),
    "unknown charset": lambda: b"Content-Type: text/plain; charset=x-klingon\r\n\r\n\xff\xfe hello",
    "non-text codec as charset": lambda: b"Content-Type: text/plain; charset=zlib_codec\r\n\r\nhello",
    "escape codec as charset": lambda: b"Content-Type: text/plain; charset=unicode_escape\r\n\r\n\\N{BULLET}",
    "utf-16 charset odd length": lambda: b"Content-Type: text/plain; charset=utf-16\r\n\r\n\xff\xfeh\x00i",
    "8-bit headers": lambda: (
        b"Subject: caf\xe9 \xff\xfe\r\nFrom: J\xc3\xb6rg <j@x.test>\r\nTo: \x80\x81@\x82\r\n\r\nbody"
    ),
    "NUL bytes": lambda: b"Subject: a\x00b\r\nContent-Type: text/plain; charset=\x00\r\n\r\n\x00\x00",
    "1 MB header line": lambda: b"Subject: " + b"a" * 1_000_000 + b"\r\nTo: " + b"x@y, " * 200_000 + b"\r\n\r\nbody",
    "1 MB parameter": lambda: b'Content-Type: text/plain; name="' + b"a" * 1_000_000 + b"\r\n\r\nbody",
    "1 MB of encoded-word starts": lambda: b"Subject: " + b"=?" * 500_000 + b"\r\n\r\nbody",
    "1 MB of comments": lambda: b"From: " + b"(" * 1_000_000 + b"\r\n\r\nbody",
    "huge boundary": lambda: (
        b"Content-Type: multipart/mixed; boundary=" + b"b" * 100_000 + b"\r\n\r\n--" + b"b" * 100_000 + b"\r\n\r\nx"
    ),
    "10,000 parts": lambda: many_parts(10_000),
    "1,000 nested multiparts": lambda: nested_multiparts(1000),
    "100 nested multiparts around 2 MB": lambda: nested_multiparts(100) + b"y" * 2_000_000,
    "1,000 nested messages": lambda: b"Content-Type: message/rfc822\r\n\r\n" * 1000 + b"Subject: deep\r\n\r\nleaf",
    "message/rfc822 base64": lambda: (
        b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA=="
    ),
    "invalid content-type": lambda: b"Content-Type: /\r\n\r\nbody",
    "header without colon": lambda: b"From nobody Mon Jan  1 00:00:00 2024\r\nnot a header\r\n: empty name\r\n\r\nbody",
    "hostile html": lambda: b"Content-Type: text/html\r\n\r\n" + b"<a " * 50_000 + b"<!--" * 50_000,
    "lone CRs": lambda: b"Subject: x\r\rContent-Type: text/plain\r\r\r\rbody\r",
    "continuation first": lambda: b" folded first\r\nSubject: s\r\n\r\nbody",
    "bad rfc2231": lambda: b"Content-Type: text/plain; name*0*=bogus'''%ZZ%; name*999999=x; name**=y\r\n\r\nbody",
    "bad date": lambda: b"Date: Mon, 1 Jan 99999999999 00:00:00 +0000\r\n\r\nbody",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_input_gives_a_result_without_exception(name: str) -> None:
    raw = HOSTILE[name]()
    p = analyze(raw)
    check_invariants(raw, p)
    for part in walk(p.structure):
        decoded_part_body(raw, part)
        part_text(raw, part)


def test_missing_close_delimiter_ends_the_multipart_at_its_parents_end() -> None:
    raw = HOSTILE["no closing delimiter"]()
    p = analyze(raw)
    one, two = p.structure["parts"]
    assert raw[one["offsets"][1] : one["offsets"][2]] == b"one"
    assert two["offsets"][2] == len(raw) and raw[two["offsets"][1] :] == b"two\r\n"


@pytest.mark.parametrize("name", ["boundary never appears", "no boundary parameter", "empty boundary"])
def test_multipart_without_usable_delimiters_becomes_an_opaque_leaf(name: str) -> None:
    raw = HOSTILE[name]()
    p = analyze(raw)
    assert (p.structure["type"], p.structure["subtype"]) == ("application", "octet-stream")
    assert "parts" not in p.structure
    assert p.structure["offsets"][2] == len(raw)


def test_nesting_is_capped_and_deeper_content_is_opaque() -> None:
    p = analyze(nested_multiparts(1000))
    depth, part = 0, p.structure
    while part.get("parts"):
        part, depth = part["parts"][0], depth + 1
    assert depth == MAX_DEPTH
    assert (part["type"], part["subtype"]) == ("application", "octet-stream")


def test_nested_messages_are_capped_too() -> None:
    p = analyze(HOSTILE["1,000 nested messages"]())
    depth, part = 0, p.structure
    while "message" in part:
        part, depth = part["message"], depth + 1
    assert depth == MAX_DEPTH
    assert part["type"] == "application"


def test_part_count_is_capped() -> None:
    p = analyze(many_parts(MAX_PARTS + 500))
    assert len(walk(p.structure)) == MAX_PARTS
    assert len(p.structure["parts"]) == MAX_PARTS - 1


def test_thousands_of_parts_are_all_listed_with_exact_offsets() -> None:
    raw = many_parts(5000)
    p = analyze(raw)
    assert len(p.structure["parts"]) == 5000
    assert all(raw[x["offsets"][1] : x["offsets"][2]] == b"x" for x in p.structure["parts"])


def test_eight_bit_headers_decode_as_utf8_or_latin1() -> None:
    p = analyze(HOSTILE["8-bit headers"]())
    assert p.subject == "café \xff\xfe"
    assert p.from_ == "Jörg <j@x.test>"


def test_unknown_charset_falls_back_to_utf8_with_replacement() -> None:
    raw = HOSTILE["unknown charset"]()
    p = analyze(raw)
    assert p.text == "\ufffd\ufffd hello"
    assert analyze(HOSTILE["non-text codec as charset"]()).text == "hello"
    assert analyze(HOSTILE["escape codec as charset"]()).text == "\\N{BULLET}"


@pytest.mark.parametrize(
    "body, decoded",
    [
        (b"QUJD\r\nREVG\r\n", b"ABCDEF"),
        (b"QUJDRA==\r\n", b"ABCD"),
        (b"QUJDRA", b"ABCD"),  # padding missing
        (b"QU!JD*RA==", b"ABCD"),  # junk inside
        (b"QQ==QkM=", b"ABC"),  # concatenated padded chunks
        (b"QUJDR", b"ABC"),  # a stray sextet
        (b"", b""),
        (b"====", b""),
    ],
)
def test_base64_decoding_is_lenient(body: bytes, decoded: bytes) -> None:
    raw = b"Content-Transfer-Encoding: base64\r\n\r\n" + body
    assert decoded_part_body(raw, analyze(raw).structure) == decoded


@pytest.mark.parametrize("raw", [bytearray(SIMPLE), memoryview(SIMPLE), SIMPLE.decode()])
def test_bytes_like_input_is_accepted(raw: Any) -> None:
    assert analyze(raw).subject == "Grüße aus Berlin"


# --- properties -----------------------------------------------------------------------------------

FRAGMENTS = [
    b"\r\n",
    b"\n",
    b"\r\n\r\n",
    b"--B\r\n",
    b"--B--\r\n",
    b"--C\r\n",
    b"--C--",
    b": ",
    b"Subject: =?utf-8?q?x?=",
    b"Content-Type: multipart/mixed; boundary=B\r\n",
    b"Content-Type: multipart/alternative; boundary=C\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: text/html; charset=utf-8\r\n",
    b"<p>&amp;",
    b"\xff\xfe",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\n",
    b"QUJD=",
    b"=4",
    b"Content-Disposition: attachment; filename*=utf-8''%E2%82%AC\r\n",
    b"From: a <b@c>, g: d@e;\r\n",
    b" ",
    b"x",
    b"Content-Type: multipart/digest; boundary=B\r\n",
    b"To: \"q\\\" (c",
    b"\t",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_analyze_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    check_invariants(raw, analyze(raw))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=60).map(b"".join))
def test_analyze_keeps_its_invariants_on_mime_shaped_noise(raw: bytes) -> None:
    p = analyze(raw)
    check_invariants(raw, p)
    for part in walk(p.structure):
        decoded_part_body(raw, part)
        part_text(raw, part)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_header_helpers_never_raise_on_arbitrary_text(value: str) -> None:
    decode_header_value(value)
    addresses = parse_address_list(value)
    assert addresses is None or all(len(a) == 4 for a in addresses)
