"""Periodic upkeep run by Celery beat (mailboxes/tasks.py): quota usage
recounted from the messages, one warning per threshold crossed, Trash and
Junk emptied of what is older than the domain's retention, and message bytes
no longer referred to deleted (collect_blobs)."""

from __future__ import annotations

import functools
import logging
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.utils import timezone

from .. import notices
from ..models import Account, Blob, Folder, Message
from . import _sql
from ._db import atomic, no_transaction
from .accounts import recalculate_usage
from .blobs import insert_blob, prepare
from .errors import NoSuchAccount, Unavailable
from .messages import Held, _insert, _remove, release_quota

# Percentages of the quota that earn a warning, lowest first; each is sent once
# until usage falls back below the lowest.
WARNING_LEVELS = (80, 95)
PURGED_USES = ("\\Trash", "\\Junk")


@atomic
def maintained_account_ids() -> list[int]:
    return list(Account.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))


@no_transaction
def check_quota(account_id: int) -> int:
    """Recount the account's usage (recalculate_usage: drift corrected) and,
    if it has crossed a warning level it was not yet warned about, put one
    warning in its INBOX. Returns the level warned about now, or 0.

    Two transactions of their own: the recount locks only the account row;
    a warning, when one is due, locks the INBOX and then the account, the
    lock order every writer keeps (docs/DESIGN.md "Lock order")."""
    recalculate_usage(account_id)
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        raise NoSuchAccount(f"no account #{account_id}")
    return _warn(account_id) if _warning_stale(account) else 0


def _level(account: Account) -> int:
    """The highest warning level the account's usage has reached, or 0."""
    if not account.quota:
        return 0
    return max((lv for lv in WARNING_LEVELS if account.used_bytes * 100 >= lv * account.quota), default=0)


def _warning_stale(account: Account) -> bool:
    """Has the account reached a level it was not warned about, or fallen back below the lowest?"""
    level = _level(account)
    return level > account.quota_warning_level or (level < WARNING_LEVELS[0] and account.quota_warning_level > 0)


@atomic
def _warn(account_id: int) -> int:
    """check_quota's warning: decided again under the locks, INBOX first."""
    inbox = Folder.objects.select_for_update().filter(owner_id=account_id, name="INBOX").first()
    account = Account.objects.select_for_update().filter(pk=account_id).first()
    if account is None:
        raise NoSuchAccount(f"no account #{account_id}")
    level = _level(account)
    if level <= account.quota_warning_level:
        if level < WARNING_LEVELS[0] and account.quota_warning_level:
            Account.objects.filter(pk=account_id).update(quota_warning_level=0)
        return 0
    if inbox is not None:
        raw = notices.build_quota_warning(
            hostname=settings.MAIL_HOSTNAME,
            address=account.address,
            percent=level,
            used=account.used_bytes,
            limit=account.quota,
            now=timezone.now(),
        )
        _notice(inbox, raw)
    Account.objects.filter(pk=account_id).update(quota_warning_level=level)
    return level


def _notice(inbox: Folder, raw: bytes) -> None:
    """Put a message from the host into a locked INBOX even when the mailbox
    is full: the warning is what tells the user to make room."""
    blob = prepare(raw)
    insert_blob(blob)
    _insert(inbox, [(blob.sha256, len(raw), (), None)])
    Account.objects.filter(pk=inbox.owner_id).update(used_bytes=F("used_bytes") + len(raw))


