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
* :func:`folders_with_status`: LIST with RETURN STATUS (RFC 5819) in one call.
* :func:`quota_root`: the account's usage once the mailbox is known to exist
  (GETQUOTAROOT, RFC 9208).

All are read-only, one transaction each, and cost a fixed number of
queries whatever the number of messages. A folder that is not the
account's (or no longer exists) has no messages here; the session learns
of a deleted mailbox from ``changes_since``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from datetime import datetime

from django.db.models import BinaryField, Count, F, Max, Min
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Substr

from ..models import Blob, Message
from ._db import atomic
from .accounts import quota_usage
from .folders import all_folder_status, get_folder, list_folders
from .messages import uid_q
from .search import Criterion, to_q
from .types import FLAG_COLUMNS, FolderInfo, FolderStatus, MessageInfo, QuotaUsage, UidRanges

__all__ = ["SearchPage", "SearchStats", "SortRow", "fetch_messages", "folders_with_status", "quota_root",
           "search_stats", "search_uids", "sort_rows"]

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


@atomic
def fetch_messages(account_id: int, folder_id: int, ranges: UidRanges, *, envelope: bool = False,
                   structure: bool = False, content: Content | None = None, changedsince: int | None = None,
                   limit: int = 1000, max_bytes: int = 8 << 20) -> list[MessageInfo]:
    """Messages in the UID ranges, ascending by UID, at most `limit`.

    Only what is asked for is read: `envelope`, `structure` (with
    header_bytes), and the message bytes: content "header" puts the header
    block alone in `data`; "full" the whole message, and the page then stops
    early once `max_bytes` of messages are in it (always at least one).
    changedsince: only messages with a higher modseq (RFC 7162 CHANGEDSINCE).
    Callers page by UID after the last one. Rows are read as tuples, not
    model instances: this is the hot path of FETCH 1:*.
    """
    qs = _messages(account_id, folder_id).filter(uid_q(ranges))
    if changedsince is not None:
        qs = qs.filter(modseq__gt=changedsince)
    fields = ["uid", "modseq", "keywords", "internal_date", "size", "blob_id", *FLAG_COLUMNS.values()]
    extra = []
    if envelope:
        extra.append("blob__envelope")
    if structure or content:
        extra += ["blob__structure", "blob__header_bytes"]
    if content == "header":
        qs = qs.annotate(head=Substr(F("blob__data"), 1, F("blob__header_bytes"), output_field=BinaryField()))
        extra.append("head")
    rows = list(qs.order_by("uid").values_list(*fields, *extra)[:limit])
    data: dict[str, bytes] = {}
    if content == "full":
        total = 0
        for index, row in enumerate(rows):
            total += row[4]
            if total > max_bytes and index > 0:
                rows = rows[:index]
                break
        shas = {row[5] for row in rows}
        data = {sha: bytes(raw) for sha, raw in Blob.objects.filter(pk__in=shas).values_list("sha256", "data")}
    names = list(FLAG_COLUMNS)
    out = []
    for row in rows:
        uid, modseq, keywords, internal_date, size, sha = row[:6]
        facts = dict(zip(extra, row[len(fields):]))
        flags = {name for name, on in zip(names, row[6:len(fields)]) if on}
        flags.update(keywords)
        raw = facts.get("head")
        out.append(MessageInfo(
            uid=uid, modseq=modseq, flags=frozenset(flags), internal_date=internal_date, size=size, blob=sha,
            envelope=facts.get("blob__envelope"), structure=facts.get("blob__structure"),
            header_bytes=facts.get("blob__header_bytes") or 0,
            data=data.get(sha, b"") if content == "full" else None if raw is None else bytes(raw)))
    return out


def _messages(account_id: int, folder_id: int):  # type: ignore[no-untyped-def]
    """The folder's messages, if the folder is the account's: the owner check
    rides on the query itself (a folder that is gone simply has none)."""
    return Message.objects.filter(folder_id=folder_id, folder__owner_id=account_id)


def _matching(account_id: int, folder_id: int, criterion: Criterion):  # type: ignore[no-untyped-def]
    return _messages(account_id, folder_id).filter(to_q(criterion))


@atomic
def search_uids(account_id: int, folder_id: int, criterion: Criterion, *, after_uid: int = 0,
                limit: int | None = None, modseq: bool = False) -> SearchPage:
    """UIDs matching criterion, ascending, paged by `after_uid` and `limit`."""
    qs = _matching(account_id, folder_id, criterion).filter(uid__gt=after_uid).order_by("uid")
    if limit is not None:
        qs = qs[:limit]
    if not modseq:
        return SearchPage(list(qs.values_list("uid", flat=True)))
    rows = list(qs.values_list("uid", "modseq"))
    return SearchPage([uid for uid, _ in rows], max((m for _, m in rows), default=0))


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


@atomic
def sort_rows(account_id: int, folder_id: int, criterion: Criterion) -> list[SortRow]:
    """The sort facts of every message matching criterion, ascending by UID."""
    parts = {f"{field}_{part}": KeyTextTransform(str(index), KeyTransform("0", KeyTransform(field, F("blob__envelope"))))
             for field in _ADDRESS_FIELDS for part, index in (("name", 0), ("mailbox", 2), ("host", 3))}
    rows = _matching(account_id, folder_id, criterion).order_by("uid").values(
        "uid", "blob__subject", "blob__sent_date", "internal_date", "size", **parts)
    return [SortRow(r["uid"], r["blob__subject"], r["blob__sent_date"], r["internal_date"], r["size"],
                    *((r[f"{f}_name"], r[f"{f}_mailbox"], r[f"{f}_host"]) for f in _ADDRESS_FIELDS))
            for r in rows]


@atomic
def search_stats(account_id: int, folder_id: int, criterion: Criterion) -> SearchStats:
    """How many messages match, the lowest and highest UID among them and
    their highest modseq, in one aggregate query."""
    agg = _matching(account_id, folder_id, criterion).aggregate(
        n=Count("id"), lo=Min("uid"), hi=Max("uid"), modseq=Max("modseq"))
    return SearchStats(agg["n"], agg["lo"], agg["hi"], agg["modseq"] or 0)


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
