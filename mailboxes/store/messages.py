"""Messages: append, fetch, flags, copy, move, expunge, changes (delivery is in delivery.py).

Every change allocates the folder's next modseq under a row lock on the
folder (SELECT ... FOR UPDATE), so UIDs and modseqs strictly ascend whatever
the number of concurrent writers, and stamps the rows it changed.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Sequence

from django.db.models import F, Q, Sum
from django.utils import timezone

from .. import mime
from ..models import Account, Blob, Expunged, Folder, Message
from . import events
from ._db import atomic
from .errors import InvalidInput, NoSuchAccount, OverQuota, TooBigForQuota
from .folders import folder_by_id, get_folder
from .types import (FLAG_COLUMNS, AppendResult, Changes, CopyResult, DeliveryReport, FlagChange,
                    MessageInfo, StoreFlagsResult, UidRanges)

log = logging.getLogger("mailboxes.store")
MAX_RANGES_IN_QUERY = 200
MAX_KEYWORDS = 64


# --- stored bytes ---------------------------------------------------------

@dataclass(frozen=True)
class PreparedBlob:
    """Bytes hashed and parsed outside any transaction (CPU work holds no lock)."""

    sha256: str
    raw: bytes
    parsed: mime.ParsedMessage


def prepare(raw: bytes) -> PreparedBlob:
    return PreparedBlob(hashlib.sha256(raw).hexdigest(), raw, mime.analyze(raw))


def _nul_free(value):  # type: ignore[no-untyped-def]
    """PostgreSQL text and jsonb cannot hold NUL characters."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_nul_free(v) for v in value]
    if isinstance(value, dict):
        return {k: _nul_free(v) for k, v in value.items()}
    return value


def _ensure_blob(blob: PreparedBlob) -> None:
    # New bytes are the common case: insert at once (one round trip, not a
    # look first); bytes stored already, or a racing delivery of the same
    # bytes, make it a no-op.
    Blob.objects.bulk_create([blob_row(blob)], ignore_conflicts=True)


def blob_row(blob: PreparedBlob) -> Blob:
    """The unsaved Blob row for prepared bytes (callers insert it with ignore_conflicts)."""
    p = blob.parsed
    return Blob(
        sha256=blob.sha256, data=blob.raw, size=len(blob.raw), header_bytes=p.header_bytes,
        envelope=_nul_free(p.envelope), structure=_nul_free(p.structure),
        subject=_nul_free(p.subject), from_text=_nul_free(p.from_), to_text=_nul_free(p.to),
        cc_text=_nul_free(p.cc), bcc_text=_nul_free(p.bcc), sent_date=p.date,
        message_id=_nul_free(p.message_id)[:2000],
        header_text=_nul_free(blob.raw[:p.header_bytes].decode("utf-8", "replace")),
        body_text=_nul_free(p.text), preview=_nul_free(p.preview)[:300],
        has_attachments=p.has_attachments)


# --- quota ----------------------------------------------------------------

def charge_quota(account_id: int, size: int) -> None:
    """Add size to the account's usage, atomically refusing to pass its quota."""
    updated = Account.objects.filter(pk=account_id).filter(
        Q(quota=0) | Q(used_bytes__lte=F("quota") - size)).update(used_bytes=F("used_bytes") + size)
    if updated:
        return
    quota = Account.objects.filter(pk=account_id).values_list("quota", flat=True).first()
    if quota is None:
        raise NoSuchAccount(f"no account #{account_id}")
    if size > quota:
        raise TooBigForQuota("the message is larger than the mailbox quota")
    raise OverQuota("the mailbox is full")


def release_quota(account_id: int, size: int) -> None:
    Account.objects.filter(pk=account_id).update(used_bytes=F("used_bytes") - size)


# --- shared mechanics -----------------------------------------------------

