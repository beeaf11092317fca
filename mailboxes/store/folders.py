"""Folders (IMAP mailboxes) of one account. '/' separates hierarchy levels."""

from __future__ import annotations

import threading
import time

from django.db import connection
from django.db.models import Q, Sum

from ..models import Folder, Message
from . import _sql, events
from ._db import atomic, no_transaction
from .errors import AlreadyExists, InvalidInput, NoSuchFolder, NotPermitted
from .subscriptions import keep_subscription, take_lost_subscription
from .types import SPECIAL_FOLDERS, FolderInfo, FolderStatus, FolderView, RecentRange

SEP = "/"
MAX_NAME = 1000
MAX_DEPTH = 32
SPECIAL_USES = {use for _, use in SPECIAL_FOLDERS}

_clock_lock = threading.Lock()
_last_uidvalidity = 0


def new_uidvalidity() -> int:
    """Seconds since the epoch, kept strictly rising within this process, so a
    folder deleted and created again gets a new UIDVALIDITY (RFC 3501 2.3.1.1)."""
    global _last_uidvalidity
    with _clock_lock:
        _last_uidvalidity = max(int(time.time()), _last_uidvalidity + 1)
        return _last_uidvalidity


def normalize_name(name: str) -> str:
    """Validate a folder name; INBOX is case-insensitive (RFC 3501 5.1)."""
    if not name or len(name) > MAX_NAME:
        raise InvalidInput("folder name is empty or too long")
    # Surrogates: undecodable bytes a parser kept (surrogateescape); they cannot be stored.
    if any(ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF for c in name) or "*" in name or "%" in name:
        raise InvalidInput("folder name has a forbidden character")
    parts = name.split(SEP)
    if any(p in ("", ".", "..") for p in parts) or len(parts) > MAX_DEPTH:
        raise InvalidInput("folder name has an empty or relative level")
    if parts[0].upper() == "INBOX":
        parts[0] = "INBOX"
    return SEP.join(parts)


def _info(folder: Folder) -> FolderInfo:
    return FolderInfo(folder.id, folder.name, folder.special_use, folder.subscribed, folder.uidvalidity)


def get_folder(account_id: int, name: str, *, lock: bool = False) -> Folder:
    """The named folder of this account (not a store entry point: call it inside one)."""
    qs = Folder.objects.select_for_update() if lock else Folder.objects
    folder = qs.filter(owner_id=account_id, name=normalize_name(name)).first()
    if folder is None:
        raise NoSuchFolder(f"no folder named {name!r}")
    return folder


def folder_by_id(account_id: int, folder_id: int, *, lock: bool = False) -> Folder:
    qs = Folder.objects.select_for_update() if lock else Folder.objects
    folder = qs.filter(owner_id=account_id, pk=folder_id).first()
    if folder is None:
        raise NoSuchFolder("that folder no longer exists")
    return folder


def _create(account_id: int, name: str, special_use: str = "", *, subscribed: bool = True) -> Folder:
    return Folder.objects.create(
        owner_id=account_id, name=name, uidvalidity=new_uidvalidity(), special_use=special_use, subscribed=subscribed
    )


def create_default_folders(account_id: int) -> None:
    """INBOX and the special-use folders (RFC 6154) every new account gets."""
    _create(account_id, "INBOX")
    for name, use in SPECIAL_FOLDERS:
        _create(account_id, name, use)


def _ensure_parents(account_id: int, name: str, *, subscribed: bool = True) -> None:
    parts = name.split(SEP)
    existing = set(Folder.objects.filter(owner_id=account_id).values_list("name", flat=True))
    for depth in range(1, len(parts)):
        parent = SEP.join(parts[:depth])
        if parent not in existing:
            _create(account_id, parent, subscribed=subscribed)