@atomic
def purge_old_messages(account_id: int) -> int:
    """Delete messages in the account's Trash and Junk older than its domain's
    trash_retention_days (0 keeps them forever). Returns how many went."""
    account = Account.objects.select_related("domain").filter(pk=account_id).first()
    if account is None:
        raise NoSuchAccount(f"no account #{account_id}")
    days = account.domain.trash_retention_days
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    removed = 0
    # Trash and Junk locked at once in id order, then the account (release_quota): docs/DESIGN.md "Lock order".
    purged = Folder.objects.select_for_update().filter(owner_id=account_id, special_use__in=PURGED_USES)
    for folder in list(purged.order_by("pk")):
        rows = [
            Held(*row)
            for row in Message.objects.filter(folder_id=folder.pk, internal_date__lt=cutoff)
            .order_by("uid")
            .values_list("id", "uid", "size")
        ]
        _remove(folder, rows)
        freed = sum(row.size for row in rows)
        if freed:
            release_quota(account_id, freed)
        removed += len(rows)
    return removed


# --- message bytes no row refers to (DESIGN.md "Message bytes and their collection") ---

log = logging.getLogger("mailboxes.store")
# SQLSTATEs of a lost race on PostgreSQL: deadlock, serialization failure.
_RACE_STATES = ("40P01", "40001")


@dataclass(frozen=True)
class BlobCollection:
    """What one collector run did (or, for a dry run, would do now)."""

    freed: int  # blob rows deleted
    freed_bytes: int
    marked: int  # found unreferenced this run: freed after the grace period
    waiting: int  # unreferenced, marked, still inside the grace period
    skipped: int  # batches given up after losing a race to a writer (tried again next run)


def _referenced() -> Q:
    """Some row refers to the blob: every foreign key to Blob (Message,
    OutboundMessage, and any model added later), found from the models."""
    refs = [
        Q(Exists(rel.related_model._default_manager.filter(**{rel.field.attname: OuterRef("pk")})))
        for rel in Blob._meta.get_fields(include_hidden=True)
        if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)
    ]
    return functools.reduce(operator.or_, refs)


def refresh_statistics() -> None:
    """After a bulk import (thousands of rows at once), on PostgreSQL: the
    message table vacuumed and both tables analysed now, rather than whenever
    autovacuum comes round (a minute or more; never, where it is off). Until
    then the planner has no statistics for the new rows (SEARCH SUBJECT on a
    100,000-message folder took 455 ms instead of 31) and index-only scans
    read every row's heap page (UID SEARCH UNSEEN: 10 ms instead of 2.5).
    VACUUM only outside a transaction (it cannot run in one); SQLite needs neither."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if not connection.in_atomic_block:
            cursor.execute(f"VACUUM {_sql.table(Message)}")
        cursor.execute(f"ANALYZE {_sql.table(Message)}")
        cursor.execute(f"ANALYZE {_sql.table(Blob)}")


def collect_blobs(batch: int = 1000, *, grace: timedelta | None = None) -> int:
    """Delete message bytes nothing refers to; returns how many blob rows went."""
    return run_blob_collection(batch, grace=grace).freed


def run_blob_collection(batch: int = 1000, *, grace: timedelta | None = None, dry_run: bool = False) -> BlobCollection:
    """Mark and sweep, `batch` rows per transaction (a backlog never holds a
    long transaction or many locks):

    1. mark: blobs nothing refers to get orphaned_at = now;
    2. sweep: marked blobs referred to again lose their mark; those marked
       more than `grace` (MAIL_BLOB_GC_GRACE) ago and still unreferenced are
       deleted, the references checked again in the deleting statement.

    A writer may reuse bytes at any moment (INSERT ... ON CONFLICT DO NOTHING
    takes no lock on the row it finds). The foreign keys decide such a race:
    the loser's transaction fails, never a dangling reference. When the
    collector loses (IntegrityError, or a deadlock), the batch is logged and
    skipped; the next run sees it again. A dry run changes nothing and counts
    what a run would free now (marks included as if made now)."""
    if batch < 1:
        raise ValueError("batch must be positive")
    grace = timedelta(seconds=settings.MAIL_BLOB_GC_GRACE) if grace is None else grace
    if dry_run:
        return _dry_run(grace)
    now = timezone.now()
    marked, _, lost_marking = _batches(_keys, lambda shas: _mark(shas, now), batch)
    cutoff = timezone.now() - grace
    freed, freed_bytes, lost_sweeping = _batches(_marked, lambda shas: _sweep(shas, cutoff), batch)
    return BlobCollection(freed, freed_bytes, marked, _waiting(), lost_marking + lost_sweeping)


def _batches(
    select: Callable[[str, int], list[str]], act: Callable[[list[str]], tuple[int, int]], batch: int
) -> tuple[int, int, int]:
    """act() on the keys select() pages through, batch by batch in key
    order, each batch its own transaction; returns the sums of act()'s
    (rows, bytes) and how many batches were lost to a racing writer."""
    rows = size = lost = 0
    after = ""
    while shas := select(after, batch):
        after = shas[-1]
        try:
            done = act(shas)
        except (IntegrityError, Unavailable) as exc:
            if not _lost_race(exc):
                raise
            log.warning(
                "blob collector: a writer reused bytes in batch %s..%s; left for the next run (%s)",
                shas[0][:12],
                shas[-1][:12],
                type(exc).__name__,
            )
            lost += 1
            continue
        rows, size = rows + done[0], size + done[1]
    return rows, size, lost


def _lost_race(exc: BaseException) -> bool:
    """A foreign key violation, or a deadlock or serialization failure (on
    PostgreSQL, reported as Unavailable by the store's atomic)."""
    if isinstance(exc, IntegrityError):
        return True
    cause: BaseException | None = exc
    while cause is not None:
        if getattr(cause, "sqlstate", None) in _RACE_STATES:
            return True
        cause = cause.__cause__
    return False


@no_transaction
def _keys(after: str, batch: int) -> list[str]:
    """The next `batch` blob keys: the mark walks the table in bounded steps
    (one statement never scans the whole table looking for a few orphans)."""
    return list(Blob.objects.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch])


