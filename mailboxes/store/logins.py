"""Logins: the ONE entry point every door calls (SMTP AUTH, IMAP LOGIN and
AUTHENTICATE, POP3 USER/PASS/APOP/AUTH, POP2 HELO, webmail, dashboard), with
the brute-force defence in this one place.

login() refuses before looking at the credentials when the client's IP or
the account asked for has failed too often lately and the account never
logged in from that client; otherwise it checks them (accounts.authenticate,
with its verified-credential cache), counts a failure against the IP and the
account, or records the successful login per protocol. A success is never
delayed. Failures are counted per account however its address was spelt and
per client IPv4 address or IPv6 /64 (login_keys); a spelling other than case
and surrounding spaces is refused without a lookup.

Failures are counted in Redis when REDIS_URL is set (sorted sets shared by
every worker process), else from the audit log's 'login.failed' rows in the
database (also shared). Every failure is an audit row either way, so the
dashboard's audit log shows them. After MAIL_LOGIN_MAX_FAILURES failures for
an account (MAIL_LOGIN_MAX_FAILURES_PER_IP for an IP) within
MAIL_LOGIN_FAILURE_WINDOW seconds, the key is refused for
MAIL_LOGIN_BLOCK_DELAY seconds after its last failure, doubling with each
further failure, at most the window. Administrators list and clear blocks
(admin_login_blocks / admin_clear_login_block); a clear is audited."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, DateTimeField, Max, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..models import AuditEntry, LoginRecord
from . import _redis
from . import accounts as _accounts
from . import credentials as _credentials
from ._db import atomic, no_transaction
from .addresses import domain_of
from .admin import audit
from .admin_accounts import note_login
from .admin_types import Actor
from .errors import AppPasswordRequired, LoginBlocked, LoginFailed, NotFound, NotPermitted
from .login_keys import account_key, client_key, is_login_name, text
from .types import AccountInfo

FAILED = "login.failed"
CLEARED = "login.unblocked"
IP, ACCOUNT = "ip", "account"


@dataclass(frozen=True)
class LoginBlock:
    """One refused key: an IP, or an account (refused from new IPs)."""

    kind: str  # "ip" or "account"
    value: str  # the IP or the address
    failures: int  # within the window
    last_failure: datetime
    until: datetime


def _limit(kind: str) -> int:
    return settings.MAIL_LOGIN_MAX_FAILURES_PER_IP if kind == IP else settings.MAIL_LOGIN_MAX_FAILURES


def _block_until(kind: str, failures: int, last: float) -> float | None:
    """When a key with `failures` failures, the last at `last`, is let in again
    (None: it is not blocked). The delay doubles with every failure past the
    threshold and never outlasts the window the failures are counted in."""
    excess = failures - _limit(kind)
    if excess < 0:
        return None
    window = settings.MAIL_LOGIN_FAILURE_WINDOW
    delay = min(settings.MAIL_LOGIN_BLOCK_DELAY * (2 ** min(excess, 30)), window)
    until = last + delay
    return until if until > time.time() else None


# --- the counters -------------------------------------------------------------


class _DatabaseCounter:
    """Failures are the audit log's login.failed rows since the window opened
    or the key's last clear, whichever is later."""

    def record(self, address: str, ip: str, protocol: str, now: float) -> None:
        pass  # the audit row login() writes is the record

    def states(self, keys: list[tuple[str, str]]) -> list[tuple[int, float]]:
        """Every key's count and last failure in one statement: each counts
        from its last clear, if that is later than the window's opening."""
        if not keys:
            return []
        since = timezone.now() - timedelta(seconds=settings.MAIL_LOGIN_FAILURE_WINDOW)
        counts: dict[str, Any] = {}
        for n, (kind, value) in enumerate(keys):
            cleared = (
                AuditEntry.objects.filter(action=CLEARED, target=f"{kind}:{value}", at__gte=since)
                .order_by("-at")
                .values("at")[:1]
            )
            start = Coalesce(Subquery(cleared, output_field=DateTimeField()), Value(since, DateTimeField()))
            mine = (Q(detail__client=value) if kind == IP else Q(target=value)) & Q(at__gte=start)
            counts[f"n{n}"], counts[f"last{n}"] = Count("pk", filter=mine), Max("at", filter=mine)
        found = AuditEntry.objects.filter(action=FAILED, at__gte=since).aggregate(**counts)
        return [(found[f"n{n}"], found[f"last{n}"].timestamp() if found[f"last{n}"] else 0.0) for n in range(len(keys))]

    def state(self, kind: str, value: str) -> tuple[int, float]:
        return self.states([(kind, value)])[0]

    def clear(self, kind: str, value: str) -> None:
        pass  # the login.unblocked audit row the clear writes is the record

    def candidates(self) -> Iterable[tuple[str, str]]:
        since = timezone.now() - timedelta(seconds=settings.MAIL_LOGIN_FAILURE_WINDOW)
        rows = AuditEntry.objects.filter(action=FAILED, at__gte=since)
        limit = min(settings.MAIL_LOGIN_MAX_FAILURES, settings.MAIL_LOGIN_MAX_FAILURES_PER_IP)
        for target in (
            rows.values("target").annotate(n=Count("pk")).filter(n__gte=limit).values_list("target", flat=True)
        ):
            yield ACCOUNT, target
        for client in (
            rows.values("detail__client")
            .annotate(n=Count("pk"))
            .filter(n__gte=limit)
            .values_list("detail__client", flat=True)
        ):
            if client:
                yield IP, client

    def reset(self) -> None:
        pass


