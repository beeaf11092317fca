"""Concurrent sessions per account: at most MAIL_MAX_SESSIONS_PER_ACCOUNT
IMAP and POP3 sessions logged in to one account at once (0 = no limit), so
one account (or a stolen password) cannot take a worker's connections.

open_session(account, token) raises TooManySessions when the account has
that many sessions already, else counts this one; close_session(account,
token) forgets it. With REDIS_URL the count is shared by every worker
process: a sorted set per account of session tokens scored by when their
worker last vouched for them, counted and claimed by one script (one round
trip, atomic: two logins racing for the last place cannot both have it).
Each process re-vouches for its own live sessions at most every REFRESH
seconds when it opens or closes one, and an entry not vouched for in STALE seconds (a worker killed with SIGKILL) no
longer counts; so a worker that opens no session for STALE seconds lets its
older sessions lapse from the count, which errs on the side of letting a
login in. Without Redis the count is this process's. No database work: these
touch memory or Redis only. If Redis cannot be reached the login is let in
(the limit protects capacity; it is not worth refusing every login for)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings

from . import _redis
from .errors import TooManySessions

log = logging.getLogger("mailboxes.store")

REFRESH = 60  # seconds between a process's re-vouching for its sessions
STALE = 300  # seconds after which an entry nobody vouched for stops counting

# Drop the stale entries, count, and add the session if there is room: one
# round trip, and atomic, so two logins racing for the last place cannot
# both have it. KEYS[1]: the account's set; ARGV: stale cutoff, limit, now,
# token, the set's time to live.
_CLAIM = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""
_claim_script: Any = None

_lock = threading.Lock()
_live: dict[str, int] = {}  # this process's open sessions: token -> account id
_refreshed = 0.0


def _key(account_id: int) -> str:
    return f"{_redis.prefix('sessions')}{account_id}"


def _vouch(now: float) -> None:
    """Re-score this process's live sessions (every REFRESH seconds at most)."""
    global _refreshed
    with _lock:
        if now - _refreshed < REFRESH:
            return
        _refreshed = now
        live = list(_live.items())
    if live:
        pipe = _redis.client().pipeline()
        for token, account_id in live:
            pipe.zadd(_key(account_id), {token: now}, xx=True)
        pipe.execute()


def open_session(account_id: int, token: str) -> None:
    """Count one more session of the account, or raise TooManySessions."""
    limit = settings.MAIL_MAX_SESSIONS_PER_ACCOUNT
    if not limit:
        return
    if not settings.REDIS_URL:
        with _lock:
            if sum(1 for a in _live.values() if a == account_id) >= limit:
                raise TooManySessions(f"account {account_id} has {limit} sessions")
            _live[token] = account_id
        return
    global _claim_script
    now = time.time()
    try:
        _vouch(now)
        if _claim_script is None:
            _claim_script = _redis.client().register_script(_CLAIM)
        if not _claim_script(
            keys=[_key(account_id)],
            args=[repr(now - STALE), limit, repr(now), token, STALE + 1],
            client=_redis.client(),
        ):
            raise TooManySessions(f"account {account_id} has {limit} sessions")
    except TooManySessions:
        raise
    except Exception:
        log.warning("session count for account %s unavailable; login let in", account_id, exc_info=True)
        return
    with _lock:
        _live[token] = account_id


def close_session(account_id: int, token: str) -> None:
    """Forget a session counted by open_session (a no-op for one never counted)."""
    with _lock:
        counted = _live.pop(token, None) is not None
    if counted and settings.REDIS_URL:
        try:
            _redis.client().zrem(_key(account_id), token)
        except Exception:
            log.warning("session count for account %s not decreased (it lapses in %s s)", account_id, STALE)


def reset_session_counts() -> None:
    """Forget every count (tests: Redis entries outlive a test's accounts)."""
    with _lock:
        _live.clear()
    if settings.REDIS_URL:
        _redis.delete_under(_redis.prefix("sessions"))