def uid_q(ranges: UidRanges) -> Q:
    """A filter for a UID set given as inclusive ranges."""
    if not ranges:
        return Q(pk__in=[])
    if len(ranges) > MAX_RANGES_IN_QUERY:
        singles = [u for lo, hi in ranges if hi - lo < 64 for u in range(lo, hi + 1)]
        big = [(lo, hi) for lo, hi in ranges if hi - lo >= 64]
        q = Q(uid__in=singles)
        for lo, hi in big:
            q |= Q(uid__gte=lo, uid__lte=hi)
        return q
    q = Q()
    for lo, hi in ranges:
        q |= Q(uid=lo) if lo == hi else Q(uid__gte=lo, uid__lte=hi)
    return q


def _next_modseq(folder: Folder, new_messages: int = 0) -> tuple[int, int]:
    """Allocate (first uid, modseq) on a folder locked by the caller."""
    first_uid = folder.uidnext
    folder.uidnext += new_messages
    folder.highestmodseq += 1
    Folder.objects.filter(pk=folder.pk).update(uidnext=folder.uidnext, highestmodseq=folder.highestmodseq)
    return first_uid, folder.highestmodseq


def flags_of(row: Message) -> frozenset[str]:
    flags = {name for name, column in FLAG_COLUMNS.items() if getattr(row, column)}
    flags.update(row.keywords)
    return frozenset(flags)


def _split_flags(flags: Iterable[str]) -> tuple[dict[str, bool], list[str]]:
    system: dict[str, bool] = {}
    keywords: list[str] = []
    for flag in flags:
        canonical = next((f for f in FLAG_COLUMNS if f.lower() == flag.lower()), None)
        if canonical:
            system[FLAG_COLUMNS[canonical]] = True
        elif flag.startswith("\\"):
            if flag.lower() == "\\recent":
                continue  # session state, never stored (RFC 3501 2.3.2)
            raise InvalidInput(f"unknown system flag {flag}")
        elif flag not in keywords:
            keywords.append(flag)
    if len(keywords) > MAX_KEYWORDS:
        raise InvalidInput("too many keywords")
    return system, keywords


def _insert(folder: Folder, items: Sequence[tuple[str, int, Iterable[str], datetime | None]]) -> tuple[list[int], int]:
    """Insert messages (blob sha, size, flags, internal date) into a locked folder."""
    first_uid, modseq = _next_modseq(folder, len(items))
    rows = []
    for offset, (sha, size, flags, when) in enumerate(items):
        system, keywords = _split_flags(flags)
        rows.append(Message(folder_id=folder.pk, uid=first_uid + offset, modseq=modseq, size=size,
                            blob_id=sha, keywords=keywords, internal_date=when or timezone.now(), **system))
    Message.objects.bulk_create(rows)
    events.publish_on_commit(folder.owner_id, folder.pk)
    return [first_uid + i for i in range(len(items))], modseq


def _info(row: Message, *, facts: bool = False, data: bool = False) -> MessageInfo:
    blob = row.blob if (facts or data) else None
    return MessageInfo(
        uid=row.uid, modseq=row.modseq, flags=flags_of(row), internal_date=row.internal_date,
        size=row.size, blob=row.blob_id,
        envelope=blob.envelope if blob and facts else None,
        structure=blob.structure if blob and facts else None,
        header_bytes=blob.header_bytes if blob and facts else 0,
        data=bytes(blob.data) if blob and data else None)


# --- appending ------------------------------------------------------------

def append(account_id: int, folder_name: str, raw: bytes, flags: Iterable[str] = (),
           internal_date: datetime | None = None) -> AppendResult:
    return _append(account_id, folder_name, prepare(raw), tuple(flags), internal_date)


@atomic
def _append(account_id: int, folder_name: str, blob: PreparedBlob, flags: tuple[str, ...],
            internal_date: datetime | None) -> AppendResult:
    _split_flags(flags)  # validate before taking locks
    folder = get_folder(account_id, folder_name, lock=True)
    _ensure_blob(blob)
    charge_quota(account_id, len(blob.raw))
    (uid,), _ = _insert(folder, [(blob.sha256, len(blob.raw), flags, internal_date)])
    return AppendResult(folder.pk, folder.uidvalidity, uid)


# --- reading --------------------------------------------------------------

