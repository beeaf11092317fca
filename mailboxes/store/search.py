"""Search criteria answered by the database, never by loading messages.

A small typed tree that any front door builds (the IMAP session translates
RFC 3501 SEARCH keys to it; the webmail builds it from its form). Text
matches are case-insensitive substring matches over the facts parsed at
delivery; on PostgreSQL the body, header text, subject, From and To ones are
served by trigram indexes (migration 0002), Cc and HEADER field ones scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from django.db.models import BooleanField, F, Q
from django.db.models.expressions import RawSQL

from ..models import Message
from . import _sql
from ._db import atomic
from .folders import folder_by_id
from .types import FLAG_COLUMNS


@dataclass(frozen=True)
class All:
    pass


@dataclass(frozen=True)
class And:
    items: tuple[Criterion, ...]


@dataclass(frozen=True)
class Or:
    left: Criterion
    right: Criterion


@dataclass(frozen=True)
class Not:
    item: Criterion


@dataclass(frozen=True)
class Flag:
    """A system flag (\\Seen ...) or keyword, present or absent."""

    name: str
    present: bool = True


@dataclass(frozen=True)
class Uids:
    ranges: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Header:
    """field: a header name; 'from', 'to', 'cc', 'bcc', 'subject' use parsed facts."""

    field: str
    text: str


@dataclass(frozen=True)
class Address:
    """A whole address among a field's ('from', 'to', 'cc', 'bcc'),
    case-insensitive: al@example.test, not within sal@example.test."""

    field: str
    address: str


@dataclass(frozen=True)
class Text:
    """where: 'body' (body text) or 'text' (headers and body)."""

    text: str
    where: str = "text"


@dataclass(frozen=True)
class Date:
    """which: 'internal' or 'sent'; op: 'before', 'on', 'since' (RFC 3501: date only)."""

    which: Literal["internal", "sent"]
    op: Literal["before", "on", "since"]
    day: date


@dataclass(frozen=True)
class Size:
    op: Literal["larger", "smaller"]
    octets: int


@dataclass(frozen=True)
class ModSeq:
    at_least: int


@dataclass(frozen=True)
class Content:
    """Messages whose stored bytes have this SHA-256 (IMAP EMAILID, RFC 8474)."""

    sha256: str


Criterion = All | And | Or | Not | Flag | Uids | Header | Address | Text | Date | Size | ModSeq | Content

_FACT_FIELDS = {
    "from": "blob__from_text",
    "to": "blob__to_text",
    "cc": "blob__cc_text",
    "bcc": "blob__bcc_text",
    "subject": "blob__subject",
    "message-id": "blob__message_id",
}


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def to_q(c: Criterion) -> Q:
    """The criterion as an ORM filter on Message. What to_sql can say (the
    message row's own columns) it says, as raw SQL inside the filter; the
    rest (text, headers, dates, keywords) is the ORM's."""
    if isinstance(c, All):
        return Q()
    condition = to_sql(c)
    if condition is not None:
        return Q(RawSQL(condition[0], condition[1], output_field=BooleanField()))
    if isinstance(c, And):
        q = Q()
        for item in c.items:
            q &= to_q(item)
        return q
    if isinstance(c, Or):
        return to_q(c.left) | to_q(c.right)
    if isinstance(c, Not):
        inner = to_q(c.item)
        # ~Q() would filter nothing: NOT of what matches all matches none.
        return ~inner if inner else Q(pk__in=[])
    if isinstance(c, Flag):  # a keyword: to_sql has the system flags
        has = Q(keywords__contains=[c.name]) if _json_contains() else Q(keywords__icontains=f'"{c.name}"')
        return has if c.present else ~has
    if isinstance(c, Header):
        name = c.field.lower()
        if name in _FACT_FIELDS and c.text:
            return Q(**{f"{_FACT_FIELDS[name]}__icontains": c.text})
        # RFC 3501 6.4.4: HEADER field "" matches every message having that
        # field, and none without it (also for the fields kept decoded).
        return Q(blob__header_text__iregex=rf"(^|\n){_re_escape(name)}[ \t]*:[^\n]*{_re_escape(c.text)}")
    if isinstance(c, Address):
        # The substring (which the trigram index answers), then the address
        # bounded as the fields write it ("Name <a@b>, c@d"): the start, a
        # space, '<', ',' or '"' before it, the end or one of those after it.
        column = _FACT_FIELDS[c.field.lower()]
        bounded = rf"(^|[\s<,\"]){_re_escape(c.address)}($|[\s>,\"])"
        return Q(**{f"{column}__icontains": c.address, f"{column}__iregex": bounded})
    if isinstance(c, Text):
        body = Q(blob__body_text__icontains=c.text)
        return body if c.where == "body" else body | Q(blob__header_text__icontains=c.text)
    if isinstance(c, Date) and c.which == "sent":
        # RFC 3501 6.4.4: SENT* compare the Date: field's date "disregarding
        # time and timezone", i.e. the day it names in its own zone.
        lookup = {"before": "lt", "on": "exact", "since": "gte"}[c.op]
        return Q(**{f"blob__sent_day__{lookup}": c.day})
    if isinstance(c, Date):
        column = "internal_date"
        start, end = _day_bounds(c.day)
        if c.op == "before":
            return Q(**{f"{column}__lt": start})
        if c.op == "on":
            return Q(**{f"{column}__gte": start, f"{column}__lt": end})
        return Q(**{f"{column}__gte": start})
    raise TypeError(f"not a search criterion: {c!r}")


def to_sql(c: Criterion) -> tuple[str, list[object]] | None:
    """The criterion as a condition on the message row's own columns, for
    the criteria that need nothing else (flags, UIDs, size, modseq, and any
    combination of them): the common IMAP searches, without the ORM's cost
    of building a query. None when a part needs the ORM's form (to_q):
    text, headers, dates and keywords. Columns are named with the message
    table's name, so the condition holds in a query that joins the blob
    (which has a size too) or the folder."""
    message = _sql.table(Message)
    if isinstance(c, All):
        return "1 = 1", []
    if isinstance(c, (And, Or)):
        parts = [to_sql(item) for item in (c.items if isinstance(c, And) else (c.left, c.right))]
        if not parts:
            return "1 = 1", []
        if any(part is None for part in parts):
            return None
        joiner = " AND " if isinstance(c, And) else " OR "
        return (
            "(" + joiner.join(part[0] for part in parts if part) + ")",
            [value for part in parts if part for value in part[1]],
        )
    if isinstance(c, Not):
        inner = to_sql(c.item)
        return None if inner is None else (f"NOT ({inner[0]})", inner[1])
    if isinstance(c, Flag):
        column = next((col for f, col in FLAG_COLUMNS.items() if f.lower() == c.name.lower()), None)
        if column is not None:
            return f"{message}.{column} = %s", [c.present]
        if c.name.lower() == "\\recent":
            return ("1 = 0" if c.present else "1 = 1"), []
        return None
    if isinstance(c, Uids):
        condition, params = _sql.uids_where(list(c.ranges), f"{message}.uid")
        return condition, list(params)
    if isinstance(c, Size):
        return (f"{message}.size > %s" if c.op == "larger" else f"{message}.size < %s"), [c.octets]
    if isinstance(c, ModSeq):
        return f"{message}.modseq >= %s", [c.at_least]
    if isinstance(c, Content):
        return f"{message}.blob_id = %s", [c.sha256]
    return None


def _re_escape(text: str) -> str:
    import re

    return re.escape(text)


def _json_contains() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


SORT_KEYS = {
    "arrival": "internal_date",
    "date": "blob__sent_date",
    "from": "blob__from_text",
    "to": "blob__to_text",
    "cc": "blob__cc_text",
    "subject": "blob__subject",
    "size": "size",
}


@atomic
def search(account_id: int, folder_id: int, criterion: Criterion, sort: tuple[tuple[str, bool], ...] = ()) -> list[int]:
    """UIDs of the folder's messages matching criterion, ascending by UID or
    by sort keys ((key, reverse), ...) with UID as the final tie-break."""
    folder_by_id(account_id, folder_id)
    qs = Message.objects.filter(folder_id=folder_id).filter(to_q(criterion))
    order = []
    for key, reverse in sort:
        field = F(SORT_KEYS[key])
        order.append(field.desc(nulls_last=True) if reverse else field.asc(nulls_first=True))
    order.append("uid")
    return list(qs.order_by(*order).values_list("uid", flat=True))
