"""What POP3 and POP2 need from the store: the maildrop lock and the maildrop.

The lock (RFC 1939 section 8: one POP3 session per maildrop) is a lease in
MaildropLock, shared by every worker process through the database: a session
acquires it at login, renews it while it lives, and releases it at QUIT or
disconnect. A holder that dies stops renewing and its lease lapses, so no
stale lock outlives `lease` seconds. All times are the database's clock
(Now()), so workers on machines with skewed clocks still agree.

The maildrop is a snapshot of a folder (INBOX for POP3) in UID order. Sizes
are those of the message as POP sends it: every bare LF made CRLF and a final
CRLF added when the message lacks one (RFC 1939 section 11); dot-stuffing is
not counted, as the client removes it. Message bytes are immutable, so that
size is a function of the blob's SHA-256: it is computed once per blob per
process (in the database, without moving the bytes) and remembered.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import DateTimeField, ExpressionWrapper, Q, Value
from django.db.models.functions import Now

from ..models import Blob, Folder, MaildropLock, Message
from . import messages
from ._db import atomic, no_transaction
from .errors import InvalidInput, MaildropLocked, NoSuchFolder, NotFound
from .flags import set_flags
from .folders import folder_by_id, get_folder, normalize_name
from .types import Maildrop, PopMessage, UidRanges

MAX_HOLDER = 100
SIZE_CACHE_ENTRIES = 200_000


# --- the POP form of a message (RFC 1939 section 11) ------------------------


def pop_form(data: bytes) -> bytes:
    """The message as POP sends it before dot-stuffing: CRLF line endings and
    a final CRLF. Bare CRs are left alone (as Dovecot does)."""
    if not data:
        return data
    out = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return out if out.endswith(b"\n") else out + b"\r\n"


def pop_size(data: bytes) -> int:
    """len(pop_form(data)), without building it."""
    if not data:
        return 0
    lf = data.count(b"\n")
    return len(data) + lf - data.count(b"\r\n") + (0 if data.endswith(b"\n") else 2)


class _SizeCache:
    """sha256 -> POP size. Blobs never change, so entries never go stale."""

    def __init__(self, size: int) -> None:
        self._entries: OrderedDict[str, int] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get_many(self, keys: Iterable[str]) -> dict[str, int]:
        found = {}
        with self._lock:
            for key in keys:
                value = self._entries.get(key)
                if value is not None:
                    self._entries.move_to_end(key)
                    found[key] = value
        return found

    def forget(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def put_many(self, values: dict[str, int]) -> None:
        with self._lock:
            self._entries.update(values)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


_sizes = _SizeCache(SIZE_CACHE_ENTRIES)

# PostgreSQL counts in the database what pop_size counts in Python, so the
# bytes never cross the wire: encode(..., 'escape') turns a bytea into text in
# which only the bytes CR and LF themselves are CR and LF characters.
_PG_POP_SIZE = f"""
SELECT sha256,
       octet_length(data)
       + (length(e) - length(replace(e, E'\\n', '')))
       - (length(e) - length(replace(e, E'\\r\\n', ''))) / 2
       + CASE WHEN octet_length(data) = 0 OR get_byte(data, octet_length(data) - 1) = 10
              THEN 0 ELSE 2 END
  FROM (SELECT sha256, data, encode(data, 'escape') AS e
          FROM {Blob._meta.db_table} WHERE sha256 = ANY(%s)) AS b
"""


def _pop_sizes(shas: set[str]) -> dict[str, int]:
    known = _sizes.get_many(shas)
    missing = [s for s in shas if s not in known]
    computed: dict[str, int] = {}
    for start in range(0, len(missing), 500):
        chunk = missing[start : start + 500]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(_PG_POP_SIZE, [chunk])
                computed.update((sha, int(size)) for sha, size in cursor.fetchall())
        else:  # SQLite (the embedded mode): count here
            for sha, data in Blob.objects.filter(pk__in=chunk).values_list("sha256", "data"):
                computed[sha] = pop_size(bytes(data))
    _sizes.put_many(computed)
    return {**known, **computed}


def _snapshot(account_id: int, folder_id: int, name: str, uidvalidity: int) -> Maildrop:
    rows = list(Message.objects.filter(folder_id=folder_id).order_by("uid").values_list("uid", "blob_id"))
    sizes = _pop_sizes({sha for _, sha in rows})
    return Maildrop(
        folder_id, name, uidvalidity, [PopMessage(uid, sizes[sha], f"{uidvalidity}.{uid}") for uid, sha in rows]
    )


@atomic
def maildrop(account_id: int, folder: str = "INBOX") -> Maildrop:
    """A snapshot of one of the account's folders (POP2 FOLD), without the lock."""
    row = get_folder(account_id, folder)
    return _snapshot(account_id, row.pk, row.name, row.uidvalidity)