class _RedisCounter:
    """One sorted set of failure times per key, trimmed to the window and
    expiring with it, plus a set naming the keys for the dashboard."""

    def __init__(self) -> None:
        self.client = _redis.client()
        self.prefix = _redis.prefix("login")

    def _key(self, kind: str, value: str) -> str:
        return f"{self.prefix}{kind}:{value}"

    def record(self, address: str, ip: str, protocol: str, now: float) -> None:
        window = settings.MAIL_LOGIN_FAILURE_WINDOW
        pipe = self.client.pipeline()
        for kind, value in ((ACCOUNT, account_key(address)), (IP, client_key(ip))):
            if not value:
                continue
            key = self._key(kind, value)
            pipe.zadd(key, {f"{now}:{secrets.token_hex(4)}": now})
            pipe.zremrangebyscore(key, "-inf", now - window)
            pipe.expire(key, window + 1)
            pipe.sadd(self.prefix + "keys", f"{kind}:{value}")
        pipe.execute()

    def states(self, keys: list[tuple[str, str]]) -> list[tuple[int, float]]:
        """(failures within the window, time of the last) of each key, all in
        one round trip; read only (record() trims the sets)."""
        since = time.time() - settings.MAIL_LOGIN_FAILURE_WINDOW
        pipe = self.client.pipeline(transaction=False)
        for kind, value in keys:
            key = self._key(kind, value)
            pipe.zcount(key, since, "+inf")
            pipe.zrange(key, -1, -1, withscores=True)
        found = pipe.execute()
        return [(int(count), float(last[0][1]) if last else 0.0) for count, last in zip(found[::2], found[1::2])]

    def state(self, kind: str, value: str) -> tuple[int, float]:
        return self.states([(kind, value)])[0]

    def clear(self, kind: str, value: str) -> None:
        self.client.delete(self._key(kind, value))
        self.client.srem(self.prefix + "keys", f"{kind}:{value}")

    def candidates(self) -> Iterable[tuple[str, str]]:
        for raw in self.client.smembers(self.prefix + "keys"):
            kind, _, value = (raw.decode() if isinstance(raw, bytes) else str(raw)).partition(":")
            if not self.client.exists(self._key(kind, value)):
                self.client.srem(self.prefix + "keys", raw)
                continue
            yield kind, value

    def reset(self) -> None:
        _redis.delete_under(self.prefix)


_counters: Callable[[], _DatabaseCounter | _RedisCounter] = _redis.backend(_RedisCounter, _DatabaseCounter)


def _known_ip(address: str, ip: str) -> bool:
    """Has this account logged in from this client (IP, or IPv6 /64) before,
    by any door? Its last login per door is at most a handful of rows."""
    client = client_key(ip)
    return bool(client) and any(
        client_key(known) == client
        for known in LoginRecord.objects.filter(account__address=account_key(address)).values_list("ip", flat=True)
    )


# --- the entry point --------------------------------------------------------------


def _apop_matches(info_secret: tuple[AccountInfo, str] | None, challenge: str, digest: str) -> AccountInfo | None:
    if info_secret is None:
        return None
    info, secret = info_secret
    expected = hashlib.md5((challenge + secret).encode("utf-8")).hexdigest()
    return info if hmac.compare_digest(expected, digest.lower()) else None


@no_transaction
def login_refusal(address: str, ip: str, *, second_factor: bool = False) -> float | None:
    """When the client may try again (epoch seconds), or None if it may try
    now. The IP's and the account's counts are read together (one Redis
    round trip); the database is asked only when one of them is blocked.

    Either block refuses only an account that never logged in from this
    client: an attacker cannot lock an account's owner out, and one bad
    client behind an office's NAT address does not lock out colleagues who
    log in from there. Such an account's password is still checked, and a
    wrong one still counts against the IP and the account.

    With second_factor (a two-factor code, asked for after the right
    password) a block refuses from every client: whoever has the password is
    at a known client by then, and six digits must not be guessable there."""
    keys = [(kind, value) for kind, value in ((IP, client_key(ip)), (ACCOUNT, account_key(address))) if value]
    ends = (_block_until(kind, *state) for (kind, _), state in zip(keys, _counters().states(keys)))
    blocks = [end for end in ends if end is not None]
    if not blocks or (not second_factor and _known_ip(address, ip)):
        return None
    return max(blocks)