@atomic
def create_folder(account_id: int, name: str, special_use: str = "", *, subscribe: bool = True) -> FolderInfo:
    """Create a folder (and any missing parents), subscribed unless
    ``subscribe=False``: IMAP's CREATE leaves subscribing to the client
    (RFC 3501 6.3.3, 6.3.6), the webmail and imports subscribe."""
    clean = normalize_name(name)
    if special_use and special_use not in SPECIAL_USES:
        raise InvalidInput(f"unknown special use {special_use}")
    if Folder.objects.filter(owner_id=account_id, name=clean).exists():
        raise AlreadyExists(f"folder {clean!r} already exists")
    _ensure_parents(account_id, clean, subscribed=subscribe)
    folder = _create(account_id, clean, special_use, subscribed=take_lost_subscription(account_id, clean) or subscribe)
    events.publish_on_commit(account_id, folder.id)
    return _info(folder)


@atomic
def delete_folder(account_id: int, name: str) -> None:
    """Delete a folder and its messages. Its children stay (RFC 3501 6.3.4)."""
    folder = get_folder(account_id, name, lock=True)
    if folder.name == "INBOX":
        raise NotPermitted("INBOX cannot be deleted")
    freed = Message.objects.filter(folder=folder).aggregate(s=Sum("size"))["s"] or 0
    if folder.subscribed:
        keep_subscription(account_id, folder.name)  # RFC 3501 6.3.6
    folder.delete()
    if freed:
        from .messages import release_quota

        release_quota(account_id, freed)
    events.publish_on_commit(account_id, 0)


@atomic
def rename_folder(account_id: int, old: str, new: str) -> FolderInfo:
    """Rename a folder with its children. Renaming INBOX moves its messages
    into a new folder and leaves INBOX empty (RFC 3501 6.3.5)."""
    source = get_folder(account_id, old)
    target = normalize_name(new)
    if Folder.objects.filter(owner_id=account_id, name=target).exists():
        raise AlreadyExists(f"folder {target!r} already exists")
    if target == source.name or target.startswith(source.name + SEP):
        raise InvalidInput("cannot rename a folder into itself")
    _ensure_parents(account_id, target)
    if source.name == "INBOX":
        from .messages import move_all

        source = get_folder(account_id, old, lock=True)
        dest = _create(account_id, target)
        move_all(account_id, source, dest)
        events.publish_on_commit(account_id, source.id)
        return _info(dest)
    # The folder and its children locked in id order, as a MOVE takes its two
    # (a child may be older than its parent): docs/DESIGN.md "Lock order".
    prefix = source.name + SEP
    locked = list(
        Folder.objects.select_for_update()
        .filter(owner_id=account_id)
        .filter(Q(pk=source.pk) | Q(name__startswith=prefix))
        .order_by("pk")
    )
    renamed = next((f for f in locked if f.pk == source.pk and f.name + SEP == prefix), None)
    if renamed is None:
        raise NoSuchFolder(f"no folder named {old!r}")  # renamed or deleted meanwhile
    for folder in locked:
        if folder.pk == renamed.pk:
            folder.name = target
        elif folder.name.startswith(prefix):
            folder.name = target + SEP + folder.name[len(prefix) :]
        else:
            continue  # renamed away from under it meanwhile
        folder.save(update_fields=["name"])
    events.publish_on_commit(account_id, renamed.id)
    return _info(renamed)


@atomic
def subscribe(account_id: int, name: str, subscribed: bool = True) -> None:
    """SUBSCRIBE needs the folder; UNSUBSCRIBE also takes a subscribed name
    whose folder is gone (store/subscriptions.py)."""
    try:
        folder = get_folder(account_id, name)
    except NoSuchFolder:
        if subscribed or not take_lost_subscription(account_id, normalize_name(name)):
            raise
        return
    Folder.objects.filter(pk=folder.pk).update(subscribed=subscribed)
    events.publish_on_commit(account_id, 0)  # the folder list changed (IMAP NOTIFY SubscriptionChange)


