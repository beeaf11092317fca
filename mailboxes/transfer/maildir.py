"""Maildir in and out (https://cr.yp.to/proto/maildir.html, Maildir++ and
Dovecot's conventions).

Reading
- Layouts: Maildir++ (INBOX at the root, folders in `.Name.Child` directories,
  '.' separating levels) and the '/'-separated layout (Dovecot LAYOUT=fs: each
  folder a directory of its own, nested). Names are modified UTF-7 on disk;
  Dovecot's listescape `\\2e` stands for a '.' inside a Maildir++ name.
- Flags come from the info suffix `:2,` (also `;2,` and `!2,`): D Draft,
  F Flagged, P $Forwarded, R Answered, S Seen, T Deleted; the letters a-z are
  keywords listed in the folder's `dovecot-keywords` file. Messages in new/
  are unseen.
- The internal date is the file's mtime (what Dovecot and Courier use); the
  delivery time at the head of the file name stands in when the mtime is unset.
- Unix line ends are converted to CRLF (source.to_crlf); a file larger than
  the message limit is reported without being read.

Writing (export): Maildir++ or fs layout, every message in cur/ with its info
suffix and `,S=<size>`, written to tmp/ and renamed (the Maildir protocol),
mtime set to the internal date, bytes exactly as stored. Up to 26 keywords a
folder fit in `dovecot-keywords`; more are reported as not kept.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from .names import decode_mutf7, encode_mutf7
from .source import Item, SourceError, SourceFolder, to_crlf

INFO_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "P": "$Forwarded", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}
LETTERS = {flag.lower(): letter for letter, flag in INFO_FLAGS.items()}
_INFO = re.compile(r"[:;!]2,([A-Za-z]*)$")
_LEADING_TIME = re.compile(r"^(\d{9,11})(?:\.(\d+))?")
_ESCAPE = re.compile(r"\\([0-9a-fA-F]{2})")
KEYWORDS_FILE = "dovecot-keywords"
# Reasonable file times: after 1980, not in the future by more than a day.
_EARLIEST = 315532800


def is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() or (path / "new").is_dir()


def flags_from_info(filename: str, keywords: dict[str, str]) -> frozenset[str]:
    m = _INFO.search(filename)
    if m is None:
        return frozenset()
    flags = set()
    for letter in m.group(1):
        if letter in INFO_FLAGS:
            flags.add(INFO_FLAGS[letter])
        elif letter in keywords:
            flags.add(keywords[letter])
    return frozenset(flags)


def read_keywords(folder: Path) -> dict[str, str]:
    """Dovecot's `dovecot-keywords`: lines `<index> <keyword>`, index 0 is letter a."""
    try:
        text = (folder / KEYWORDS_FILE).read_text("utf-8", "replace")
    except OSError:
        return {}
    keywords = {}
    for line in text.splitlines():
        index, _, name = line.partition(" ")
        if index.isdigit() and int(index) < 26 and name.strip():
            keywords[chr(ord("a") + int(index))] = name.strip()
    return keywords


def _unescape(name: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), name)


class MaildirSource:
    """A Maildir tree (Maildir++ or '/'-separated) as an import source."""

    def __init__(self, root: Path, max_size: int) -> None:
        self.root = root
        self.max_size = max_size
        self.description = f"Maildir {root}"
        self._paths: dict[str, Path] = {}
        self.notes: list[str] = []
        if not root.is_dir():
            raise SourceError(f"{root}: not a directory")

    def folders(self) -> list[SourceFolder]:
        found: list[tuple[str, Path]] = []
        if is_maildir(self.root):
            found.append(("INBOX", self.root))
        dotted = [
            d
            for d in sorted(self.root.iterdir())
            if d.name.startswith(".") and d.name not in (".", "..") and d.is_dir() and is_maildir(d)
        ]
        if dotted:  # Maildir++
            for d in dotted:
                levels = [_unescape(decode_mutf7(level)) for level in d.name[1:].split(".")]
                found.append(("/".join(levels), d))
        else:
            found += self._nested(self.root, [])
        if not found:
            raise SourceError(f"{self.root}: no Maildir here (no cur/ or new/ directory, no folders)")
        folders = []
        for name, path in found:
            count, size = self._census(path)
            self._paths[name] = path
            folders.append(SourceFolder(name, (), count, size))
        return folders

    def _nested(self, directory: Path, prefix: list[str]) -> list[tuple[str, Path]]:
        found = []
        for d in sorted(directory.iterdir()):
            if not d.is_dir() or d.name in ("cur", "new", "tmp") or d.name.startswith("."):
                continue
            levels = prefix + [decode_mutf7(d.name)]
            if is_maildir(d):
                found.append(("/".join(levels), d))
            found += self._nested(d, levels)
        return found

    @staticmethod
    def _files(path: Path) -> list[tuple[str, Path]]:
        files = []
        for sub in ("new", "cur"):
            try:
                entries = os.scandir(path / sub)
            except OSError:
                continue
            with entries:
                files += [(sub, Path(e.path)) for e in entries if e.is_file() and not e.name.startswith(".")]
        return files

    def _census(self, path: Path) -> tuple[int, int]:
        files = self._files(path)
        size = 0
        for _, f in files:
            try:
                size += f.stat().st_size
            except OSError:
                pass
        return len(files), size

    def items(self, folder: SourceFolder) -> Iterator[Item]:
        path = self._paths[folder.name]
        keywords = read_keywords(path)
        files = self._files(path)
        files.sort(key=lambda entry: _order(entry[1].name))
        for sub, file in files:
            yield self._item(sub, file, keywords)

    def _item(self, sub: str, file: Path, keywords: dict[str, str]) -> Item:
        ref = f"{file.parent.parent.name}/{sub}/{file.name}"
        flags = frozenset() if sub == "new" else flags_from_info(file.name, keywords)
        try:
            st = file.stat()
        except OSError:
            return Item(ref, flags, None, 0, error="the file vanished while importing")
        when = internal_date(file.name, st.st_mtime)
        if st.st_size > self.max_size:
            return Item(
                ref, flags, when, st.st_size, error=f"larger than the message size limit ({self.max_size} bytes)"
            )
        try:
            raw = to_crlf(file.read_bytes())
        except OSError as exc:
            return Item(ref, flags, when, st.st_size, error=f"unreadable: {exc.strerror or exc}")
        if not raw.strip():
            return Item(ref, flags, when, 0, error="an empty file")
        return Item(ref, flags, when, len(raw), raw=raw)

    def load(self, folder: SourceFolder, items: list[Item]) -> None:
        pass  # items carry their bytes already

    def close(self) -> None:
        pass


