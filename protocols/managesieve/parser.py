"""ManageSieve command parser (RFC 5804 4): bytes in, typed command out. No I/O.

A command is an atom (case-insensitive) and arguments separated by spaces:
quoted strings, literals `{n+}` CRLF n octets (RFC 5804 4; the
synchronizing `{n}` is taken the same way, as Dovecot does, since
ManageSieve has no continuation for it) and numbers. The session reads a
line; when it ends in a literal's marker (`literal_at_end`) it reads the
octets and the rest of the command and asks again, so `parse_command`
always sees one whole command.

The `message` of a ParseError is a fixed phrase that never echoes client
input, so a session may put it on the wire.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from protocols.pop3.parser import ParseError  # the line protocols' one error: a fixed phrase, safe on the wire

MAX_LINE = 8192
MAX_QUOTED = 1024  # RFC 5804 4: longer strings are sent as literals
_LITERAL_END = re.compile(rb"\{([0-9]{1,10})(\+?)\}\r?\n\Z")
_LITERAL = re.compile(rb"\{([0-9]{1,10})\+?\}\r?\n")
_ATOM = re.compile(rb"[A-Za-z]+")
_NUMBER = re.compile(rb"[0-9]{1,10}")


@dataclass(frozen=True, slots=True)
class Command:
    name: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class Capability(Command):
    name: ClassVar[str] = "CAPABILITY"


@dataclass(frozen=True, slots=True)
class StartTls(Command):
    name: ClassVar[str] = "STARTTLS"


@dataclass(frozen=True, slots=True)
class Authenticate(Command):
    name: ClassVar[str] = "AUTHENTICATE"
    mechanism: str
    initial: str | None = None  # base64, as sent


@dataclass(frozen=True, slots=True)
class HaveSpace(Command):
    name: ClassVar[str] = "HAVESPACE"
    script: str
    size: int


@dataclass(frozen=True, slots=True)
class PutScript(Command):
    name: ClassVar[str] = "PUTSCRIPT"
    script: str
    content: str


@dataclass(frozen=True, slots=True)
class ListScripts(Command):
    name: ClassVar[str] = "LISTSCRIPTS"


@dataclass(frozen=True, slots=True)
class SetActive(Command):
    name: ClassVar[str] = "SETACTIVE"
    script: str


@dataclass(frozen=True, slots=True)
class GetScript(Command):
    name: ClassVar[str] = "GETSCRIPT"
    script: str


@dataclass(frozen=True, slots=True)
class DeleteScript(Command):
    name: ClassVar[str] = "DELETESCRIPT"
    script: str


@dataclass(frozen=True, slots=True)
class RenameScript(Command):
    name: ClassVar[str] = "RENAMESCRIPT"
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class CheckScript(Command):
    name: ClassVar[str] = "CHECKSCRIPT"
    content: str


@dataclass(frozen=True, slots=True)
class Noop(Command):
    name: ClassVar[str] = "NOOP"
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class Unauthenticate(Command):
    name: ClassVar[str] = "UNAUTHENTICATE"


@dataclass(frozen=True, slots=True)
class Logout(Command):
    name: ClassVar[str] = "LOGOUT"


# name -> (class, argument kinds); "s" a string, "n" a number, "?" before one: optional.
SYNTAX: dict[str, tuple[type[Command], str]] = {
    "CAPABILITY": (Capability, ""),
    "STARTTLS": (StartTls, ""),
    "AUTHENTICATE": (Authenticate, "s?s"),
    "HAVESPACE": (HaveSpace, "sn"),
    "PUTSCRIPT": (PutScript, "ss"),
    "LISTSCRIPTS": (ListScripts, ""),
    "SETACTIVE": (SetActive, "s"),
    "GETSCRIPT": (GetScript, "s"),
    "DELETESCRIPT": (DeleteScript, "s"),
    "RENAMESCRIPT": (RenameScript, "ss"),
    "CHECKSCRIPT": (CheckScript, "s"),
    "NOOP": (Noop, "?s"),
    "UNAUTHENTICATE": (Unauthenticate, ""),
    "LOGOUT": (Logout, ""),
}


def literal_at_end(data: bytes) -> int | None:
    """The size of the literal whose marker ends `data`, if it does."""
    found = _LITERAL_END.search(data)
    return int(found.group(1)) if found else None


def parse_command(data: bytes) -> Command:
    """One whole command, literals included, ending in CRLF (or LF)."""
    found = _ATOM.match(data)
    if found is None:
        raise ParseError("expected a command")
    name = found.group().decode().upper()
    if name not in SYNTAX:
        raise ParseError("unknown command")
    cls, kinds = SYNTAX[name]
    values = _arguments(data, found.end())
    required = kinds.replace("?s", "").replace("?n", "")
    if not len(required) <= len(values) <= len(kinds.replace("?", "")):
        raise ParseError(f"wrong number of arguments for {name}")
    for kind, value in zip(kinds.replace("?", ""), values):
        if (kind == "n") != isinstance(value, int):
            raise ParseError(f"{name} expects {'a number' if kind == 'n' else 'a string'} there")
    return cls(*values)


def parse_string(data: bytes) -> str:
    """A lone string and its line end: a SASL response (RFC 5804 2.1)."""
    values = _arguments(b" " + data, 0)
    if len(values) != 1 or not isinstance(values[0], str):
        raise ParseError("expected one string")
    return values[0]


def _arguments(data: bytes, pos: int) -> list[str | int]:
    values: list[str | int] = []
    end = len(data)
    while True:
        if data.startswith(b"\r\n", pos) and pos + 2 == end or data.startswith(b"\n", pos) and pos + 1 == end:
            return values
        if pos >= end:
            raise ParseError("command not ended by CRLF")
        if data[pos : pos + 1] != b" ":
            raise ParseError("expected a space between arguments")
        pos += 1
        char = data[pos : pos + 1]
        if char == b'"':
            text, pos = _quoted(data, pos + 1)
            values.append(text)
        elif char == b"{":
            literal = _LITERAL.match(data, pos)
            if literal is None:
                raise ParseError("malformed literal")
            start = literal.end()
            pos = start + int(literal.group(1))
            if pos > end:
                raise ParseError("literal shorter than announced")
            values.append(_utf8(data[start:pos]))
        elif (number := _NUMBER.match(data, pos)) is not None:
            values.append(int(number.group()))
            pos = number.end()
        else:
            raise ParseError("expected a string or a number")


def _quoted(data: bytes, pos: int) -> tuple[str, int]:
    out = bytearray()
    while pos < len(data):
        char = data[pos]
        if char == 0x22:
            if len(out) > MAX_QUOTED:
                raise ParseError("quoted string too long, use a literal")
            return _utf8(bytes(out)), pos + 1
        if char in (0x0D, 0x0A, 0x00):
            raise ParseError("line end inside a quoted string")
        if char == 0x5C:
            pos += 1
            if data[pos : pos + 1] not in (b'"', b"\\"):
                raise ParseError("only \\\" and \\\\ may be escaped")
            char = data[pos]
        out.append(char)
        pos += 1
    raise ParseError("unterminated quoted string")


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ParseError("strings must be UTF-8") from None


# --- what the server writes --------------------------------------------------


def quoted(text: str) -> bytes:
    return b'"' + text.replace("\\", "\\\\").replace('"', '\\"').encode() + b'"'


def string(text: str) -> bytes:
    """A quoted string where one may be sent, else a literal (RFC 5804 4)."""
    raw = text.encode()
    if len(raw) <= MAX_QUOTED and not any(c in raw for c in b"\r\n\0"):
        return quoted(text)
    return b"{%d}\r\n" % len(raw) + raw


def response(status: str, text: str = "", code: str = "") -> bytes:
    """OK / NO / BYE [ "(" code ")" ] [ string ] CRLF (RFC 5804 4)."""
    out = status.encode()
    if code:
        out += b" (" + code.encode() + b")"
    if text:
        out += b" " + string(text)
    return out + b"\r\n"
