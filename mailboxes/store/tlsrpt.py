"""Outbound TLS outcomes for SMTP TLS reporting (RFC 8460): the relay counts
each negotiation here, by day and policy domain; the daily report task
(protocols/relay/tlsrpt.py) reads a day back and forgets old days."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F

from ..models import TlsOutcome
from ._db import atomic, no_transaction

TLS_OUTCOME_KEEP_DAYS = 7


@dataclass(frozen=True)
class TlsOutcomeRow:
    policy_domain: str
    policy_type: str
    policy_string: tuple[str, ...]
    mx_host: str
    receiving_ip: str
    result_type: str  # "" for a successful session
    count: int


@atomic
def record_tls_outcome(
    policy_domain: str,
    policy_type: str,
    policy_string: list[str],
    mx_host: str,
    receiving_ip: str,
    result_type: str = "",
    *,
    day: datetime.date | None = None,
) -> None:
    """Count one session (result_type "" when it succeeded)."""
    key = {
        "day": day or datetime.datetime.now(datetime.UTC).date(),
        "policy_domain": policy_domain.lower(),
        "policy_type": policy_type,
        "mx_host": mx_host.lower(),
        "receiving_ip": receiving_ip,
        "result_type": result_type,
    }
    if TlsOutcome.objects.filter(**key).update(count=F("count") + 1, policy_string=policy_string):
        return
    try:
        with transaction.atomic():  # a savepoint: another relay may insert the same key first
            TlsOutcome.objects.create(**key, policy_string=policy_string, count=1)
    except IntegrityError:
        TlsOutcome.objects.filter(**key).update(count=F("count") + 1)


@no_transaction
def tls_outcomes(day: datetime.date) -> list[TlsOutcomeRow]:
    rows = TlsOutcome.objects.filter(day=day).order_by("policy_domain", "policy_type", "mx_host", "result_type")
    return [
        TlsOutcomeRow(
            r.policy_domain, r.policy_type, tuple(r.policy_string), r.mx_host, r.receiving_ip, r.result_type, r.count
        )
        for r in rows
    ]


@no_transaction
def forget_tls_outcomes(before: datetime.date) -> int:
    return TlsOutcome.objects.filter(day__lt=before).delete()[0]
