"""Messages: append, flags, copy, move, expunge, changes (delivery is in delivery.py; FETCH in imap.py).

Every change allocates the folder's next modseq under a row lock on the
folder (SELECT ... FOR UPDATE), so UIDs and modseqs strictly ascend whatever
the number of concurrent writers, and stamps the rows it changed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from django.db import connection
from django.utils import timezone

from ..models import Account, Expunged, Folder, Message
from . import _sql, accounts, events, learning, placement
from ._db import atomic, no_transaction
from .blobs import PreparedBlob, prepare
from .errors import InvalidInput, NoSuchFolder
from .folders import folder_by_id, get_folder, normalize_name
from .types import (
    FLAG_COLUMNS,
    AppendResult,
    Changes,
    CopyResult,
    ExpungeResult,
    FlagChange,
    UidRanges,
)

log = logging.getLogger("mailboxes.store")
R = TypeVar("R")
MAX_KEYWORDS = 64


# --- quota ----------------------------------------------------------------


def charge_quota(account_id: int, size: int) -> None:
    """Add size to the account's usage, atomically refusing to pass its quota:
    one UPDATE; asked again only to say why it refused."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_sql.table(Account)} SET used_bytes = used_bytes + %s "
            f"WHERE id = %s AND (quota = 0 OR used_bytes + %s <= quota)",
            [size, account_id, size],
        )
        if cursor.rowcount == 1:
            return
    accounts.refuse_charge([account_id], size)


def release_quota(account_id: int, size: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_sql.table(Account)} SET used_bytes = used_bytes - %s WHERE id = %s", [size, account_id]
        )


# --- shared mechanics -----------------------------------------------------


def _next_modseq(folder: Folder, new_messages: int = 0, keywords: Iterable[str] = ()) -> tuple[int, int]:
    """Allocate (first uid, modseq) on a folder locked by the caller, adding
    the ``keywords`` its new messages hold to its set in the same UPDATE."""
    first_uid = folder.uidnext
    folder.uidnext += new_messages
    folder.highestmodseq += 1
    grown = _grown_keywords(folder.keywords, keywords)
    sets, params = "uidnext = %s, highestmodseq = %s", [folder.uidnext, folder.highestmodseq]
    if grown is not None:
        folder.keywords = grown
        sets += ", keywords = %s"
        params.append(Folder._meta.get_field("keywords").get_db_prep_save(folder.keywords, connection))
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_sql.table(Folder)} SET {sets} WHERE id = %s", [*params, folder.pk])
    return first_uid, folder.highestmodseq


def flags_of(row: Message) -> frozenset[str]:
    """The flags of a Message read by the ORM (raw rows use _sql.flag_set)."""
    return _sql.flag_set((getattr(row, column) for column in FLAG_COLUMNS.values()), row.keywords)


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
    first_uid, modseq = _next_modseq(folder, len(items), (k for item in items for k in _split_flags(item[2])[1]))
    with connection.cursor() as cursor:
        _insert_rows(cursor, folder.pk, first_uid, modseq, items)
    events.publish_on_commit(folder.owner_id, folder.pk)
    return [first_uid + i for i in range(len(items))], modseq


