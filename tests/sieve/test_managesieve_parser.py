"""The pure ManageSieve parser and encoder (RFC 5804 4): table cases, the
literal marker, and any bytes either parse or raise ParseError. No database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.managesieve import parser as p

OK = [
    (b"CAPABILITY\r\n", p.Capability()),
    (b"capability\n", p.Capability()),
    (b'AUTHENTICATE "PLAIN"\r\n', p.Authenticate("PLAIN")),
    (b'Authenticate "PLAIN" "AGEAYg=="\r\n', p.Authenticate("PLAIN", "AGEAYg==")),
    (b'AUTHENTICATE "PLAIN" {8+}\r\nAGEAYg==\r\n', p.Authenticate("PLAIN", "AGEAYg==")),
    (b'HAVESPACE "my script" 12345\r\n', p.HaveSpace("my script", 12345)),
    (b'PUTSCRIPT "a" {7+}\r\nkeep;\r\n\r\n', p.PutScript("a", "keep;\r\n")),
    (b'PUTSCRIPT "a" {5}\r\nkeep;\r\n', p.PutScript("a", "keep;")),
    (b'PUTSCRIPT "caf\xc3\xa9" ""\r\n', p.PutScript("caf\u00e9", "")),
    (b'CHECKSCRIPT {5+}\r\nkeep;\r\n', p.CheckScript("keep;")),
    (b"LISTSCRIPTS\r\n", p.ListScripts()),
    (b'SETACTIVE ""\r\n', p.SetActive("")),
    (b'GETSCRIPT "say \\"hi\\" \\\\"\r\n', p.GetScript('say "hi" \\')),
    (b'DELETESCRIPT "a"\r\n', p.DeleteScript("a")),
    (b'RENAMESCRIPT "a" "b"\r\n', p.RenameScript("a", "b")),
    (b"NOOP\r\n", p.Noop()),
    (b'NOOP "tag"\r\n', p.Noop("tag")),
    (b"UNAUTHENTICATE\r\n", p.Unauthenticate()),
    (b"LOGOUT\r\n", p.Logout()),
    (b"STARTTLS\r\n", p.StartTls()),
]

BAD = [
    (b"\r\n", "expected a command"),
    (b"FROB\r\n", "unknown command"),
    (b"GETSCRIPT\r\n", "wrong number of arguments for GETSCRIPT"),
    (b'LOGOUT "x"\r\n', "wrong number of arguments for LOGOUT"),
    (b'HAVESPACE "a" "b"\r\n', "HAVESPACE expects a number there"),
    (b"GETSCRIPT 12\r\n", "GETSCRIPT expects a string there"),
    (b'GETSCRIPT "a\r\n', "line end inside a quoted string"),
    (b'GETSCRIPT "a\\b"\r\n', 'only \\" and \\\\ may be escaped'),
    (b'GETSCRIPT "a"', "command not ended by CRLF"),
    (b'GETSCRIPT  "a"\r\n', "expected a string or a number"),
    (b'GETSCRIPT "\xff"\r\n', "strings must be UTF-8"),
    (b"GETSCRIPT {9+}\r\nabc\r\n", "literal shorter than announced"),
    (b'GETSCRIPT "' + b"x" * 1025 + b'"\r\n', "quoted string too long, use a literal"),
]


@pytest.mark.parametrize(("data", "command"), OK)
def test_command_parses_to_its_dataclass(data: bytes, command: p.Command) -> None:
    assert p.parse_command(data) == command


@pytest.mark.parametrize(("data", "message"), BAD)
def test_malformed_command_raises_a_fixed_phrase(data: bytes, message: str) -> None:
    with pytest.raises(p.ParseError) as refused:
        p.parse_command(data)
    assert refused.value.message == message


@pytest.mark.parametrize(
    ("line", "size"),
    [(b'PUTSCRIPT "a" {12+}\r\n', 12), (b"CHECKSCRIPT {3}\n", 3), (b'PUTSCRIPT "{1+}"\r\n', None), (b"NOOP\r\n", None)],
)
def test_literal_at_end_finds_the_marker_that_ends_a_line(line: bytes, size: int | None) -> None:
    assert p.literal_at_end(line) == size


def test_responses_quote_or_use_a_literal_and_carry_a_code() -> None:
    assert p.response("OK") == b"OK\r\n"
    assert p.response("NO", 'say "no"', "QUOTA/MAXSIZE") == b'NO (QUOTA/MAXSIZE) "say \\"no\\""\r\n'
    assert p.response("NO", "two\r\nlines") == b"NO {10}\r\ntwo\r\nlines\r\n"


@given(st.binary(max_size=200))
def test_any_bytes_parse_or_raise_parse_error(data: bytes) -> None:
    try:
        p.parse_command(data)
    except p.ParseError:
        pass
