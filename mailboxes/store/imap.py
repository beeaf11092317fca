"""What the IMAP server needs from the store beyond the shared calls.

* :func:`fetch_messages`: one page of a FETCH, with only what it asked for:
  flags and dates, the facts parsed at delivery, the header bytes only
  (cut in the database) or the whole message, and a byte budget so a page
  of large messages stays small in memory.
* :func:`search_uids`: one page of SEARCH results, optionally with the
  highest modseq among them (RFC 7162 3.1.5).
* :func:`search_stats`: COUNT/MIN/MAX for ESEARCH (RFC 4731) without
  listing the matches.
* :func:`sort_rows`: what SORT compares (RFC 5256) for every match, in one
  query: decoded subject, dates, size and the first From/To/Cc address,
  read out of the stored envelope without loading the rest of it.
* :func:`thread_rows`: what THREAD (RFC 5256) links by for every match, in
  one query: Message-ID, In-Reply-To, the References field (cut out of the
  stored header in the database, at most ``REFERENCES_WINDOW`` characters),
  subject and dates, as :class:`~.threading.ThreadRow` for
  :func:`~.threading.thread`.
* :func:`folders_with_status`: LIST with RETURN STATUS (RFC 5819) in one call.
* :func:`quota_root`: the account's usage once the mailbox is known to exist
  (GETQUOTAROOT, RFC 9208).

All are read-only and cost a fixed number of queries whatever the number
of messages; FETCH, SEARCH, ESEARCH and SORT are single statements run
without a transaction around them (no BEGIN/COMMIT round trips). A folder that is not the
account's (or no longer exists) has no messages here; the session learns
of a deleted mailbox from ``changes_since``.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from django.db import connection
from django.db.models import Case, Count, F, Max, Min, Value, When
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Concat, Lower, StrIndex, Substr

from ..models import Blob, Folder, Message
from . import _sql
from ._db import atomic, no_transaction
from .accounts import quota_usage
from .folders import all_folder_status, get_folder, list_folders
from .search import Criterion, to_q, to_sql
from .threading import ThreadRow, message_ids
from .types import FLAG_COLUMNS, FolderInfo, FolderStatus, MessageInfo, QuotaUsage, UidRanges

__all__ = [
    "SearchPage",
    "SearchStats",
    "SortRow",
    "fetch_messages",
    "folders_with_status",
    "quota_root",
    "search_stats",
    "search_uids",
    "sort_rows",
    "thread_rows",
]

Content = Literal["header", "full"]


@dataclass(frozen=True)
class SearchPage:
    uids: list[int]
    # Highest modseq of the messages in `uids` (0 when not asked or none).
    highest_modseq: int = 0


@dataclass(frozen=True)
class SearchStats:
    count: int
    min_uid: int | None
    max_uid: int | None
    highest_modseq: int


@no_transaction
def fetch_messages(
    account_id: int,
    folder_id: int,
    ranges: UidRanges,
    *,
    envelope: bool = False,
    structure: bool = False,
    content: Content | None = None,
    changedsince: int | None = None,
    limit: int = 1000,
    max_bytes: int = 8 << 20,
    preview: bool = False,
    dates: bool = True,
) -> list[MessageInfo]:
    """Messages in the UID ranges, ascending by UID, at most `limit`.

    Only what is asked for is read: `envelope`, `structure` (with
    header_bytes), and the message bytes: content "header" puts the header
    block alone in `data`; "full" the whole message, and the page then stops
    early once `max_bytes` of messages are in it (always at least one);
    `preview` the text preview made at delivery; without `dates` the
    internal date is not read (None): converting it was a fifth of the
    CPU of `FETCH 1:* (UID FLAGS)` on a big folder.
    changedsince: only messages with a higher modseq (RFC 7162 CHANGEDSINCE).
    Callers page by UID after the last one. This is the hot path of every
    FETCH: one hand-written statement, rows as tuples, no transaction. With
    "full", a running total of the sizes (a window over the page in UID
    order) decides which rows bring their bytes: those within `max_bytes`,
    and always the first; the page ends at the first row without them.
    """
    uids, params = _sql.uids_where(ranges)
    extra: dict[str, str] = {}  # the optional columns: name -> SQL
    if envelope:
        extra["envelope"] = "b.envelope"
    if structure or content:
        extra.update(structure="b.structure", header_bytes="b.header_bytes")
    if content == "header":
        extra["head"] = "SUBSTR(b.data, 1, b.header_bytes)"
    if preview:
        extra["preview"] = "b.preview"
    budget: list[object] = []
    if content == "full":
        extra["full"] = "CASE WHEN SUM(m.size) OVER w <= %s OR ROW_NUMBER() OVER w = 1 THEN b.data END"
        budget = [max_bytes]
    join = f" JOIN {_sql.table(Blob)} b ON b.sha256 = m.blob_id" if extra else ""
    where = f"m.folder_id = %s AND f.owner_id = %s AND {uids}"
    params = [folder_id, account_id, *params]
    if changedsince is not None:
        where, params = f"{where} AND m.modseq > %s", [*params, changedsince]
    flags = ", ".join(f"m.{column}" for column in FLAG_COLUMNS.values())
    window = " WINDOW w AS (ORDER BY m.uid ROWS UNBOUNDED PRECEDING)" if budget else ""
    with _sql.prepared(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT m.uid, m.modseq, m.keywords, {'m.internal_date' if dates else 'NULL'}, m.size,"
            f" m.blob_id, {flags}"
            + "".join(f", {column}" for column in extra.values())
            + f" FROM {_sql.table(Message)} m JOIN {_sql.table(Folder)} f ON f.id = m.folder_id{join}"
            f" WHERE {where}{window} ORDER BY m.uid LIMIT %s",
            [*budget, *params, limit],
        )
        rows = cursor.fetchall()
    if budget:  # the page ends where the bytes stop
        rows = list(itertools.takewhile(lambda row: row[-1] is not None, rows))
    datetimes = _sql.datetime_reader(Message, "internal_date")
    out = []
    for uid, modseq, keywords, internal_date, size, sha, *columns in rows:
        flags, facts = columns[: len(FLAG_COLUMNS)], dict(zip(extra, columns[len(FLAG_COLUMNS) :]))
        envelope_json, structure_json, head = facts.get("envelope"), facts.get("structure"), facts.get("head")
        out.append(
            MessageInfo(
                uid=uid,
                modseq=modseq,
                flags=_sql.flag_set(flags, keywords),
                internal_date=None if internal_date is None else datetimes(internal_date),
                size=size,
                blob=sha,
                envelope=None if envelope_json is None else json.loads(envelope_json),
                structure=None if structure_json is None else json.loads(structure_json),
                header_bytes=facts.get("header_bytes") or 0,
                preview=facts.get("preview"),
                data=bytes(facts["full"]) if budget else None if head is None else bytes(head),
            )
        )
    return out


def _messages(account_id: int, folder_id: int):  # type: ignore[no-untyped-def]
    """The folder's messages, if the folder is the account's: the owner check
    rides on the query itself (a folder that is gone simply has none)."""
    return Message.objects.filter(folder_id=folder_id, folder__owner_id=account_id)


def _matching(account_id: int, folder_id: int, criterion: Criterion):  # type: ignore[no-untyped-def]
    return _messages(account_id, folder_id).filter(to_q(criterion))


@no_transaction
def search_uids(
    account_id: int,
    folder_id: int,
    criterion: Criterion,
    *,
    after_uid: int = 0,
    limit: int | None = None,
    modseq: bool = False,
) -> SearchPage:
    """UIDs matching criterion, ascending, paged by `after_uid` and `limit`."""
    raw = _raw_matching(account_id, folder_id, criterion)
    if raw is not None:
        where, params = raw
        columns = "uid, modseq" if modseq else "uid"
        page = f" LIMIT {int(limit)}" if limit is not None else ""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {columns} FROM {_sql.table(Message)} WHERE {where} AND uid > %s ORDER BY uid{page}",
                [*params, after_uid],
            )
            rows = cursor.fetchall()
    else:
        qs = _matching(account_id, folder_id, criterion).filter(uid__gt=after_uid).order_by("uid")
        if limit is not None:
            qs = qs[:limit]
        rows = list(qs.values_list("uid", "modseq") if modseq else qs.values_list("uid"))
    return SearchPage([row[0] for row in rows], max((row[1] for row in rows), default=0) if modseq else 0)


@dataclass(frozen=True)
class UidText:
    """A page of matching UIDs as a SEARCH response writes them (b" 4 7 9")."""

    count: int
    last: int  # the highest UID in the page (0: none)
    text: bytes


@no_transaction
def search_uid_text(
    account_id: int, folder_id: int, criterion: Criterion, *, after_uid: int = 0, limit: int = 50_000
) -> UidText:
    """search_uids' page as the text of a UID SEARCH response. On PostgreSQL
    the text is made by the database (one row, not one per match): for the
    20,000 unseen messages of a 100,000-message folder, the worker's 5 ms of
    reading rows and writing numbers became 1 ms more in PostgreSQL. The
    numbers are ascending as the page is read (PostgreSQL's aggregate keeps
    the order of its sorted input in such a plan; RFC 3501 7.2.5 asks for no order)."""
    raw = _raw_matching(account_id, folder_id, criterion) if connection.vendor == "postgresql" else None
    if raw is None:
        uids = search_uids(account_id, folder_id, criterion, after_uid=after_uid, limit=limit).uids
        return UidText(len(uids), uids[-1] if uids else 0, b"".join(b" %d" % uid for uid in uids))
    where, params = raw
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), COALESCE(max(uid), 0), COALESCE(string_agg(uid::text, ' '), '') FROM "
            f"(SELECT uid FROM {_sql.table(Message)} WHERE {where} AND uid > %s ORDER BY uid LIMIT %s) page",
            [*params, after_uid, limit],
        )
        count, last, text = cursor.fetchone()
    return UidText(count, last, b" " + text.encode("ascii") if count else b"")


def _raw_matching(account_id: int, folder_id: int, criterion: Criterion) -> tuple[str, list[object]] | None:
    """A hand-written condition for the folder's matching messages (the owner
    checked by a subquery), when the criterion needs no ORM (search.to_sql)."""
    condition = to_sql(criterion)
    if condition is None:
        return None
    return (
        f"folder_id = (SELECT id FROM {_sql.table(Folder)} WHERE id = %s AND owner_id = %s) AND {condition[0]}",
        [folder_id, account_id, *condition[1]],
    )


@dataclass(frozen=True)
class SortRow:
    """One message as SORT sees it; addresses are (name, mailbox, host) of the first one."""

    uid: int
    subject: str
    sent_date: datetime | None
    internal_date: datetime
    size: int
    from_: tuple[str | None, str | None, str | None]
    to: tuple[str | None, str | None, str | None]
    cc: tuple[str | None, str | None, str | None]


_ADDRESS_FIELDS = ("from", "to", "cc")


@no_transaction
def sort_rows(account_id: int, folder_id: int, criterion: Criterion) -> list[SortRow]:
    """The sort facts of every message matching criterion, ascending by UID."""
    parts = {
        f"{field}_{part}": KeyTextTransform(str(index), KeyTransform("0", KeyTransform(field, F("blob__envelope"))))
        for field in _ADDRESS_FIELDS
        for part, index in (("name", 0), ("mailbox", 2), ("host", 3))
    }
    rows = (
        _matching(account_id, folder_id, criterion)
        .order_by("uid")
        .values("uid", "blob__subject", "blob__sent_date", "internal_date", "size", **parts)
    )
    return [
        SortRow(
            r["uid"],
            r["blob__subject"],
            r["blob__sent_date"],
            r["internal_date"],
            r["size"],
            *((r[f"{f}_name"], r[f"{f}_mailbox"], r[f"{f}_host"]) for f in _ADDRESS_FIELDS),
        )
        for r in rows
    ]


#: Characters of the References field read per message: some 100 ids.
REFERENCES_WINDOW = 8000
_FIELD_VALUE = re.compile(r"\n[^:\n]*:((?:[^\n]|\n[ \t])*)")


@no_transaction
def thread_rows(account_id: int, folder_id: int, criterion: Criterion) -> list[ThreadRow]:
    """The threading facts of every message matching criterion, ascending by UID."""
    # The field's start found and cut in the database: no whole header leaves it.
    header = Concat(Value("\n"), F("blob__header_text"))
    start = StrIndex(Lower(header), Value("\nreferences:"))
    rows = (
        _matching(account_id, folder_id, criterion)
        .order_by("uid")
        .annotate(refs_at=start)
        .annotate(
            refs=Case(When(refs_at__gt=0, then=Substr(header, F("refs_at"), REFERENCES_WINDOW)), default=Value("")),
            in_reply_to=KeyTextTransform("in_reply_to", "blob__envelope"),
        )
        .values("uid", "blob__message_id", "refs", "in_reply_to", "blob__subject", "blob__sent_date", "internal_date")
    )
    out = []
    for r in rows:
        field = _FIELD_VALUE.match(r["refs"] or "")
        references = message_ids(field.group(1)) if field else []
        if not references:
            references = message_ids(r["in_reply_to"] or "")[:1]  # RFC 5256 3 (1)(A)
        own = message_ids(r["blob__message_id"])
        out.append(
            ThreadRow(
                r["uid"],
                own[0] if own else "",
                tuple(references),
                r["blob__subject"],
                r["blob__sent_date"] or r["internal_date"],
            )
        )
    return out


@no_transaction
def search_stats(account_id: int, folder_id: int, criterion: Criterion) -> SearchStats:
    """How many messages match, the lowest and highest UID among them and
    their highest modseq, in one aggregate query."""
    raw = _raw_matching(account_id, folder_id, criterion)
    if raw is None:
        agg = _matching(account_id, folder_id, criterion).aggregate(
            n=Count("id"), lo=Min("uid"), hi=Max("uid"), modseq=Max("modseq")
        )
        return SearchStats(agg["n"], agg["lo"], agg["hi"], agg["modseq"] or 0)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), MIN(uid), MAX(uid), MAX(modseq) FROM {_sql.table(Message)} WHERE {raw[0]}", raw[1]
        )
        count, lo, hi, highest = cursor.fetchone()
    return SearchStats(count, lo, hi, highest or 0)


@atomic
def folders_with_status(account_id: int) -> list[tuple[FolderInfo, FolderStatus]]:
    """Every folder with its STATUS counters, in name order."""
    status = {st.id: st for st in all_folder_status(account_id)}
    return [(info, status[info.id]) for info in list_folders(account_id) if info.id in status]


@atomic
def quota_root(account_id: int, mailbox: str) -> QuotaUsage:
    """The usage of the account owning `mailbox` (raises NoSuchFolder)."""
    get_folder(account_id, mailbox)
    return quota_usage(account_id)