def _insert_rows(  # type: ignore[no-untyped-def]
    cursor,
    folder_id: int,
    first_uid: int,
    modseq: int,
    items: Sequence[tuple[str, int, Iterable[str], datetime | None]],
) -> None:
    """The message rows, UIDs from first_uid up, by multi-row INSERTs of 500."""
    field, now = Message._meta.get_field("keywords"), timezone.now()
    params: list[object] = []
    for offset, (sha, size, flags, when) in enumerate(items):
        system, keywords = _split_flags(flags)
        params += [
            folder_id,
            first_uid + offset,
            modseq,
            *(system.get(c, False) for c in FLAG_COLUMNS.values()),
            field.get_db_prep_save(keywords, connection),
            connection.ops.adapt_datetimefield_value(when or now),
            size,
            sha,
        ]
    width = len(params) // max(1, len(items))
    for start in range(0, len(items), 500):
        chunk = params[start * width : (start + 500) * width]
        cursor.execute(
            f"INSERT INTO {_sql.table(Message)} ({_sql.MESSAGE_COLUMNS}) VALUES "
            + ", ".join([_sql.MESSAGE_ROW] * (len(chunk) // width)),
            chunk,
        )


# --- appending ------------------------------------------------------------


def append(
    account_id: int, folder_name: str, raw: bytes, flags: Iterable[str] = (), internal_date: datetime | None = None
) -> AppendResult:
    from .delivery import with_retry  # delivery imports this module

    return with_retry(_append, account_id, folder_name, prepare(raw), tuple(flags), internal_date)


@no_transaction
def _append(
    account_id: int, folder_name: str, blob: PreparedBlob, flags: tuple[str, ...], internal_date: datetime | None
) -> AppendResult:
    """Delivery's writes for one target (delivery.file_copies): the folder's
    next UID and modseq taken and its keyword set grown, the bytes stored
    unless they are, the quota charged, the row inserted. One statement on
    PostgreSQL, without a transaction of its own (in the caller's, if any: a
    draft saved, sent mail filed); a transaction of its own on SQLite."""
    from .delivery import file_copies

    target = placement.target(account_id, normalize_name(folder_name), flags)
    copies = file_copies(blob, [target], internal_date)
    if not copies:
        raise NoSuchFolder(f"no folder named {folder_name!r}")
    [copy] = copies
    learning.filed(account_id, "", copy.special_use, [blob.sha256])
    return AppendResult(copy.folder_id, copy.uidvalidity, copy.uid)


# --- reading --------------------------------------------------------------


@atomic
def message_data(account_id: int, folder_id: int, uid: int) -> bytes:
    row = (
        Message.objects.filter(folder__owner_id=account_id, folder_id=folder_id, uid=uid)
        .values_list("blob__data", flat=True)
        .first()
    )
    if row is None:
        from .errors import NotFound

        raise NotFound("no such message")
    return bytes(row)


# --- one-statement writes under the folder's lock, the folder's keywords ---


def _one_statement(statement: Callable[[Any], R | None], account_id: int, folder_id: int) -> R:
    """PostgreSQL: run a one-statement write (given a cursor) on its own, in
    one round trip. If it found the folder changed under it (None, nothing
    written: _LOCKED_FOLDER), run it again in a transaction that locks the
    folder first: the statement's snapshot, taken after that lock, then
    holds what every writer before it did. Only a folder other sessions
    write at the same moment pays for that."""
    with _sql.prepared(), _sql.bound_cursor() as cursor:
        result = statement(cursor)
    return result if result is not None else _after_the_lock(statement, account_id, folder_id)


@atomic
def _after_the_lock(statement: Callable[[Any], R | None], account_id: int, folder_id: int) -> R:
    with _sql.prepared(), _sql.bound_cursor() as cursor:
        _sql.highestmodseq_locked(cursor, account_id, folder_id)
        result = statement(cursor)
    assert result is not None, "a writer committed while this transaction held the folder's lock"
    return result


#: The folder locked (the writers' first lock, DESIGN.md) and its modseq read
#: twice: under the lock (the newest committed row) and as the statement's
#: snapshot saw it. PostgreSQL gives a statement one snapshot, taken before
#: it waits for the lock: `stale` says a writer committed in between (every
#: change to a folder's messages raises its modseq), whose changes the
#: statement cannot see; then it writes nothing (_one_statement runs it again
#: after the lock).
_LOCKED_FOLDER = (
    "box AS (SELECT id, highestmodseq, keywords FROM {folder} WHERE id = %s AND owner_id = %s FOR UPDATE), "
    "verdict AS (SELECT box.id, box.highestmodseq + 1 AS modseq, box.keywords, "
    "  box.highestmodseq IS DISTINCT FROM (SELECT highestmodseq FROM {folder} WHERE id = box.id) AS stale "
    "  FROM box)"
)

#: Keywords one folder may have held (its FLAGS list); past it, new ones are refused.
MAX_FOLDER_KEYWORDS = 1000


def _grown_keywords(have: Sequence[str], keywords: Iterable[str]) -> list[str] | None:
    """A folder's keyword set with ``keywords`` added, or None if it holds them all."""
    new = [k for k in dict.fromkeys(keywords) if k not in have]
    if not new:
        return None
    if len(have) + len(new) > MAX_FOLDER_KEYWORDS:
        raise InvalidInput("too many keywords in this folder")
    return [*have, *new]


def note_keywords(cursor, folder_id: int, keywords: Iterable[str]) -> None:  # type: ignore[no-untyped-def]
    """Add keywords to the folder's set (Folder.keywords), on a folder row the
    caller has locked. The set only grows: a session's FLAGS never leaves out
    a keyword a message holds (RFC 3501 7.2.6), whoever set it."""
    wanted = list(keywords)
    if not wanted:
        return
    folder = _sql.table(Folder)
    cursor.execute(f"SELECT keywords FROM {folder} WHERE id = %s", [folder_id])
    grown = _grown_keywords(_sql.keyword_list(cursor.fetchone()[0]), wanted)
    if grown is not None:
        cursor.execute(
            f"UPDATE {folder} SET keywords = %s WHERE id = %s",
            [Folder._meta.get_field("keywords").get_db_prep_save(grown, connection), folder_id],
        )


# --- expunge, copy, move --------------------------------------------------


class Held(NamedTuple):
    """A message row by its key, UID and size (what removing it needs)."""

    id: int
    uid: int
    size: int


def _remove(folder: Folder, rows: Sequence[Held]) -> int:
    """Delete rows from a locked folder, leaving tombstones."""
    if not rows:
        return folder.highestmodseq
    _, modseq = _next_modseq(folder)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 1000):
            ids = [row.id for row in rows[start : start + 1000]]
            cursor.execute(f"DELETE FROM {_sql.table(Message)} WHERE id IN ({_sql.placeholders(len(ids))})", ids)
        _tombstones(cursor, folder.pk, [row.uid for row in rows], modseq)
    events.publish_on_commit(folder.owner_id, folder.pk)
    return modseq


def _tombstones(cursor, folder_id: int, uids: Sequence[int], modseq: int) -> None:  # type: ignore[no-untyped-def]
    """One Expunged row per UID at modseq, by multi-row INSERTs of 2000."""
    for start in range(0, len(uids), 2000):
        chunk = uids[start : start + 2000]
        cursor.execute(
            f"INSERT INTO {_sql.table(Expunged)} (folder_id, uid, modseq) VALUES "
            + ", ".join(["(%s, %s, %s)"] * len(chunk)),
            [v for uid in chunk for v in (folder_id, uid, modseq)],
        )


@no_transaction
def expunge(account_id: int, folder_id: int, ranges: UidRanges | None = None) -> ExpungeResult:
    """Remove messages flagged \\Deleted (only within ranges, for UID EXPUNGE)."""
    return _delete(account_id, folder_id, ranges, only_deleted=True)


@no_transaction
def delete_messages(account_id: int, folder_id: int, ranges: UidRanges) -> list[int]:
    """Remove messages at once whatever their flags (POP3 UPDATE, webmail 'delete for good')."""
    return _delete(account_id, folder_id, ranges, only_deleted=False).uids


def _delete(account_id: int, folder_id: int, ranges: UidRanges | None, *, only_deleted: bool) -> ExpungeResult:
    """The rows deleted and, only if there were any, the folder's modseq
    raised, one tombstone per UID at it, the quota released: on PostgreSQL
    one statement (_delete_statement, _one_statement), on SQLite step by step
    in a transaction (_delete_steps). The event carries the modseq, so the IMAP session that
    expunged need not look again (docs/DESIGN.md, *Change notification*)."""
    params: list[object] = [folder_id]
    where = "folder_id = %s"
    if only_deleted:
        where, params = f"{where} AND deleted = %s", [*params, True]
    if ranges is not None:
        uids, uid_params = _sql.uids_where(ranges)
        where, params = f"{where} AND {uids}", [*params, *uid_params]
    if connection.vendor != "postgresql":
        return _delete_steps(account_id, folder_id, where, params)
    result = _one_statement(
        functools.partial(_delete_statement, account_id, folder_id, where, params), account_id, folder_id
    )
    if result.uids:
        events.publish_on_commit(account_id, folder_id, result.modseq)
    return result


@atomic
def _delete_steps(account_id: int, folder_id: int, where: str, params: list[object]) -> ExpungeResult:
    """SQLite: the folder read (and locked, on PostgreSQL), the rows deleted (DELETE ... RETURNING),
    and only if there were any: the folder's modseq raised, one tombstone per
    UID at it (one INSERT), the quota released."""
    with connection.cursor() as cursor:
        modseq = _sql.highestmodseq_locked(cursor, account_id, folder_id) + 1
        cursor.execute(f"DELETE FROM {_sql.table(Message)} WHERE {where} RETURNING uid, size", params)
        rows = sorted(cursor.fetchall())
        if not rows:
            return ExpungeResult([], 0)
        cursor.execute(f"UPDATE {_sql.table(Folder)} SET highestmodseq = %s WHERE id = %s", [modseq, folder_id])
        _tombstones(cursor, folder_id, [uid for uid, _size in rows], modseq)
    freed = sum(size for _uid, size in rows)
    if freed:
        release_quota(account_id, freed)
    events.publish_on_commit(account_id, folder_id, modseq)
    return ExpungeResult([uid for uid, _size in rows], modseq)


def _delete_statement(  # type: ignore[no-untyped-def]
    account_id: int, folder_id: int, where: str, params: list[object], cursor
) -> ExpungeResult | None:
    """PostgreSQL: _delete_steps' writes as one statement (one round trip,
    atomic without BEGIN/COMMIT); None, with nothing written, when the
    folder changed between the statement's snapshot and its lock
    (_LOCKED_FOLDER). The DELETE waits for the lock: its rows are those
    of a folder the verdict found unchanged."""
    folder, message = _sql.table(Folder), _sql.table(Message)
    cursor.execute(
        f"WITH {_LOCKED_FOLDER.format(folder=folder)}, "
        f"gone AS (DELETE FROM {message} WHERE {where} "
        f"  AND folder_id = (SELECT id FROM verdict WHERE NOT stale) RETURNING uid, size), "
        f"bump AS (UPDATE {folder} f SET highestmodseq = verdict.modseq FROM verdict "
        f"  WHERE f.id = verdict.id AND EXISTS (SELECT 1 FROM gone)), "
        f"tombstones AS (INSERT INTO {_sql.table(Expunged)} (folder_id, uid, modseq) "
        f"  SELECT verdict.id, gone.uid, verdict.modseq FROM verdict, gone), "
        f"freed AS (UPDATE {_sql.table(Account)} a SET used_bytes = a.used_bytes - total.size "
        f"  FROM (SELECT SUM(size) AS size FROM gone) total WHERE a.id = %s AND total.size > 0) "
        f"SELECT verdict.modseq, verdict.stale, gone.uid FROM verdict LEFT JOIN gone ON TRUE ORDER BY gone.uid",
        [folder_id, account_id, *params, account_id],
    )
    rows = cursor.fetchall()
    if not rows:
        raise NoSuchFolder("that folder no longer exists")
    modseq, stale, _uid = rows[0]
    if stale:
        return None
    uids = [uid for _modseq, _stale, uid in rows if uid is not None]
    return ExpungeResult(uids, modseq if uids else 0)


def _copy_into(
    account_id: int, source_id: int, ranges: UidRanges, dest: Folder, charge: bool, source_use: str | None = None
) -> tuple[list[Held], list[int]]:
    """Copy the source's messages in ranges into a locked dest: the source
    rows, ascending by UID, and the UIDs the copies got. source_use: the
    source's special use, when filing there may teach the spam filter (learning.py)."""
    uids, params = _sql.uids_where(ranges)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, uid, size, blob_id, internal_date, keywords, {_sql.FLAGS_SQL} "
            f"FROM {_sql.table(Message)} WHERE folder_id = %s AND {uids} ORDER BY uid",
            [source_id, *params],
        )
        rows = cursor.fetchall()
    if not rows:
        return [], []
    held = [Held(row_id, uid, size) for row_id, uid, size, *_rest in rows]
    if charge:
        charge_quota(account_id, sum(row.size for row in held))
    when = _sql.datetime_reader(Message, "internal_date")
    dest_uids, _ = _insert(
        dest,
        [
            (sha, size, _sql.flag_set(flags, keywords), when(date))
            for _id, _uid, size, sha, date, keywords, *flags in rows
        ],
    )
    if source_use is not None:
        learning.filed(account_id, source_use, dest.special_use, [sha for _id, _uid, _size, sha, *_rest in rows])
    return held, dest_uids