@atomic
def fetch(account_id: int, folder_id: int, ranges: UidRanges, *, facts: bool = False,
          data: bool = False, limit: int = 1000) -> list[MessageInfo]:
    """Messages in the UID ranges, ascending, at most `limit` (callers page by UID)."""
    folder_by_id(account_id, folder_id)
    qs = Message.objects.filter(folder_id=folder_id).filter(uid_q(ranges)).order_by("uid")
    if facts and not data:
        qs = qs.select_related("blob").defer("blob__data", "blob__body_text", "blob__header_text")
    elif data:
        qs = qs.select_related("blob").defer("blob__body_text", "blob__header_text")
    return [_info(row, facts=facts, data=data) for row in qs[:limit]]


@atomic
def message_data(account_id: int, folder_id: int, uid: int) -> bytes:
    row = Message.objects.filter(folder__owner_id=account_id, folder_id=folder_id, uid=uid) \
        .values_list("blob__data", flat=True).first()
    if row is None:
        from .errors import NotFound
        raise NotFound("no such message")
    return bytes(row)


# --- flags ----------------------------------------------------------------

@atomic
def set_flags(account_id: int, folder_id: int, ranges: UidRanges, op: str, flags: Iterable[str],
              unchangedsince: int | None = None) -> StoreFlagsResult:
    """op: 'set' (replace), 'add' or 'remove'. Only rows whose flags really
    change get the new modseq (RFC 7162 3.2). UNCHANGEDSINCE refuses rows
    changed after that modseq and reports them as conflicts."""
    if op not in ("set", "add", "remove"):
        raise InvalidInput(f"bad flag operation {op}")
    system, keywords = _split_flags(flags)
    folder = folder_by_id(account_id, folder_id, lock=True)
    qs = Message.objects.filter(folder_id=folder_id).filter(uid_q(ranges))
    conflicts: list[int] = []
    if unchangedsince is not None:
        conflicts = list(qs.filter(modseq__gt=unchangedsince).order_by("uid").values_list("uid", flat=True))
        qs = qs.filter(modseq__lte=unchangedsince)
    modseq = folder.highestmodseq + 1
    changed: list[Message] = []
    for row in qs.only("id", "uid", "modseq", "keywords", *FLAG_COLUMNS.values()).order_by("uid").iterator(chunk_size=2000):
        before = flags_of(row)
        for column in FLAG_COLUMNS.values():
            if op == "set":
                setattr(row, column, system.get(column, False))
            elif column in system:
                setattr(row, column, op == "add")
        if op == "set":
            row.keywords = list(keywords)
        elif op == "add":
            row.keywords = row.keywords + [k for k in keywords if k not in row.keywords]
        else:
            row.keywords = [k for k in row.keywords if k not in keywords]
        if flags_of(row) != before:
            row.modseq = modseq
            changed.append(row)
    if changed:
        _next_modseq(folder)
        Message.objects.bulk_update(changed, ["modseq", "keywords", *FLAG_COLUMNS.values()], batch_size=1000)
        events.publish_on_commit(account_id, folder_id)
    return StoreFlagsResult([FlagChange(r.uid, flags_of(r), r.modseq) for r in changed],
                            folder.highestmodseq, conflicts)


# --- expunge, copy, move --------------------------------------------------

def _remove(folder: Folder, rows: list[tuple[int, int, int]]) -> int:
    """Delete (id, uid, size) rows from a locked folder, leaving tombstones."""
    if not rows:
        return folder.highestmodseq
    _, modseq = _next_modseq(folder)
    Message.objects.filter(pk__in=[r[0] for r in rows]).delete()
    Expunged.objects.bulk_create([Expunged(folder_id=folder.pk, uid=r[1], modseq=modseq) for r in rows],
                                 batch_size=2000)
    events.publish_on_commit(folder.owner_id, folder.pk)
    return modseq


@atomic
def expunge(account_id: int, folder_id: int, ranges: UidRanges | None = None) -> list[int]:
    """Remove messages flagged \\Deleted (only within ranges, for UID EXPUNGE)."""
    folder = folder_by_id(account_id, folder_id, lock=True)
    qs = Message.objects.filter(folder_id=folder_id, deleted=True)
    if ranges is not None:
        qs = qs.filter(uid_q(ranges))
    rows = list(qs.order_by("uid").values_list("id", "uid", "size"))
    _remove(folder, rows)
    freed = sum(r[2] for r in rows)
    if freed:
        release_quota(account_id, freed)
    return [r[1] for r in rows]