def _pop_forms(account_id: int, folder_id: int, uids: list[int]) -> dict[int, bytes]:
    rows = Message.objects.filter(folder__owner_id=account_id, folder_id=folder_id, uid__in=uids).values_list(
        "uid", "blob__data"
    )
    return {uid: pop_form(bytes(data)) for uid, data in rows}


@atomic
def pop_message(account_id: int, folder_id: int, uid: int) -> bytes:
    """The message in its POP form (pop_form); NotFound if it has been expunged since."""
    found = _pop_forms(account_id, folder_id, [uid])
    if uid not in found:
        raise NotFound("no such message")
    return found[uid]


@atomic
def pop_messages(account_id: int, folder_id: int, uids: list[int]) -> dict[int, bytes]:
    """Several messages in their POP form, in one query (POP3 reads ahead when a
    client retrieves in order); those expunged since are missing from the result."""
    return _pop_forms(account_id, folder_id, uids)


# --- the maildrop lock (RFC 1939 section 8) ---------------------------------


def _until(lease: float) -> ExpressionWrapper:
    return ExpressionWrapper(Now() + Value(timedelta(seconds=lease)), output_field=DateTimeField())


def _check(holder: str, lease: float) -> None:
    if not holder or len(holder) > MAX_HOLDER:
        raise InvalidInput("a lock holder is 1 to 100 characters")
    if lease <= 0:
        raise InvalidInput("a lease must be positive")


def _acquire(account_id: int, holder: str, lease: float) -> None:
    # Take over a lapsed lease (or refresh our own). The UPDATE locks the row,
    # so of two racing takers the second re-reads `expires` and finds it new.
    taken = (
        MaildropLock.objects.filter(account_id=account_id)
        .filter(Q(expires__lt=Now()) | Q(holder=holder))
        .update(holder=holder, expires=_until(lease))
    )
    if taken:
        return
    # No row, or a live one. INSERT ... ON CONFLICT DO NOTHING waits for a
    # concurrent inserter to commit, then does nothing; either way the row
    # that stands afterwards says who holds the lock.
    MaildropLock.objects.bulk_create(
        [MaildropLock(account_id=account_id, holder=holder, expires=Now())], ignore_conflicts=True
    )
    if not MaildropLock.objects.filter(account_id=account_id, holder=holder).update(expires=_until(lease)):
        raise MaildropLocked("the maildrop is in use by another session")


@atomic
def acquire_maildrop_lock(account_id: int, holder: str, lease: float) -> None:
    """Take the account's maildrop lock for `lease` seconds; MaildropLocked if
    another live session holds it."""
    _check(holder, lease)
    _acquire(account_id, holder, lease)


# POP3's login in one statement: take the lock (insert it, or take over a
# lapsed lease or our own; ON CONFLICT waits for a concurrent taker to commit
# and then sees its row) and list the folder. A data-modifying WITH runs once
# whatever the outer query reads, and the outer query sees the messages as
# they were when the statement began. Rows: (lock taken, folder id, name,
# uidvalidity, uid, blob), one per message, or one with a NULL uid for an
# empty folder; none when the folder does not exist.
_PG_OPEN = f"""
WITH taken AS (
  INSERT INTO {MaildropLock._meta.db_table} AS l (account_id, holder, expires)
  VALUES (%(account)s, %(holder)s, statement_timestamp() + %(lease)s)
  ON CONFLICT (account_id) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
  WHERE l.expires < statement_timestamp() OR l.holder = excluded.holder
  RETURNING 1
)
SELECT (SELECT count(*) FROM taken), f.id, f.name, f.uidvalidity, m.uid, m.blob_id
  FROM {Folder._meta.db_table} f LEFT JOIN {Message._meta.db_table} m ON m.folder_id = f.id
 WHERE f.owner_id = %(account)s AND f.name = %(folder)s
 ORDER BY m.uid
"""


