"""Bounces for our outbound mail (docs/DELIVERABILITY.md, "Bounces"): the
relay sends our users' mail with a VERP return path naming the queue entry
(return_path, used by outbound.claim_outbound); a DSN that comes back to one
is read for its per-recipient reports (take_bounce, called by the MX after
delivering it as usual) and kept on the queue row; the dashboard shows the
last on each row and lists addresses that failed hard again and again."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.db.models import Count, Max
from django.utils import timezone

from .. import dsn_parse, verp
from ..models import Bounce, OutboundRecipient
from ._db import atomic
from .admin import scoped
from .admin_types import Actor
from .srs import secret

log = logging.getLogger("mailboxes.store.bounces")
REPEATED_DAYS = 30


def return_path(mail_from: str, message_id: int, sender_account_id: int | None) -> str:
    """The envelope sender the relay uses: a VERP address for our users'
    mail, anything else (forwards, the null sender) as it is."""
    if not mail_from or sender_account_id is None:
        return mail_from
    return verp.return_path(mail_from, message_id, secret=secret())


def bounced_message(recipients: list[str]) -> int | None:
    """The queue entry the first VERP recipient of ours names, if any. Pure but for the key."""
    marker = f"+{verp.TAG}-"
    if not any(marker in address.lower() for address in recipients):
        return None  # the common case, without deriving the key
    key = secret()
    for address in recipients:
        found = verp.message_of(address, secret=key)
        if found is not None:
            return found
    return None


@atomic
def take_bounce(message_id: int, data: bytes) -> int:
    """Keep the recipient reports of a DSN about queue entry message_id that
    name one of its recipients; returns how many."""
    reports = [r for r in dsn_parse.reports(data) if r.action in ("failed", "delayed")]
    if not reports:
        return 0
    rows = {r.address.lower(): r.pk for r in OutboundRecipient.objects.filter(message_id=message_id)}
    kept = [
        Bounce(
            recipient_id=rows[r.address],
            message_id=message_id,
            address=r.address,
            action=r.action,
            status=r.status,
            diagnostic=r.diagnostic,
        )
        for r in reports
        if r.address in rows
    ]
    Bounce.objects.bulk_create(kept)
    if len(kept) < len(reports):
        log.info(
            "bounce for outbound message %s: %d report(s) name none of its recipients",
            message_id,
            len(reports) - len(kept),
        )
    return len(kept)


@dataclass(frozen=True)
class RepeatedBounce:
    address: str
    count: int
    last: datetime.datetime
    status: str


@atomic
def admin_repeated_bounces(actor: Actor, *, at_least: int = 2, days: int = REPEATED_DAYS) -> list[RepeatedBounce]:
    """Addresses that failed hard (action failed, status 5.x.x) at least
    at_least times in the last days, most first: candidates to stop mailing."""
    since = timezone.now() - datetime.timedelta(days=days)
    hard = Bounce.objects.filter(received__gte=since, action="failed", status__startswith="5")
    if not actor.is_superuser:
        hard = scoped(actor, hard, "recipient__message__sender__domain_id")
    rows = (
        hard.values("address")
        .annotate(n=Count("id"), last=Max("received"))
        .filter(n__gte=at_least)
        .order_by("-n", "address")[:200]
    )
    result = []
    for row in rows:
        status = hard.filter(address=row["address"]).order_by("-received").values_list("status", flat=True).first()
        result.append(RepeatedBounce(row["address"], row["n"], row["last"], status or ""))
    return result