@atomic
def delete_messages(account_id: int, folder_id: int, ranges: UidRanges) -> list[int]:
    """Remove messages at once whatever their flags (POP3 UPDATE, webmail 'delete for good')."""
    folder = folder_by_id(account_id, folder_id, lock=True)
    rows = list(Message.objects.filter(folder_id=folder_id).filter(uid_q(ranges))
                .order_by("uid").values_list("id", "uid", "size"))
    _remove(folder, rows)
    freed = sum(r[2] for r in rows)
    if freed:
        release_quota(account_id, freed)
    return [r[1] for r in rows]


def _copy_into(account_id: int, source_id: int, ranges: UidRanges, dest: Folder,
               charge: bool) -> tuple[list[Message], list[int]]:
    rows = list(Message.objects.filter(folder_id=source_id).filter(uid_q(ranges)).order_by("uid"))
    if not rows:
        return [], []
    if charge:
        charge_quota(account_id, sum(r.size for r in rows))
    items = [(r.blob_id, r.size, flags_of(r), r.internal_date) for r in rows]
    dest_uids, _ = _insert(dest, items)
    return rows, dest_uids


@atomic
def copy(account_id: int, folder_id: int, ranges: UidRanges, dest_name: str) -> CopyResult:
    folder_by_id(account_id, folder_id)
    dest = get_folder(account_id, dest_name, lock=True)
    rows, dest_uids = _copy_into(account_id, folder_id, ranges, dest, charge=True)
    return CopyResult(dest.uidvalidity, [r.uid for r in rows], dest_uids)


@atomic
def move(account_id: int, folder_id: int, ranges: UidRanges, dest_name: str) -> CopyResult:
    """MOVE (RFC 6851): copy then expunge from the source, atomically."""
    dest = get_folder(account_id, dest_name)
    first, second = sorted([folder_id, dest.pk])
    locked = {f.pk: f for f in Folder.objects.select_for_update().filter(owner_id=account_id, pk__in=[first, second]).order_by("pk")}
    source = locked.get(folder_id)
    if source is None:
        from .errors import NoSuchFolder
        raise NoSuchFolder("that folder no longer exists")
    dest = locked[dest.pk]
    if source.pk == dest.pk:
        raise InvalidInput("source and destination are the same folder")
    rows, dest_uids = _copy_into(account_id, folder_id, ranges, dest, charge=False)
    _remove(source, [(r.pk, r.uid, r.size) for r in rows])
    return CopyResult(dest.uidvalidity, [r.uid for r in rows], dest_uids)


def move_all(account_id: int, source: Folder, dest: Folder) -> None:
    """Inside a caller's transaction: move every message (RENAME INBOX)."""
    rows, _ = _copy_into(account_id, source.pk, [(1, source.uidnext)], dest, charge=False)
    _remove(source, [(r.pk, r.uid, r.size) for r in rows])


# --- what changed ---------------------------------------------------------

@atomic
def changes_since(account_id: int, folder_id: int, modseq: int) -> Changes:
    """Messages added or changed and UIDs expunged after modseq."""
    folder = folder_by_id(account_id, folder_id)
    if folder.highestmodseq <= modseq:
        return Changes(folder.highestmodseq, folder.uidnext, [], [])
    updated = [FlagChange(row.uid, flags_of(row), row.modseq) for row in
               Message.objects.filter(folder_id=folder_id, modseq__gt=modseq)
               .only("uid", "modseq", "keywords", *FLAG_COLUMNS.values()).order_by("uid")]
    expunged = list(Expunged.objects.filter(folder_id=folder_id, modseq__gt=modseq)
                    .order_by("uid").values_list("uid", flat=True))
    return Changes(folder.highestmodseq, folder.uidnext, updated, expunged)


@atomic
def folder_size(account_id: int, folder_id: int) -> int:
    folder_by_id(account_id, folder_id)
    return Message.objects.filter(folder_id=folder_id).aggregate(s=Sum("size"))["s"] or 0