@no_transaction
def _marked(after: str, batch: int) -> list[str]:
    return list(
        Blob.objects.filter(pk__gt=after, orphaned_at__isnull=False).order_by("pk").values_list("pk", flat=True)[:batch]
    )


@atomic
def _mark(shas: list[str], now: datetime) -> tuple[int, int]:
    unused = Blob.objects.filter(pk__in=shas, orphaned_at__isnull=True).exclude(_referenced())
    return unused.update(orphaned_at=now), 0


@atomic
def _sweep(shas: list[str], cutoff: datetime) -> tuple[int, int]:
    """Unmark what is referred to again; delete what has been unreferenced
    since before cutoff. Returns (rows, bytes) deleted."""
    marked = Blob.objects.filter(pk__in=shas, orphaned_at__isnull=False)
    marked.filter(_referenced()).update(orphaned_at=None)
    # Raw DELETE ... RETURNING: QuerySet.delete() would load every blob
    # (bytes and all) to check its PROTECT references in Python.
    due = marked.filter(orphaned_at__lte=cutoff).exclude(_referenced()).values("pk")
    sql, params = due.query.sql_with_params()
    table = connection.ops.quote_name(Blob._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE sha256 IN ({sql}) RETURNING size", params)
        sizes = [row[0] for row in cursor.fetchall()]
    return len(sizes), sum(sizes)


@no_transaction
def _waiting() -> int:
    return Blob.objects.filter(orphaned_at__isnull=False).count()


@atomic
def _dry_run(grace: timedelta) -> BlobCollection:
    unreferenced = Blob.objects.exclude(_referenced())
    due = Q(orphaned_at__lte=timezone.now() - grace)
    if grace <= timedelta(0):
        due |= Q(orphaned_at__isnull=True)
    freed = unreferenced.filter(due).aggregate(n=Count("pk"), b=Sum("size"))
    marked = unreferenced.filter(orphaned_at__isnull=True).count()
    return BlobCollection(freed["n"], freed["b"] or 0, marked, unreferenced.exclude(due).count(), 0)
