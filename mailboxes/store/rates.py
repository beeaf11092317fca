"""Outbound rate control per destination domain (docs/DELIVERABILITY.md):
fixed one-minute windows of new connections and of messages, counted in
Redis when REDIS_URL is set (shared by every relay worker) and in this
process otherwise (the embedded default has one). The relay asks before it
connects and before each message; over the limit, the rest waits for the
next window (postpone_outbound) without it counting as a failed attempt."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from ..models import OutboundRecipient
from . import _redis
from ._db import no_transaction

log = logging.getLogger("mailboxes.store.rates")
KINDS = ("connections", "messages")
_local: dict[str, int] = {}
_local_lock = threading.Lock()


def limit_of(destination: str, kind: str) -> int:
    rates = settings.MAIL_RELAY_RATE_LIMITS
    connections, messages = rates.get(destination.lower(), rates.get("*", (0, 0)))
    return connections if kind == "connections" else messages


def _count(key: str) -> int:
    if settings.REDIS_URL:
        pipe = _redis.client().pipeline()
        pipe.incr(key)
        pipe.expire(key, 120)
        return int(pipe.execute()[0])
    with _local_lock:
        for stale in [k for k in _local if not k.endswith(key.rsplit(":", 1)[1])]:
            del _local[stale]  # only this minute's windows are kept
        _local[key] = _local.get(key, 0) + 1
        return _local[key]


def take_relay_slot(destination: str, kind: str) -> bool:
    """Count one connection or message to destination in this minute's
    window; False when that goes past its limit (nothing is sent then)."""
    limit = limit_of(destination, kind)
    if limit <= 0:
        return True
    minute = int(time.time() // 60)
    try:
        return _count(f"{_redis.prefix('relay-rate')}{kind}:{destination.lower()}:{minute}") <= limit
    except Exception:  # Redis down: deliver unthrottled rather than not at all
        log.warning("relay rate count for %s failed; not throttling", destination, exc_info=True)
        return True


def next_window() -> datetime:
    now = timezone.now()
    return now.replace(second=0, microsecond=0) + timedelta(minutes=1)


@no_transaction
def postpone_outbound(recipient_ids: list[int], until: datetime) -> int:
    """Put claimed recipients back, due at until, their claim not counted
    as an attempt. One statement."""
    return OutboundRecipient.objects.filter(pk__in=recipient_ids).update(next_attempt=until, attempts=F("attempts") - 1)