@atomic
def copy(account_id: int, folder_id: int, ranges: UidRanges, dest_name: str) -> CopyResult:
    source = folder_by_id(account_id, folder_id)
    dest = get_folder(account_id, dest_name, lock=True)
    rows, dest_uids = _copy_into(account_id, folder_id, ranges, dest, charge=True, source_use=source.special_use)
    return CopyResult(dest.uidvalidity, [row.uid for row in rows], dest_uids)


@atomic
def move(account_id: int, folder_id: int, ranges: UidRanges, dest_name: str) -> CopyResult:
    """MOVE (RFC 6851): copy then expunge from the source, atomically. Into
    the source itself it gives the messages new UIDs (RFC 6851 3.3 allows
    it; a client uses it to renumber), as a COPY and an EXPUNGE would."""
    dest = get_folder(account_id, dest_name)
    first, second = sorted([folder_id, dest.pk])
    locked = {
        f.pk: f
        for f in Folder.objects.select_for_update().filter(owner_id=account_id, pk__in=[first, second]).order_by("pk")
    }
    source = locked.get(folder_id)
    if source is None:
        from .errors import NoSuchFolder

        raise NoSuchFolder("that folder no longer exists")
    dest = locked[dest.pk]  # the same object as source for a move into itself
    rows, dest_uids = _copy_into(account_id, folder_id, ranges, dest, charge=False, source_use=source.special_use)
    _remove(source, rows)
    return CopyResult(dest.uidvalidity, [row.uid for row in rows], dest_uids)


