"""Hand-written SQL for the store's hot paths, in the dialect PostgreSQL and
SQLite share (docs/PERFORMANCE.md, "IMAP command path": building a query
through the ORM cost more CPU than running it).

Rows come back as tuples; a message's flags are read as the five flag
columns (in :data:`FLAG_COLUMNS` order, :data:`FLAGS_SQL`) and its keywords
(JSON text on both databases, as Django's backends return it).
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection

from .errors import NoSuchFolder
from .types import FLAG_COLUMNS, UidRanges

FLAG_NAMES = tuple(FLAG_COLUMNS)
FLAGS_SQL = ", ".join(FLAG_COLUMNS.values())
MAX_RANGES_IN_QUERY = 200
#: The columns every INSERT of message rows writes, in this order (messages.py, delivery.py).
MESSAGE_COLUMNS = f"folder_id, uid, modseq, {FLAGS_SQL}, keywords, internal_date, size, blob_id"


@functools.cache
def table(model: type) -> str:
    # Once per model: Django's `connection` is a thread-local proxy, a cost
    # each statement paid several times. Both backends (PostgreSQL, SQLite)
    # quote alike, so the answer does not depend on the connection.
    return connection.ops.quote_name(model._meta.db_table)  # type: ignore[attr-defined]


@contextlib.contextmanager
def bound_cursor() -> Iterator[Any]:
    """PostgreSQL: a cursor on Django's connection (in its transaction, if
    one is open) that sends the parameters apart from the statement, bytes
    in binary. Django's cursors bind on the client, quoting every value
    into the statement's text: for a message's bytes (hex-escaped, twice
    their size) that cost more CPU than the rest of a delivery
    (docs/PERFORMANCE.md, "SMTP accept-and-store"). Not seen by Django's
    query log or execute wrappers; its errors are Django's, as a Django
    cursor's are (so a lost database is the store's Unavailable)."""
    import psycopg

    with connection.wrap_database_errors:
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            yield cursor


@contextlib.contextmanager
def prepared() -> Iterator[None]:
    """PostgreSQL (MAIL_DB_PREPARED): the statements run inside are prepared
    on their connection at their second use there, so PostgreSQL parses them
    once and, once it finds a generic plan no worse than the custom ones,
    plans them once too: a third of its CPU per IMAP command and per
    delivery. Only around the hot statements that find rows by key (a
    folder, an account, UIDs), for which one plan fits every value. Never
    around a search: the plan of a LIKE depends on its pattern, and the
    generic one PostgreSQL settled on after five runs took SEARCH TEXT on
    100,000 messages from 20 ms to 2.6 s (docs/PERFORMANCE.md, "Prepared
    statements"). Elsewhere nothing is prepared (psycopg's threshold is off)."""
    if connection.vendor != "postgresql" or not settings.MAIL_DB_PREPARED:
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    saved, raw.prepare_threshold = raw.prepare_threshold, 1
    try:
        yield
    finally:
        raw.prepare_threshold = saved


def placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


#: One row's placeholders for MESSAGE_COLUMNS.
MESSAGE_ROW = "(" + placeholders(len(MESSAGE_COLUMNS.split(", "))) + ")"


def row_lock() -> str:
    """FOR UPDATE on PostgreSQL; SQLite has one writer at a time (BEGIN IMMEDIATE) and no row locks."""
    return " FOR UPDATE" if connection.vendor == "postgresql" else ""


def split_ranges(ranges: UidRanges) -> tuple[list[int], list[tuple[int, int]]]:
    """Single UIDs and spans; with very many ranges, short spans become single UIDs too."""
    many = len(ranges) > MAX_RANGES_IN_QUERY
    singles: list[int] = []
    spans: list[tuple[int, int]] = []
    for lo, hi in ranges:
        if lo == hi or (many and hi - lo < 64):
            singles.extend(range(lo, hi + 1))
        else:
            spans.append((lo, hi))
    return singles, spans


def uids_where(ranges: UidRanges, column: str = "uid") -> tuple[str, list[int]]:
    """A condition on `column` (the uid) for a UID set given as inclusive ranges."""
    if not ranges:
        return "1 = 0", []
    singles, spans = split_ranges(ranges)
    parts = [f"{column} IN ({placeholders(len(singles))})"] if singles else []
    parts += [f"{column} BETWEEN %s AND %s"] * len(spans)
    return "(" + " OR ".join(parts) + ")", [*singles, *(n for span in spans for n in span)]


def keyword_list(value: Any) -> list[str]:
    """The keywords column as read by a raw cursor (JSON text), or a list already."""
    if isinstance(value, str):
        return [] if value == "[]" else json.loads(value)
    return list(value or ())


#: System flag sets by the flag columns' values: a big FETCH builds one per row.
_SYSTEM_SETS: dict[tuple[Any, ...], frozenset[str]] = {}


def flag_set(columns: Iterable[Any], keywords: Any) -> frozenset[str]:
    """Flags from the flag columns (FLAG_COLUMNS order) and the keywords column."""
    key = tuple(columns)
    system = _SYSTEM_SETS.get(key)
    if system is None:
        system = _SYSTEM_SETS[key] = frozenset(name for name, on in zip(FLAG_NAMES, key) if on)
    if keywords == "[]" or not keywords:
        return system
    return system | frozenset(keyword_list(keywords))


def datetime_reader(model: type, name: str) -> Callable[[Any], datetime]:
    """How a raw cursor's timestamp column becomes an aware datetime: PostgreSQL's
    driver gives one already, SQLite gives text (the ORM's own converter)."""
    if connection.vendor != "sqlite":
        return lambda value: value
    convert = connection.ops.convert_datetimefield_value
    field = model._meta.get_field(name)  # type: ignore[attr-defined]
    return lambda value: convert(value, field, connection)


def highestmodseq_locked(cursor: Any, account_id: int, folder_id: int) -> int:
    """Lock the account's folder row (the writers' first lock, DESIGN.md) and read its highest modseq."""
    from ..models import Folder

    cursor.execute(
        f"SELECT highestmodseq FROM {table(Folder)} WHERE id = %s AND owner_id = %s{row_lock()}",
        [folder_id, account_id],
    )
    row = cursor.fetchone()
    if row is None:
        raise NoSuchFolder("that folder no longer exists")
    return int(row[0])