def login(address: str, password: str, *, protocol: str, ip: str, apop_challenge: str | None = None) -> AccountInfo:
    """The account whose credentials these are, its login recorded for
    `protocol`. With apop_challenge, `password` is the APOP digest of the
    challenge and the account's shared secret (RFC 1939 7).

    Raises LoginBlocked (temporary: the credentials were not looked at) or
    LoginFailed (wrong, unknown or disabled: one reason for all), the
    failure counted and committed first; its subclass AppPasswordRequired
    when the account's own right password was given at a mail door of an
    account with two-factor sign-in on (credentials.verify)."""
    if text(address) != address or text(password) != password:
        # Not text (bytes that are not UTF-8, NULs): no account has this name
        # or password; counted as a failure like any other (found by fuzzing).
        address, password = text(address), ""
    account = _check(address, password, protocol, ip[:64], apop_challenge)
    if account is None:
        raise LoginFailed("invalid credentials")
    return account


@no_transaction
def _check(address: str, password: str, protocol: str, ip: str, apop_challenge: str | None) -> AccountInfo | None:
    # No transaction: the reads need no common snapshot, and each write (the
    # failure's audit row, the login record) is one statement.
    until = login_refusal(address, ip)
    if until is not None:
        raise LoginBlocked("too many failed logins", retry_after=until)
    app_password = None
    if not is_login_name(address):
        account = None  # <a@b>, a@b., a@ b: counted against a@b's budget, never looked up
    elif apop_challenge is None:
        try:
            verified = _credentials.verify(address, password, protocol=protocol)
        except AppPasswordRequired:
            record_failure(address, ip, protocol)
            raise
        account, app_password = (verified.account, verified.app_password) if verified else (None, None)
    else:
        account = _apop_matches(_accounts.apop_secret(address), apop_challenge, password)
    if account is None:
        record_failure(address, ip, protocol)
        return None
    note_login(account.id, protocol, ip)
    if app_password is not None:
        _credentials.note_app_password_use(app_password, protocol, ip)
    return account


@no_transaction
def record_failure(address: str, ip: str, protocol: str) -> None:
    """Count a failed password check that did not go through login() (the
    webmail's change-password form checks the old password)."""
    AuditEntry.objects.create(
        actor=None,
        action=FAILED,
        target=account_key(address),
        detail={"ip": ip[:64], "client": client_key(ip), "protocol": protocol[:16]},
    )
    _counters().record(address, ip[:64], protocol, time.time())


def login_blocked(address: str, ip: str) -> bool:
    """Would login() refuse this client before looking at its password?"""
    return login_refusal(address, ip) is not None


record_login_failure = record_failure  # the dashboard's original name


@no_transaction
def prune_login_failures(*, older_than: timedelta) -> int:
    """Delete the failed-login audit rows older than this (never those the
    database counter still reads: the window is the least kept), in one
    statement; returns how many went."""
    keep = max(older_than, timedelta(seconds=settings.MAIL_LOGIN_FAILURE_WINDOW))
    deleted, _ = AuditEntry.objects.filter(action=FAILED, at__lt=timezone.now() - keep).delete()
    return deleted


def reset_login_throttle() -> None:
    """Forget every counted failure (tests; Redis only: the database's
    counts go with its audit rows)."""
    _counters().reset()


# --- administrators -----------------------------------------------------------------


def _visible(actor: Actor, kind: str, value: str) -> bool:
    if actor.is_superuser:
        return True
    return kind == ACCOUNT and domain_of(value) in actor.domain_names


@atomic
def admin_login_blocks(*, actor: Actor) -> list[LoginBlock]:
    """IPs and accounts refused right now. Domain admins see the accounts of
    their domains; IP blocks concern everyone, so only superusers see them."""
    found = []
    for kind, value in set(_counters().candidates()):
        if not _visible(actor, kind, value):
            continue
        failures, last = _counters().state(kind, value)
        until = _block_until(kind, failures, last)
        if until is not None:
            found.append(
                LoginBlock(kind, value, failures, datetime.fromtimestamp(last, UTC), datetime.fromtimestamp(until, UTC))
            )
    return sorted(found, key=lambda b: (b.kind, b.value))


@atomic
def admin_clear_login_block(kind: str, value: str, *, actor: Actor) -> None:
    """Forget the failures of one IP or account: it may log in at once."""
    if kind not in (IP, ACCOUNT):
        raise NotFound(f"no such block kind: {kind}")
    value = account_key(value) if kind == ACCOUNT else client_key(value)
    if not _visible(actor, kind, value):
        if kind == IP:
            raise NotPermitted("only a superuser may clear an IP block")
        raise NotFound(f"no such account: {value}")
    _counters().clear(kind, value)
    audit(actor, CLEARED, f"{kind}:{value}")