def move_all(account_id: int, source: Folder, dest: Folder) -> None:
    """Inside a caller's transaction: move every message (RENAME INBOX)."""
    rows, _ = _copy_into(account_id, source.pk, [(1, source.uidnext)], dest, charge=False)
    _remove(source, rows)


# --- what changed ---------------------------------------------------------

_NO_SYSTEM_FLAGS = ", ".join(["NULL"] * len(FLAG_COLUMNS))
_NO_FLAGS = _NO_SYSTEM_FLAGS + ", NULL"  # the flag columns and keywords


@no_transaction
def changes_since(account_id: int, folder_id: int, modseq: int) -> Changes:
    """Messages added or changed and UIDs expunged after modseq.

    One statement (so one snapshot, and no transaction around it): the
    folder's counters (none: not the account's folder), the changed
    messages and the tombstones, each found through its (folder, modseq)
    index, so asking when nothing changed costs one index probe each. The
    folder's \\Recent mark comes along, so a session claiming the new
    messages needs only the claim's UPDATE (claim_recent's `seen`)."""
    folder, message, expunged = _sql.table(Folder), _sql.table(Message), _sql.table(Expunged)
    with _sql.prepared(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 0, highestmodseq, uidnext, {_NO_SYSTEM_FLAGS}, keywords, recent_uid FROM {folder} "
            f"WHERE id = %s AND owner_id = %s "
            f"UNION ALL SELECT 1, uid, modseq, {_sql.FLAGS_SQL}, keywords, NULL FROM {message} "
            f"WHERE folder_id = %s AND modseq > %s "
            f"UNION ALL SELECT 2, uid, modseq, {_NO_FLAGS}, NULL FROM {expunged} WHERE folder_id = %s AND modseq > %s "
            f"ORDER BY 1, 2",
            [folder_id, account_id, folder_id, modseq, folder_id, modseq],
        )
        rows = cursor.fetchall()
    if not rows or rows[0][0] != 0:  # the first row, the folder's, tagged 0
        raise NoSuchFolder("that folder no longer exists")
    _kind, highestmodseq, uidnext, *_nothing, keywords, recent_uid = rows[0]
    updated: list[FlagChange] = []
    expunged_uids: list[int] = []
    for kind, uid, changed, *flags, row_keywords, _recent in rows[1:]:
        if kind == 1:
            updated.append(FlagChange(uid, _sql.flag_set(flags, row_keywords), changed))
        else:
            expunged_uids.append(uid)
    return Changes(highestmodseq, uidnext, updated, expunged_uids, recent_uid, tuple(_sql.keyword_list(keywords)))
