"""Periodic upkeep run by Celery beat (mailboxes/tasks.py): quota usage
recounted from the messages, one warning per threshold crossed, and Trash
and Junk emptied of what is older than the domain's retention."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import F, Sum
from django.utils import timezone

from .. import notices
from ..models import Account, Folder, Message
from ._db import atomic
from .errors import NoSuchAccount
from .messages import _ensure_blob, _insert, _remove, prepare, release_quota

# Percentages of the quota that earn a warning, lowest first; each is sent once
# until usage falls back below the lowest.
WARNING_LEVELS = (80, 95)
PURGED_USES = ("\\Trash", "\\Junk")


@atomic
def maintained_account_ids() -> list[int]:
    return list(Account.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))


@atomic
def check_quota(account_id: int) -> int:
    """Recount the account's usage (correcting drift) and, if it has crossed a
    warning level it was not yet warned about, put one warning in its INBOX.
    Returns the level warned about now, or 0."""
    account = Account.objects.select_for_update().filter(pk=account_id).first()
    if account is None:
        raise NoSuchAccount(f"no account #{account_id}")
    used = Message.objects.filter(folder__owner_id=account_id).aggregate(s=Sum("size"))["s"] or 0
    if used != account.used_bytes:
        Account.objects.filter(pk=account_id).update(used_bytes=used)
    if not account.quota:
        level = 0
    else:
        level = max((lv for lv in WARNING_LEVELS if used * 100 >= lv * account.quota), default=0)
    if level <= account.quota_warning_level:
        if level < WARNING_LEVELS[0] and account.quota_warning_level:
            Account.objects.filter(pk=account_id).update(quota_warning_level=0)
        return 0
    raw = notices.build_quota_warning(hostname=settings.MAIL_HOSTNAME, address=account.address,
                                      percent=level, used=used, limit=account.quota, now=timezone.now())
    _notice(account_id, raw)
    Account.objects.filter(pk=account_id).update(quota_warning_level=level)
    return level


def _notice(account_id: int, raw: bytes) -> None:
    """Put a message from the host into INBOX even when the mailbox is full:
    the warning is what tells the user to make room."""
    blob = prepare(raw)
    inbox = Folder.objects.select_for_update().filter(owner_id=account_id, name="INBOX").first()
    if inbox is None:
        return
    _ensure_blob(blob)
    _insert(inbox, [(blob.sha256, len(raw), (), None)])
    Account.objects.filter(pk=account_id).update(used_bytes=F("used_bytes") + len(raw))


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
    for folder in Folder.objects.select_for_update().filter(owner_id=account_id, special_use__in=PURGED_USES):
        rows = list(Message.objects.filter(folder_id=folder.pk, internal_date__lt=cutoff)
                    .order_by("uid").values_list("id", "uid", "size"))
        _remove(folder, rows)
        freed = sum(r[2] for r in rows)
        if freed:
            release_quota(account_id, freed)
        removed += len(rows)
    return removed
