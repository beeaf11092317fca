"""SORT order (RFC 5256 section 3, RFC 5957 DISPLAYFROM/DISPLAYTO). Pure.

Compares what the store read for each match (``store.SortRow``): the base
subject (RFC 5256 2.1, :func:`mailboxes.store.threading.base_subject`) of
the decoded Subject, the first address's mailbox for FROM/TO/CC, the
display name (else address) for DISPLAYFROM/DISPLAYTO, the sent date in
UTC falling back to the internal date for DATE. Strings
compare with i;ascii-casemap; full ties keep sequence (UID) order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from mailboxes.mime import decode_header_value
from mailboxes.store.threading import base_subject, casemap

from .commands import SortKey

__all__ = ["SortRowLike", "sort_uids"]

Address = tuple[str | None, str | None, str | None]


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


def _mailbox(address: Address) -> str:
    return casemap(address[1] or "")


def _display(address: Address) -> str:
    name, mailbox, host = address
    if name:
        return casemap(decode_header_value(name))
    return casemap(f"{mailbox or ''}@{host or ''}" if mailbox or host else "")


def _sent(row: SortRowLike) -> datetime:
    when = row.sent_date or row.internal_date
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


_KEYS: Final[dict[str, Callable[[SortRowLike], Any]]] = {
    "ARRIVAL": lambda r: r.internal_date,
    "CC": lambda r: _mailbox(r.cc),
    "DATE": _sent,
    "FROM": lambda r: _mailbox(r.from_),
    "SIZE": lambda r: r.size,
    "SUBJECT": lambda r: casemap(base_subject(r.subject)),
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
