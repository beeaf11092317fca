"""Outbound sending rate: how many recipients one account may send to per
hour, whichever door the mail goes out by (SMTP submission and SMTPS, the
webmail), so that a stolen password cannot send thousands of messages.

check_sending(account, n) raises SendingLimited when the recipients the
account sent to in the last SEND_WINDOW seconds plus `n` would pass
MAIL_SEND_LIMIT (0 = no limit); record_sending(account, n) counts `n` once
the message was accepted. The count is shared by every worker process and
the web: a sorted set of (time, count) entries per account in Redis when
REDIS_URL is set, else the database's 'mail.sent' audit rows. Two sessions
of one account checking at the same instant may together pass the limit by
one message's recipients; the next check refuses."""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db.models import IntegerField, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from ..models import AuditEntry
from . import _redis
from ._db import atomic
from .errors import SendingLimited

SENT = "mail.sent"
SEND_WINDOW = 3600  # seconds: MAIL_SEND_LIMIT is recipients per hour


class _DatabaseCounter:
    def record(self, account_id: int, count: int, now: float) -> None:
        AuditEntry.objects.create(actor_id=account_id, action=SENT, target=str(account_id),
                                  detail={"recipients": count})

    def sent(self, account_id: int) -> int:
        since = timezone.now() - timedelta(seconds=SEND_WINDOW)
        rows = AuditEntry.objects.filter(action=SENT, target=str(account_id), at__gte=since)
        total = rows.aggregate(n=Sum(Cast(KeyTextTransform("recipients", "detail"), IntegerField())))["n"]
        return int(total or 0)

    def reset(self) -> None:
        pass  # the counts go with the audit rows


class _RedisCounter:
    def __init__(self) -> None:
        self.client = _redis.client()
        self.prefix = _redis.prefix("sent")

    def record(self, account_id: int, count: int, now: float) -> None:
        key = f"{self.prefix}{account_id}"
        pipe = self.client.pipeline()
        pipe.zadd(key, {f"{count}:{now}:{secrets.token_hex(4)}": now})
        pipe.zremrangebyscore(key, "-inf", now - SEND_WINDOW)
        pipe.expire(key, SEND_WINDOW + 1)
        pipe.execute()

    def sent(self, account_id: int) -> int:
        entries = self.client.zrangebyscore(f"{self.prefix}{account_id}", time.time() - SEND_WINDOW, "+inf")
        return sum(int(e.split(b":", 1)[0]) for e in entries)

    def reset(self) -> None:
        _redis.delete_under(self.prefix)


_counters: Callable[[], _DatabaseCounter | _RedisCounter] = _redis.backend(
    _RedisCounter, _DatabaseCounter)


@atomic
def check_sending(account_id: int, count: int) -> None:
    """Raise SendingLimited if sending to `count` more recipients now would
    pass the account's hourly limit."""
    limit = settings.MAIL_SEND_LIMIT
    if limit and _counters().sent(account_id) + count > limit:
        raise SendingLimited(f"account {account_id}: more than {limit} recipients in {SEND_WINDOW} s")


@atomic
def record_sending(account_id: int, count: int) -> None:
    """Count `count` recipients the account has just sent a message to."""
    if count > 0:
        _counters().record(account_id, count, time.time())


def reset_sending_counts() -> None:
    """Forget every count (tests; Redis only: the database's go with its audit rows)."""
    _counters().reset()
