"""mbox in and out (RFC 4155; the mboxrd and mboxo quoting variants).

Reading
- A message starts at a `From ` line that carries an asctime date
  (`From sender Mon Jan  2 15:04:05 2006`) or follows an empty line (or
  starts the file). Lines of the body are unquoted: mboxrd removes one `>`
  from `>From `, `>>From `...; mboxo only from `>From `.
- The empty line a writer puts after each message is removed; the date of
  the From line (UTC, as writers use) is the internal date.
- Flags: Status (R Seen), X-Status (A Answered, F Flagged, T Draft, D Deleted),
  X-Keywords (Dovecot), X-Mozilla-Status and X-Mozilla-Keys (Thunderbird).
  Status, X-Status, X-Keywords, X-UID, X-IMAP and X-IMAPbase are mbox
  bookkeeping, not the message's: they are removed, as Dovecot does.
- Unix line ends are converted to CRLF (source.to_crlf).
- A corrupt file: bytes before the first From line are reported and
  skipped, a message past the size limit is reported without being held in
  memory, overlong lines are read in pieces; everything else carries on.
- A directory holds one folder per file: `Name` or `Name.mbox` files,
  subfolders in `Name/` or Thunderbird's `Name.sbd/` directories, Apple
  Mail's `Name.mbox/mbox`. Files that are not mbox (Thunderbird's .msf
  indexes and such) are skipped.

Writing (export): mboxrd, a `From MAILER-DAEMON <asctime>` line, the flags as
Status/X-Status/X-Keywords fields at the end of the header, the stored bytes
otherwise as they are, and an empty line after each message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import BinaryIO

from .names import FIELD_NAME, header_length
from .source import Item, SourceError, SourceFolder, to_crlf

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_ASCTIME = re.compile(
    rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),?\s+("
    + b"|".join(m.encode() for m in _MONTHS)
    + rb")\s+(\d{1,2})\s+(\d{1,2}):(\d\d)(?::(\d\d))?(?:\s+[A-Za-z]{1,5}|\s+[-+]\d{4})*\s+(\d{4})"
)
_QUOTED = {"mboxrd": re.compile(rb">(>*From )"), "mboxo": re.compile(rb">(From )")}
_LINES = re.compile(rb"[^\n]*\n|[^\n]+$")
META_FIELDS = (b"status", b"x-status", b"x-keywords", b"x-uid", b"x-imap", b"x-imapbase")
READ_PIECE = 64 * 1024
SKIP_SUFFIXES = (".msf", ".dat", ".json", ".sqlite", ".html", ".js", ".txt", ".plist", ".mozlz4")
MOZILLA = {0x0001: "\\Seen", 0x0002: "\\Answered", 0x0004: "\\Flagged", 0x0008: "\\Deleted", 0x1000: "$Forwarded"}


def from_line_date(line: bytes) -> datetime | None:
    """The date of a From line: asctime (RFC 4155), or an RFC 5322 date some writers use."""
    m = _ASCTIME.search(line)
    if m is None:
        _, _, rest = line.decode("latin-1").strip().partition(" ")
        try:
            when = parsedate_to_datetime(rest.partition(" ")[2])
        except (TypeError, ValueError, IndexError):
            return None
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    month, day, hour, minute, second, year = m.groups()
    try:
        return datetime(
            int(year), _MONTHS.index(month.decode()) + 1, int(day), int(hour), int(minute), int(second or 0), tzinfo=UTC
        )
    except ValueError:
        return None


def split_meta(raw: bytes) -> tuple[bytes, frozenset[str]]:
    """The message without its mbox bookkeeping fields, and the flags they (and Thunderbird's) carry."""
    end = header_length(raw)
    flags: set[str] = set()
    kept: list[bytes] = []
    lines = _LINES.findall(raw[:end])  # lines end at LF only (bytes.splitlines also cuts at CR, FF...)
    i = 0
    while i < len(lines):
        field = lines[i]
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            field += lines[i]
            i += 1
        m = FIELD_NAME.match(field)
        name = m.group(1).lower() if m else b""
        if name:
            flags |= _field_flags(name, field[m.end() :].decode("utf-8", "replace").strip())  # type: ignore[union-attr]
        if name not in META_FIELDS:
            kept.append(field)
    return b"".join(kept) + raw[end:], frozenset(flags)


def _field_flags(name: bytes, value: str) -> set[str]:
    if name == b"status":
        return {"\\Seen"} if "R" in value else set()
    if name == b"x-status":
        letters = {"A": "\\Answered", "F": "\\Flagged", "T": "\\Draft", "D": "\\Deleted"}
        return {flag for letter, flag in letters.items() if letter in value}
    if name in (b"x-keywords", b"x-mozilla-keys"):
        return {k for k in re.split(r"[\s,]+", value) if k}
    if name == b"x-mozilla-status":
        try:
            bits = int(value[:4], 16)
        except ValueError:
            return set()
        return {flag for bit, flag in MOZILLA.items() if bits & bit}
    return set()


def _pieces(f: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """(piece, starts a line): lines, read at most READ_PIECE octets at a time."""
    at_start = True
    while True:
        piece = f.readline(READ_PIECE)
        if not piece:
            return
        yield piece, at_start
        at_start = piece.endswith(b"\n")


class MboxReader:
    """Splits one mbox file into messages, one pass, bounded memory."""

    def __init__(self, path: Path, max_size: int, variant: str) -> None:
        self.path = path
        self.max_size = max_size
        self.unquote = _QUOTED[variant]

    def messages(self) -> Iterator[Item]:
        with open(self.path, "rb") as f:
            yield from self.split(f)

    def split(self, f: BinaryIO) -> Iterator[Item]:
        body: list[bytes] = []
        size = 0
        start: tuple[int, bytes] | None = None  # offset and From line of the message being read
        junk = 0
        offset = 0
        for piece, line_start in _pieces(f):
            # A From line: dated (RFC 4155), or the first line of the file.
            if line_start and piece.startswith(b"From ") and (offset == 0 or from_line_date(piece)):
                if start is not None:
                    yield self._item(start, body, size)
                elif junk:
                    yield Item(
                        f"{self.path.name} offset 0",
                        frozenset(),
                        None,
                        junk,
                        error=f"{junk} bytes before the first From line are not a message",
                    )
                start, body, size = (offset, piece), [], 0
            elif start is None:
                junk += len(piece)
            else:
                if line_start and self.unquote.match(piece):
                    piece = piece[1:]
                size += len(piece)
                if size <= self.max_size + 2:
                    body.append(piece)
            offset += len(piece)
        if start is not None:
            yield self._item(start, body, size)
        elif junk:
            yield Item(f"{self.path.name} offset 0", frozenset(), None, junk, error="not an mbox file (no From line)")

    def _item(self, start: tuple[int, bytes], body: list[bytes], size: int) -> Item:
        offset, from_line = start
        ref = f"{self.path.name} offset {offset}"
        when = from_line_date(from_line)
        if size > self.max_size + 2:
            return Item(
                ref, frozenset(), when, size, error=f"larger than the message size limit ({self.max_size} bytes)"
            )
        raw = b"".join(body)
        if raw.endswith(b"\n\r\n"):
            raw = raw[:-2]  # the empty line after the message (CRLF files)
        elif raw.endswith(b"\n\n"):
            raw = raw[:-1]
        raw, flags = split_meta(raw)
        raw = to_crlf(raw)
        if not raw.strip():
            return Item(ref, flags, when, len(raw), error="an empty message")
        return Item(ref, flags, when, len(raw), raw=raw)


def is_mbox(path: Path) -> bool:
    """Empty, or a From line first or (a damaged file) within the first 64 KB."""
    try:
        with open(path, "rb") as f:
            head = f.read(READ_PIECE)
    except OSError:
        return False
    if head[:5] in (b"From ", b""):
        return True
    return any(from_line_date(line) for line in head.split(b"\n")[1:] if line.startswith(b"From "))


class MboxSource:
    """One mbox file (into INBOX, or the folder named) or a directory of them."""

    def __init__(self, root: Path, max_size: int, *, variant: str = "mboxrd", folder: str = "INBOX") -> None:
        if variant not in _QUOTED:
            raise SourceError(f"unknown mbox variant {variant} (mboxrd or mboxo)")
        if not root.exists():
            raise SourceError(f"{root}: no such file or directory")
        self.root = root
        self.max_size = max_size
        self.variant = variant
        self.single_folder = folder
        self.description = f"mbox {root}"
        self._paths: dict[str, Path] = {}
        self.notes: list[str] = []

    def folders(self) -> list[SourceFolder]:
        if self.root.is_file():
            if not is_mbox(self.root):
                raise SourceError(f"{self.root}: not an mbox file (no From line where messages start)")
            found = [(self.single_folder, self.root)]
        else:
            found = self._scan(self.root, [])
            if not found:
                raise SourceError(f"{self.root}: no mbox files here")
        folders = []
        for name, path in found:
            self._paths[name] = path
            size = path.stat().st_size
            folders.append(SourceFolder(name, (), _count_messages(path) if size else 0, size))
        return folders

    def _scan(self, directory: Path, prefix: list[str]) -> list[tuple[str, Path]]:
        found = []
        for entry in sorted(directory.iterdir()):
            name = entry.name
            if name.startswith(".") or name.lower().endswith(SKIP_SUFFIXES):
                continue
            if entry.is_dir():
                if name.endswith(".mbox") and (entry / "mbox").is_file():  # Apple Mail
                    found.append(("/".join(prefix + [name[:-5]]), entry / "mbox"))
                    continue
                found += self._scan(entry, prefix + [name[:-4] if name.endswith(".sbd") else name])
            elif entry.is_file() and is_mbox(entry):
                found.append(("/".join(prefix + [name[:-5] if name.endswith(".mbox") else name]), entry))
            elif entry.is_file():
                self.notes.append(f"{entry.relative_to(self.root)} left out: not an mbox file")
        return found

    def items(self, folder: SourceFolder) -> Iterator[Item]:
        yield from MboxReader(self._paths[folder.name], self.max_size, self.variant).messages()

    def load(self, folder: SourceFolder, items: list[Item]) -> None:
        pass

    def close(self) -> None:
        pass


def _count_messages(path: Path) -> int:
    """A quick estimate for the progress bar: From lines after an empty line."""
    count = 0
    tail = b"\n\n"  # so that a From line at the very start counts
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            data = tail + chunk
            count += data.count(b"\n\nFrom ") + data.count(b"\n\r\nFrom ")
            tail = data[-6:]  # shorter than either pattern: nothing is counted twice
    return count


# --- writing -----------------------------------------------------------------


def asctime(when: datetime) -> str:
    t = when.astimezone(UTC)
    return f"{_DAYS[t.weekday()]} {_MONTHS[t.month - 1]} {t.day:2d} {t:%H:%M:%S} {t.year}"


def meta_fields(flags: frozenset[str], newline: bytes) -> bytes:
    status = "RO" if "\\Seen" in flags else "O"
    x_status = "".join(
        letter
        for letter, flag in (("A", "\\Answered"), ("F", "\\Flagged"), ("T", "\\Draft"), ("D", "\\Deleted"))
        if flag in flags
    )
    keywords = " ".join(sorted(f for f in flags if not f.startswith("\\")))
    lines = [f"Status: {status}"]
    if x_status:
        lines.append(f"X-Status: {x_status}")
    if keywords:
        lines.append(f"X-Keywords: {keywords}")
    return b"".join(line.encode() + newline for line in lines)


def mbox_entry(raw: bytes, flags: frozenset[str], when: datetime) -> bytes:
    """One message as mboxrd: From line, flags in the header, quoted body, empty line."""
    end = header_length(raw)
    first_break = raw.find(b"\n")
    newline = b"\r\n" if first_break < 0 or raw[first_break - 1 : first_break] == b"\r" else b"\n"
    if end == len(raw):
        end = 0  # no empty line ends a header: the fields go first, where a reader looks
    message = raw[:end] + meta_fields(flags, newline) + raw[end:]
    quoted = re.sub(rb"(?m)^(>*From )", rb">\1", message)
    return (
        b"From MAILER-DAEMON "
        + asctime(when).encode()
        + b"\n"
        + quoted
        + (b"" if quoted.endswith(b"\n") else b"\n")
        + b"\n"
    )
