"""Outbound sending rates: how many recipients one account may send to per
hour, whichever door the mail goes out by (SMTP submission and SMTPS, the
webmail), so that a stolen password cannot send thousands of messages; and,
apart from it, how many messages its Sieve scripts may redirect per day.

check_sending(account, n) raises SendingLimited when the recipients the
account sent to in the last SEND_WINDOW seconds plus `n` would pass
MAIL_SEND_LIMIT (0 = no limit); record_sending(account, n) counts `n` once
the message was accepted. check_redirects/record_redirects do the same for
Sieve's redirect (one per address a delivered message is redirected to)
against MAIL_SIEVE_REDIRECT_DAILY_LIMIT over REDIRECT_WINDOW (a day): a
redirect is mail the account's owner did not write, so it has a budget of
its own and never eats the hourly one people send with. Each count is
shared by every worker process and the web: a sorted set of (time, count)
entries per account in Redis when REDIS_URL is set, else audit rows
('mail.sent', 'sieve.redirected') in the database. Two sessions of one
account checking at the same instant may together pass a limit by one
message's recipients; the next check refuses."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
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
REDIRECTED = "sieve.redirected"
SEND_WINDOW = 3600  # seconds: MAIL_SEND_LIMIT is recipients per hour
REDIRECT_WINDOW = 86400  # seconds: MAIL_SIEVE_REDIRECT_DAILY_LIMIT is redirects per day


@dataclass(frozen=True)
class _Budget:
    action: str  # the audit action of a database count
    prefix: str  # the Redis key prefix of a shared count
    window: int  # seconds counted
    setting: str  # the limit's name in settings (0 = no limit)

    @property
    def limit(self) -> int:
        return int(getattr(settings, self.setting))


SENDING = _Budget(SENT, "sent", SEND_WINDOW, "MAIL_SEND_LIMIT")
REDIRECTS = _Budget(REDIRECTED, "redirected", REDIRECT_WINDOW, "MAIL_SIEVE_REDIRECT_DAILY_LIMIT")


class _DatabaseCounter:
    def __init__(self, budget: _Budget) -> None:
        self.budget = budget

    def record(self, account_id: int, count: int, now: float) -> None:
        AuditEntry.objects.create(
            actor_id=account_id, action=self.budget.action, target=str(account_id), detail={"recipients": count}
        )

    def sent(self, account_id: int) -> int:
        since = timezone.now() - timedelta(seconds=self.budget.window)
        rows = AuditEntry.objects.filter(action=self.budget.action, target=str(account_id), at__gte=since)
        total = rows.aggregate(n=Sum(Cast(KeyTextTransform("recipients", "detail"), IntegerField())))["n"]
        return int(total or 0)

    def reset(self) -> None:
        pass  # the counts go with the audit rows


class _RedisCounter:
    def __init__(self, budget: _Budget) -> None:
        self.budget = budget
        self.client = _redis.client()
        self.prefix = _redis.prefix(budget.prefix)

    def record(self, account_id: int, count: int, now: float) -> None:
        key, window = f"{self.prefix}{account_id}", self.budget.window
        pipe = self.client.pipeline()
        pipe.zadd(key, {f"{count}:{now}:{secrets.token_hex(4)}": now})
        pipe.zremrangebyscore(key, "-inf", now - window)
        pipe.expire(key, window + 1)
        pipe.execute()

    def sent(self, account_id: int) -> int:
        entries = self.client.zrangebyscore(f"{self.prefix}{account_id}", time.time() - self.budget.window, "+inf")
        return sum(int(e.split(b":", 1)[0]) for e in entries)

    def reset(self) -> None:
        _redis.delete_under(self.prefix)


def _backend(budget: _Budget) -> Callable[[], _DatabaseCounter | _RedisCounter]:
    return _redis.backend(lambda: _RedisCounter(budget), lambda: _DatabaseCounter(budget))


_counters = {SENDING: _backend(SENDING), REDIRECTS: _backend(REDIRECTS)}


def _check(budget: _Budget, account_id: int, count: int) -> None:
    limit = budget.limit
    if limit and _counters[budget]().sent(account_id) + count > limit:
        raise SendingLimited(f"account {account_id}: more than {limit} {budget.action} in {budget.window} s")


def _record(budget: _Budget, account_id: int, count: int) -> None:
    if count > 0:
        _counters[budget]().record(account_id, count, time.time())


@atomic
def check_sending(account_id: int, count: int) -> None:
    """Raise SendingLimited if sending to `count` more recipients now would
    pass the account's hourly limit."""
    _check(SENDING, account_id, count)


@atomic
def record_sending(account_id: int, count: int) -> None:
    """Count `count` recipients the account has just sent a message to."""
    _record(SENDING, account_id, count)


@atomic
def check_redirects(account_id: int, count: int) -> None:
    """Raise SendingLimited if redirecting a message to `count` more
    addresses would pass the account's daily Sieve redirect limit."""
    _check(REDIRECTS, account_id, count)


@atomic
def record_redirects(account_id: int, count: int) -> None:
    """Count `count` addresses the account's scripts have just redirected a message to."""
    _record(REDIRECTS, account_id, count)


def reset_sending_counts() -> None:
    """Forget every count (tests; Redis only: the database's go with its audit rows)."""
    for counter in _counters.values():
        counter().reset()