@no_transaction
def list_folders(account_id: int) -> list[FolderInfo]:
    """One SELECT of the columns LIST needs (no model instances: LIST is a
    frequent command, docs/PERFORMANCE.md "STATUS and LIST")."""
    with _sql.prepared(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, name, special_use, subscribed, uidvalidity FROM {_sql.table(Folder)}"
            f" WHERE owner_id = %s ORDER BY name",
            [account_id],
        )
        return [FolderInfo(i, name, use, bool(subscribed), uv) for i, name, use, subscribed, uv in cursor.fetchall()]


def _statuses(where: str, params: list) -> list[FolderStatus]:
    """STATUS of the folders matching ``where`` (on the folder row ``f``):
    one statement, the counters and the counts from one snapshot, so no
    transaction is needed around it (docs/PERFORMANCE.md, "STATUS and LIST")."""
    folder, message = _sql.table(Folder), _sql.table(Message)
    sql = (
        f"SELECT f.id, f.name, COUNT(m.id),"
        f" COALESCE(SUM(CASE WHEN m.uid >= f.recent_uid THEN 1 ELSE 0 END), 0),"
        f" COALESCE(SUM(CASE WHEN m.seen THEN 0 WHEN m.id IS NULL THEN 0 ELSE 1 END), 0),"
        f" f.uidnext, f.uidvalidity, f.highestmodseq, COALESCE(SUM(m.size), 0),"
        f" COALESCE(SUM(CASE WHEN m.deleted THEN 1 ELSE 0 END), 0)"
        f" FROM {folder} f LEFT JOIN {message} m ON m.folder_id = f.id WHERE {where}"
        f" GROUP BY f.id, f.name, f.uidnext, f.uidvalidity, f.highestmodseq ORDER BY f.name"
    )
    with _sql.prepared(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [FolderStatus(*row) for row in cursor.fetchall()]


@no_transaction
def folder_status(account_id: int, name: str) -> FolderStatus:
    found = _statuses("f.owner_id = %s AND f.name = %s", [account_id, normalize_name(name)])
    if not found:
        raise NoSuchFolder(f"no folder named {name!r}")
    return found[0]


@no_transaction
def all_folder_status(account_id: int) -> list[FolderStatus]:
    """STATUS of every folder in one query (webmail sidebar, LIST-STATUS)."""
    return _statuses("f.owner_id = %s", [account_id])


def _recent(
    account_id: int, folder_id: int, below: int, claim: bool, seen: tuple[int, int] | None = None
) -> RecentRange:
    """The UIDs under `below` that no session has claimed as \\Recent; with
    `claim`, this session takes them, so no other session ever will.

    Without a lock or a transaction: the folder's mark (recent_uid) and
    uidnext are read (or given as `seen`, read just before), and the claim
    is one conditional UPDATE that moves the mark only if it is still where
    it was read. Two sessions (in any worker processes) claiming at once:
    the second UPDATE waits for the first's row lock, finds the mark moved
    and updates nothing, and that session reads again, so the ranges are
    disjoint. The mark only rises (to at most uidnext), so this ends.
    `seen` is not used when `below` is past its uidnext: messages that came
    after it was read need uidnext read again."""
    if seen is not None and below > seen[1]:
        seen = None
    folder = _sql.table(Folder)
    with _sql.prepared(), connection.cursor() as cursor:
        while True:
            if seen is None:
                cursor.execute(
                    f"SELECT recent_uid, uidnext FROM {folder} WHERE id = %s AND owner_id = %s", [folder_id, account_id]
                )
                seen = cursor.fetchone()
                if seen is None:
                    raise NoSuchFolder("that folder no longer exists")
            first, uidnext = seen
            end = min(below, uidnext)
            if not claim or end <= first:
                return RecentRange(first, max(first, end))
            cursor.execute(
                f"UPDATE {folder} SET recent_uid = %s WHERE id = %s AND recent_uid = %s", [end, folder_id, first]
            )
            if cursor.rowcount == 1:
                return RecentRange(first, end)
            seen = None  # another session claimed first: look again


@no_transaction
def claim_recent(
    account_id: int, folder_id: int, below: int, *, claim: bool = True, seen: tuple[int, int] | None = None
) -> RecentRange:
    """The messages under UID `below` that are \\Recent for an IMAP session
    learning of them now (RFC 3501 2.3.2): those no session has claimed.
    A read-write session claims them; a read-only one (EXAMINE) only looks,
    since it must not take \\Recent from others (RFC 3501 6.3.2).
    seen: the folder's (recent_uid, uidnext) as just read (Changes), which
    saves reading them again."""
    return _recent(account_id, folder_id, below, claim, seen)


def _uids_and_unseen(cursor, folder_id: int) -> tuple[list[int], int, int | None]:  # type: ignore[no-untyped-def]
    """The folder's UIDs, ascending, how many of its messages are unseen and
    the lowest unseen UID. On PostgreSQL one statement of three index-only
    scans (the UIDs from message_folder_uid as one array, the unseen from the
    partial index message_folder_unseen), not a row per message: a third of
    the time on 100,000 messages (docs/PERFORMANCE.md)."""
    message = _sql.table(Message)
    if connection.vendor == "postgresql":
        cursor.execute(
            f"SELECT ARRAY(SELECT uid FROM {message} WHERE folder_id = %s ORDER BY uid),"
            f" (SELECT count(*) FROM {message} WHERE folder_id = %s AND NOT seen),"
            f" (SELECT min(uid) FROM {message} WHERE folder_id = %s AND NOT seen)",
            [folder_id] * 3,
        )
        uids, unseen, first_unseen = cursor.fetchone()
        return uids, unseen, first_unseen
    cursor.execute(f"SELECT uid, seen FROM {message} WHERE folder_id = %s ORDER BY uid", [folder_id])
    uids = []
    unseen = 0
    first_unseen = None
    while chunk := cursor.fetchmany(10000):
        for uid, seen in chunk:
            uids.append(uid)
            if not seen:
                unseen += 1
                if first_unseen is None:
                    first_unseen = uid
    return uids, unseen, first_unseen


@no_transaction
def select_folder(account_id: int, name: str, *, claim_recent: bool = False) -> FolderView:
    """Everything a session needs to open a folder: its UID list (for message
    sequence numbers), counters, the keywords in use, and which of its
    messages are \\Recent for this session (claimed when `claim_recent`,
    a read-write SELECT; see :func:`claim_recent`).

    Two hand-written statements (the folder row with its keywords, every
    message's UID and \\Seen), and a third only to claim \\Recent
    messages; none needs a transaction (each is consistent on its own, and
    the claim is one conditional UPDATE)."""
    clean = normalize_name(name)
    with _sql.prepared(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, name, uidvalidity, uidnext, highestmodseq, special_use, recent_uid, keywords "
            f"FROM {_sql.table(Folder)} WHERE owner_id = %s AND name = %s",
            [account_id, clean],
        )
        row = cursor.fetchone()
        if row is None:
            raise NoSuchFolder(f"no folder named {name!r}")
        folder_id, folder_name, uidvalidity, uidnext, highestmodseq, special_use, recent_uid, keywords = row
        uids, unseen, first_unseen = _uids_and_unseen(cursor, folder_id)
    # Everything under `below` is in `uids` or expunged: UIDs commit in order.
    below = max(uidnext, uids[-1] + 1 if uids else 0)
    recent = _recent(account_id, folder_id, below, claim_recent, (recent_uid, uidnext))
    return FolderView(
        folder_id,
        folder_name,
        uidvalidity,
        uidnext,
        highestmodseq,
        uids,
        tuple(_sql.keyword_list(keywords)),
        unseen,
        first_unseen,
        special_use,
        recent,
    )
