"""SORT order (RFC 5256 section 3, RFC 5957 DISPLAYFROM/DISPLAYTO). Pure.

Compares what the store read for each match (``store.SortRow``): the base
subject (RFC 5256 2.1) of the decoded Subject, the first address's mailbox
for FROM/TO/CC, the display name (else address) for DISPLAYFROM/DISPLAYTO,
the sent date in UTC falling back to the internal date for DATE. Strings
compare with i;ascii-casemap; full ties keep sequence (UID) order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from mailboxes.mime import decode_header_value

from .commands import SortKey

__all__ = ["SortRowLike", "base_subject", "sort_uids"]

Address = tuple[str | None, str | None, str | None]

# subj-leader = (*subj-blob subj-refwd) / WSP; subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
_LEADER: Final = re.compile(r"(?:\[[^\[\]]*\]\s*)*(?:re|fwd?)\s*(?:\[[^\[\]]*\]\s*)?:|\s+", re.IGNORECASE)
_BLOB: Final = re.compile(r"\[[^\[\]]*\]\s*")
_ASCII_UPPER: Final = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


class SortRowLike(Protocol):
    @property
    def uid(self) -> int: ...
    @property
    def subject(self) -> str: ...
    @property
    def sent_date(self) -> datetime | None: ...
    @property
    def internal_date(self) -> datetime: ...
    @property
    def size(self) -> int: ...
    @property
    def from_(self) -> Address: ...
    @property
    def to(self) -> Address: ...
    @property
    def cc(self) -> Address: ...


def _casemap(text: str) -> str:
    """i;ascii-casemap (RFC 4790 9.2): only ASCII letters fold, to upper
    case, so "[" and "_" sort after the letters."""
    return text.translate(_ASCII_UPPER)


def base_subject(subject: str) -> str:
    """RFC 5256 2.1 steps 1-6 on an already decoded subject."""
    text = " ".join(subject.split())
    while True:
        # (2) trailing "(fwd)" and white space
        while True:
            stripped = text.rstrip()
            if stripped.lower().endswith("(fwd)"):
                text = stripped[:-5]
                continue
            text = stripped
            break
        # (3)-(5) leading "Re:", "Fwd:", "[blob]" and white space
        while True:
            leader = _LEADER.match(text)
            if leader is not None and leader.end() > 0:
                text = text[leader.end():]
                continue
            blob = _BLOB.match(text)
            if blob is not None and text[blob.end():].strip():
                text = text[blob.end():]
                continue
            break
        # (6) "[fwd: ...]"
        if text.lower().startswith("[fwd:") and text.endswith("]"):
            text = text[5:-1]
            continue
        return text


def _mailbox(address: Address) -> str:
    return _casemap(address[1] or "")


def _display(address: Address) -> str:
    name, mailbox, host = address
    if name:
        return _casemap(decode_header_value(name))
    return _casemap(f"{mailbox or ''}@{host or ''}" if mailbox or host else "")


def _sent(row: SortRowLike) -> datetime:
    when = row.sent_date or row.internal_date
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


_KEYS: Final[dict[str, Callable[[SortRowLike], Any]]] = {
    "ARRIVAL": lambda r: r.internal_date,
    "CC": lambda r: _mailbox(r.cc),
    "DATE": _sent,
    "FROM": lambda r: _mailbox(r.from_),
    "SIZE": lambda r: r.size,
    "SUBJECT": lambda r: _casemap(base_subject(r.subject)),
    "TO": lambda r: _mailbox(r.to),
    "DISPLAYFROM": lambda r: _display(r.from_),
    "DISPLAYTO": lambda r: _display(r.to),
}


def sort_uids(rows: Sequence[SortRowLike], keys: Sequence[SortKey]) -> list[int]:
    """UIDs of ``rows`` (given in UID order) in the order ``keys`` ask for."""
    ordered = list(rows)
    # Stable sorts from the least to the most significant key.
    for key in reversed(keys):
        ordered.sort(key=_KEYS[key.key], reverse=key.reverse)
    return [row.uid for row in ordered]