@no_transaction
def open_maildrop(account_id: int, holder: str, lease: float, folder: str = "INBOX") -> Maildrop:
    """Lock the maildrop and take its snapshot, atomically (POP3 PASS, APOP,
    AUTH; POP2 HELO): on PostgreSQL one statement, elsewhere one transaction.
    Changes committed before this are in the snapshot."""
    _check(holder, lease)
    if connection.vendor != "postgresql":
        with transaction.atomic():
            _acquire(account_id, holder, lease)
            row = get_folder(account_id, folder)
            return _snapshot(account_id, row.pk, row.name, row.uidvalidity)
    with connection.cursor() as cursor:
        cursor.execute(
            _PG_OPEN,
            {
                "account": account_id,
                "holder": holder,
                "lease": timedelta(seconds=lease),
                "folder": normalize_name(folder),
            },
        )
        rows = cursor.fetchall()
    if not rows:
        release_maildrop_lock(account_id, holder)
        raise NoSuchFolder(f"no folder named {folder!r}")
    taken, folder_id, name, uidvalidity = rows[0][:4]
    if not taken:
        raise MaildropLocked("the maildrop is in use by another session")
    listed = [(uid, sha) for *_, uid, sha in rows if uid is not None]
    sizes = _pop_sizes({sha for _, sha in listed})
    return Maildrop(
        folder_id, name, uidvalidity, [PopMessage(uid, sizes[sha], f"{uidvalidity}.{uid}") for uid, sha in listed]
    )


@atomic
def renew_maildrop_lock(account_id: int, holder: str, lease: float) -> bool:
    """Extend our lease; False when it is no longer ours (it lapsed and another
    session took it: the caller must then give up without deleting anything)."""
    _check(holder, lease)
    return bool(MaildropLock.objects.filter(account_id=account_id, holder=holder).update(expires=_until(lease)))


@no_transaction
def release_maildrop_lock(account_id: int, holder: str) -> None:
    _release(account_id, holder)


def _release(account_id: int, holder: str) -> bool:
    """Delete our lock row (one statement); False if it was not ours any more."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {connection.ops.quote_name(MaildropLock._meta.db_table)} "
            f"WHERE account_id = %s AND holder = %s",
            [account_id, holder],
        )
        return cursor.rowcount > 0


@no_transaction
def close_maildrop(
    account_id: int,
    holder: str,
    folder_id: int,
    uids: list[int],
    *,
    seen: list[int] | None = None,
    release: bool = True,
) -> list[int]:
    """POP3 UPDATE state (RFC 1939 section 6), POP2 QUIT and FOLD: delete
    `uids`, mark `seen` (the messages retrieved) \\Seen, and release the lock
    unless release=False, all in one transaction. Refused with MaildropLocked,
    changing nothing, when another session holds the lock now (ours lapsed
    and was taken). Returns the UIDs removed (those expunged meanwhile by
    someone else are skipped). A session that only looked (the most common
    QUIT of a poll) still holding its lock releases it with one statement."""
    if release and not uids and not seen and _release(account_id, holder):
        return []
    return _update(account_id, holder, folder_id, uids, seen or [], release)


@atomic
def _update(account_id: int, holder: str, folder_id: int, uids: list[int], seen: list[int], release: bool) -> list[int]:
    lock = MaildropLock.objects.select_for_update().filter(account_id=account_id).first()
    if lock is not None and lock.holder != holder:
        if not MaildropLock.objects.filter(pk=lock.pk, expires__lt=Now()).exists():
            raise MaildropLocked("the maildrop lock was lost to another session")
    removed: list[int] = []
    if uids or seen:
        folder_by_id(account_id, folder_id)
    if seen:
        set_flags(account_id, folder_id, uid_ranges(seen), "add", ["\\Seen"])
    if uids:
        removed = messages.delete_messages(account_id, folder_id, uid_ranges(uids))
    if release:
        MaildropLock.objects.filter(account_id=account_id, holder=holder).delete()
    return removed


def uid_ranges(uids: Iterable[int]) -> UidRanges:
    """[1, 2, 3, 7] -> [(1, 3), (7, 7)]"""
    ranges: UidRanges = []
    for uid in sorted(set(uids)):
        if ranges and ranges[-1][1] == uid - 1:
            ranges[-1] = (ranges[-1][0], uid)
        else:
            ranges.append((uid, uid))
    return ranges
