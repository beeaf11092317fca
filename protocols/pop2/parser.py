"""POP2 command parser (RFC 937): one line of bytes in, a typed command out.
No I/O, no Django.

Commands are a case-insensitive four-letter keyword, then arguments to the
end of the line. HELO's password and FOLD's folder take the rest of the line
(spaces included); READ takes an optional decimal message number; the other
commands take no argument. The `message` of a ParseError never echoes input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from protocols.pop3.parser import Builder, Command, ParseError, UnknownCommand, parse_line, text  # noqa: F401 (the session's)

MAX_LINE = 1024
_NUMBER = re.compile(rb"[0-9]{1,10}\Z")


@dataclass(frozen=True)
class Helo(Command):
    name: ClassVar[str] = "HELO"
    user: str
    password: str


@dataclass(frozen=True)
class Fold(Command):
    name: ClassVar[str] = "FOLD"
    folder: str


@dataclass(frozen=True)
class Read(Command):
    name: ClassVar[str] = "READ"
    msg: int | None = None


@dataclass(frozen=True)
class Retr(Command):
    name: ClassVar[str] = "RETR"


@dataclass(frozen=True)
class Acks(Command):
    name: ClassVar[str] = "ACKS"


@dataclass(frozen=True)
class Ackd(Command):
    name: ClassVar[str] = "ACKD"


@dataclass(frozen=True)
class Nack(Command):
    name: ClassVar[str] = "NACK"


@dataclass(frozen=True)
class Quit(Command):
    name: ClassVar[str] = "QUIT"


def _helo(rest: bytes) -> Command:
    user, _, password = rest.strip(b" ").partition(b" ")
    if not user or not password:
        raise ParseError("HELO needs a user name and a password")
    return Helo(text(user), text(password))


def _fold(rest: bytes) -> Command:
    folder = rest.strip(b" ")
    if not folder:
        raise ParseError("FOLD needs a folder name")
    return Fold(text(folder))


def _read(rest: bytes) -> Command:
    arg = rest.strip(b" ")
    if not arg:
        return Read()
    if not _NUMBER.match(arg):
        raise ParseError("READ takes a message number")
    return Read(int(arg))


def _bare(cls: type[Command]) -> Builder:
    def build(rest: bytes) -> Command:
        if rest.strip(b" "):
            raise ParseError(f"{cls.name} takes no argument")
        return cls()

    return build


_BUILDERS: dict[bytes, Builder] = {
    b"HELO": _helo,
    b"FOLD": _fold,
    b"READ": _read,
    b"RETR": _bare(Retr),
    b"ACKS": _bare(Acks),
    b"ACKD": _bare(Ackd),
    b"NACK": _bare(Nack),
    b"QUIT": _bare(Quit),
}


def parse_command(line: bytes) -> Command:
    """One POP2 command line (with or without its CRLF) -> a Command."""
    return parse_line(line, _BUILDERS, MAX_LINE)