def _order(name: str) -> tuple[int, str]:
    """Delivery order: the time at the head of the file name, then the name."""
    m = _LEADING_TIME.match(name)
    return (int(m.group(1)) if m else 0, name)


def internal_date(filename: str, mtime: float) -> datetime:
    if _EARLIEST <= mtime <= time.time() + 86400:
        return datetime.fromtimestamp(mtime, UTC)
    m = _LEADING_TIME.match(filename)
    if m:
        return datetime.fromtimestamp(int(m.group(1)), UTC)
    return datetime.now(UTC)


# --- writing -----------------------------------------------------------------


class MaildirWriter:
    """Export: one Maildir tree; begin_folder / add / end_folder per folder."""

    def __init__(self, root: Path, layout: str = "maildir++") -> None:
        if layout not in ("maildir++", "fs"):
            raise ValueError(f"unknown Maildir layout {layout}")
        self.root = root
        self.layout = layout
        self.host = socket.gethostname().replace("/", "\\057").replace(":", "\\072") or "localhost"
        self._seq = 0
        self._dir = root
        self._keywords: dict[str, str] = {}
        self.lost_keywords: set[str] = set()

    def folder_path(self, name: str) -> Path:
        if name == "INBOX":
            return self.root
        levels = name.split("/")
        if self.layout == "fs":
            return self.root.joinpath(*(encode_mutf7(level) for level in levels))
        escaped = [encode_mutf7(level).replace("\\", "\\5c").replace(".", "\\2e") for level in levels]
        return self.root / ("." + ".".join(escaped))

    def begin_folder(self, name: str) -> None:
        self._dir = self.folder_path(name)
        for sub in ("cur", "new", "tmp"):
            (self._dir / sub).mkdir(parents=True, exist_ok=True)
        if self.layout == "maildir++" and name != "INBOX":
            (self._dir / "maildirfolder").touch()
        self._keywords = {}

    def add(self, raw: bytes, flags: frozenset[str], when: datetime) -> None:
        self._seq += 1
        stamp = when.timestamp()
        letters = sorted(LETTERS[f.lower()] for f in flags if f.lower() in LETTERS)
        for keyword in sorted(f for f in flags if f.lower() not in LETTERS and not f.startswith("\\")):
            letter = self._keyword_letter(keyword)
            if letter:
                letters.append(letter)
        info = "".join(sorted(letters))
        name = f"{int(stamp)}.M{int(stamp * 1e6) % 1000000}P{os.getpid()}Q{self._seq}.{self.host},S={len(raw)}"
        tmp = self._dir / "tmp" / name
        with open(tmp, "wb") as f:
            f.write(raw)
        os.utime(tmp, (stamp, stamp))
        os.rename(tmp, self._dir / "cur" / f"{name}:2,{info}")

    def _keyword_letter(self, keyword: str) -> str:
        if keyword not in self._keywords:
            if len(self._keywords) >= 26:
                self.lost_keywords.add(keyword)
                return ""
            self._keywords[keyword] = chr(ord("a") + len(self._keywords))
        return self._keywords[keyword]

    def end_folder(self) -> None:
        if self._keywords:
            lines = [f"{ord(letter) - ord('a')} {kw}\n" for kw, letter in self._keywords.items()]
            (self._dir / KEYWORDS_FILE).write_text("".join(lines), "utf-8")

    def close(self) -> None:
        pass
