"""POP3 command parser: one line of bytes in, one typed command out. No I/O.

Syntax (RFC 1939 section 3): a case-insensitive keyword of three or four
characters, then arguments separated by single spaces, ended by CRLF.
Leniencies, as common servers allow: a bare LF ends a line, runs of spaces
separate arguments, and PASS takes the rest of the line (spaces included) as
the password (RFC 1939 section 7 allows that reading). Whether a command is
allowed now is for the session's state table, keyed by command class.

The `message` of a ParseError is a fixed phrase that never echoes client
input, so a session may put it on the wire.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

MAX_LINE = 1024  # RFC 2449 4 says 255 octets; be lenient with long addresses and passwords
MAX_NUMBER = 10**9
_NUMBER = re.compile(rb"[0-9]{1,10}\Z")
_HEX_DIGEST = re.compile(rb"[0-9A-Fa-f]{32}\Z")


class ParseError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownCommand(ParseError):
    pass


@dataclass(frozen=True)
class Command:
    name: ClassVar[str] = ""


@dataclass(frozen=True)
class User(Command):
    name: ClassVar[str] = "USER"
    user: str


@dataclass(frozen=True)
class Pass(Command):
    name: ClassVar[str] = "PASS"
    password: str


@dataclass(frozen=True)
class Apop(Command):
    name: ClassVar[str] = "APOP"
    user: str
    digest: str  # 32 lower-case hex digits


@dataclass(frozen=True)
class Auth(Command):
    """AUTH alone lists mechanisms; AUTH mech [initial-response] (RFC 5034)."""

    name: ClassVar[str] = "AUTH"
    mechanism: str | None = None
    initial: bytes | None = None  # decoded; b"" for "="


@dataclass(frozen=True)
class Stat(Command):
    name: ClassVar[str] = "STAT"


@dataclass(frozen=True)
class List(Command):
    name: ClassVar[str] = "LIST"
    msg: int | None = None


@dataclass(frozen=True)
class Retr(Command):
    name: ClassVar[str] = "RETR"
    msg: int


@dataclass(frozen=True)
class Dele(Command):
    name: ClassVar[str] = "DELE"
    msg: int


@dataclass(frozen=True)
class Noop(Command):
    name: ClassVar[str] = "NOOP"


@dataclass(frozen=True)
class Rset(Command):
    name: ClassVar[str] = "RSET"


@dataclass(frozen=True)
class Quit(Command):
    name: ClassVar[str] = "QUIT"


@dataclass(frozen=True)
class Top(Command):
    name: ClassVar[str] = "TOP"
    msg: int
    lines: int


@dataclass(frozen=True)
class Uidl(Command):
    name: ClassVar[str] = "UIDL"
    msg: int | None = None


@dataclass(frozen=True)
class Capa(Command):
    name: ClassVar[str] = "CAPA"


@dataclass(frozen=True)
class Stls(Command):
    name: ClassVar[str] = "STLS"


def _number(arg: bytes) -> int:
    if not _NUMBER.match(arg) or int(arg) > MAX_NUMBER:
        raise ParseError("invalid number")
    return int(arg)


def text(arg: bytes) -> str:
    """An argument as text; control characters are refused."""
    if any(b < 0x20 or b == 0x7F for b in arg):
        raise ParseError("invalid characters in argument")
    return arg.decode("utf-8", "surrogateescape")


def _args(rest: bytes, low: int, high: int) -> list[bytes]:
    args = rest.split()
    if not low <= len(args) <= high:
        raise ParseError("wrong number of arguments")
    return args


def decode_base64(data: bytes) -> bytes:
    """A SASL response or initial response ('=' is the empty one, RFC 5034 4)."""
    data = data.strip()
    if data == b"=":
        return b""
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ParseError("invalid base64") from None


Builder = Callable[[bytes], Command]  # the rest of the line after the keyword -> a command


def _no_args(cls: type[Command]) -> Builder:
    def build(rest: bytes) -> Command:
        _args(rest, 0, 0)
        return cls()

    return build


def _one_msg(cls: type[Command]) -> Builder:
    def build(rest: bytes) -> Command:
        return cls(_number(_args(rest, 1, 1)[0]))  # type: ignore[call-arg]

    return build


def _optional_msg(cls: type[Command]) -> Builder:
    def build(rest: bytes) -> Command:
        args = _args(rest, 0, 1)
        return cls(_number(args[0]) if args else None)  # type: ignore[call-arg]

    return build


def _user(rest: bytes) -> Command:
    return User(text(_args(rest, 1, 1)[0]))


def _pass(rest: bytes) -> Command:
    if not rest:
        raise ParseError("wrong number of arguments")
    return Pass(text(rest))


def _apop(rest: bytes) -> Command:
    name, digest = _args(rest, 2, 2)
    if not _HEX_DIGEST.match(digest):
        raise ParseError("invalid digest")
    return Apop(text(name), digest.decode().lower())


def _auth(rest: bytes) -> Command:
    args = _args(rest, 0, 2)
    if not args:
        return Auth()
    return Auth(text(args[0]).upper(), decode_base64(args[1]) if len(args) > 1 else None)


def _top(rest: bytes) -> Command:
    msg, lines = _args(rest, 2, 2)
    return Top(_number(msg), _number(lines))


_BUILDERS: dict[bytes, Builder] = {
    b"USER": _user,
    b"PASS": _pass,
    b"APOP": _apop,
    b"AUTH": _auth,
    b"STAT": _no_args(Stat),
    b"LIST": _optional_msg(List),
    b"RETR": _one_msg(Retr),
    b"DELE": _one_msg(Dele),
    b"NOOP": _no_args(Noop),
    b"RSET": _no_args(Rset),
    b"QUIT": _no_args(Quit),
    b"TOP": _top,
    b"UIDL": _optional_msg(Uidl),
    b"CAPA": _no_args(Capa),
    b"STLS": _no_args(Stls),
}


def parse_line(line: bytes, builders: Mapping[bytes, Builder], max_line: int) -> Command:
    """Split off the keyword and hand the rest to its builder (POP3 and POP2 alike).
    UnknownCommand for a keyword not in builders; ParseError from the builder."""
    if len(line) > max_line:
        raise ParseError("line too long")
    keyword, _, rest = line.rstrip(b"\r\n").partition(b" ")
    build = builders.get(keyword.upper())
    if build is None:
        raise UnknownCommand("unknown command")
    return build(rest)


def parse_command(line: bytes) -> Command:
    """One POP3 command line (with or without its CRLF) -> a Command."""
    return parse_line(line, _BUILDERS, MAX_LINE)


def decode_plain(message: bytes) -> tuple[str, str, str]:
    """A SASL PLAIN message (RFC 4616 2): authzid NUL authcid NUL passwd."""
    parts = message.split(b"\0")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise ParseError("malformed PLAIN response")
    try:
        authzid, authcid, password = (p.decode("utf-8") for p in parts)
    except UnicodeDecodeError:
        raise ParseError("malformed PLAIN response") from None
    return authzid, authcid, password


def is_cancel(line: bytes) -> bool:
    """The client's '*' abandons an AUTH exchange (RFC 5034 4)."""
    return line.strip() == b"*"
