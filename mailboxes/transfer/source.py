"""What every import source (Maildir, mbox, IMAP) hands the importer. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

SYSTEM_FLAGS = {
    "\\seen": "\\Seen",
    "\\answered": "\\Answered",
    "\\flagged": "\\Flagged",
    "\\deleted": "\\Deleted",
    "\\draft": "\\Draft",
}
# An IMAP flag keyword is an atom (RFC 3501 9: flag-keyword = atom).
_ATOM = re.compile(r"[^(){ \x00-\x1f\x7f%*\"\\\]\x80-\U0010ffff]+")
MAX_KEYWORDS = 64


class SourceError(Exception):
    """The source cannot be read at all (missing path, unreachable server,
    refused login). Its text is meant for the person running the import."""


@dataclass
class Item:
    """One message of a source folder. Local sources fill in `raw`; the IMAP
    source leaves it None until the importer asks for the bytes (it knows the
    Message-ID and size beforehand, so messages already here are never downloaded)."""

    ref: str  # where it came from, for the summary: a path, "offset 1234", "UID 17"
    flags: frozenset[str]
    internal_date: datetime | None
    size: int
    raw: bytes | None = None
    message_id: str | None = None  # known without the bytes ("" = it has none); None = unknown
    error: str = ""  # why it cannot be copied (too big, unreadable); the importer reports it
    handle: int = 0  # the source's own reference (the IMAP UID)


@dataclass
class SourceFolder:
    name: str  # the source's own name, '/'-separated, decoded
    attributes: tuple[str, ...] = ()  # RFC 6154 special-use attributes, where the source has them
    count: int = 0  # messages (an estimate is fine: it drives the progress bar)
    size: int = 0  # octets


class Source(Protocol):
    description: str
    notes: list[str]  # what the person running the import should know (folders left out...)

    def folders(self) -> list[SourceFolder]: ...

    def items(self, folder: SourceFolder) -> Iterator[Item]: ...

    def load(self, folder: SourceFolder, items: list[Item]) -> None:
        """Fill in `raw` (or `error`) of items that have no bytes yet."""

    def close(self) -> None: ...


def clean_flags(flags: Iterable[str]) -> tuple[frozenset[str], list[str]]:
    """Flags our store accepts (system flags in their canonical case, keywords
    that are IMAP atoms, at most 64 of them) and the ones dropped."""
    kept: set[str] = set()
    dropped: list[str] = []
    keywords = 0
    for flag in flags:
        system = SYSTEM_FLAGS.get(flag.lower())
        if system:
            kept.add(system)
        elif flag.lower() == "\\recent":
            continue  # session state (RFC 3501 2.3.2), never copied
        elif _ATOM.fullmatch(flag) and not flag.startswith("\\") and keywords < MAX_KEYWORDS:
            if flag not in kept:
                keywords += 1
                kept.add(flag)
        else:
            dropped.append(flag)
    return frozenset(kept), dropped


def to_crlf(raw: bytes) -> bytes:
    """Unix line ends (a file without a single CR) become CRLF, as IMAP and
    SMTP carry messages (RFC 5322 2.3); anything else is kept byte for byte."""
    if b"\r" in raw:
        return raw
    return raw.replace(b"\n", b"\r\n")
