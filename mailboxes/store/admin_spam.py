"""The dashboard's spam pages (docs/SPAM.md, "Dashboard"): a domain's spam
settings (its administrators may change them), and for superusers the
report: what the filter did per day, the last refusals with their symbols,
the accounts whose outgoing mail rspamd refused, and whether rspamd was
unreachable today."""

from __future__ import annotations

import datetime
import math
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db.models import Count, Max
from django.utils import timezone

from ..models import Account, DomainSpamPolicy, SpamDay, SpamRejection
from ._db import atomic
from .admin import audit, domain_for, require_superuser
from .admin_types import Actor
from .errors import InvalidInput
from .spam import Rejection, SpamSettings, _settings_of, clean_entries, spam_days

SCORE_LIMIT = 1000.0
FLAGGED_DAYS = 7


@dataclass(frozen=True)
class FlaggedAccount:
    id: int
    address: str
    rejected: int
    last: datetime.datetime


@dataclass(frozen=True)
class SpamReport:
    scanning: bool  # MAIL_RSPAMD_URL is set
    days: list[SpamDay]
    rejections: list[Rejection]
    flagged: list[FlaggedAccount]
    unchecked_today: int


@atomic
def admin_spam_settings(actor: Actor, domain_name: str) -> SpamSettings:
    domain = domain_for(actor, domain_name)
    return _settings_of(DomainSpamPolicy.objects.filter(domain=domain).first())


def _score(value: float | None, what: str) -> float | None:
    if value is not None and (not math.isfinite(value) or abs(value) > SCORE_LIMIT):
        raise InvalidInput(f"the {what} threshold must be between -{SCORE_LIMIT:g} and {SCORE_LIMIT:g}")
    return value


@atomic
def admin_set_spam_settings(actor: Actor, domain_name: str, wanted: SpamSettings) -> SpamSettings:
    """Store a domain's spam settings (validated, lists normalised)."""
    domain = domain_for(actor, domain_name, lock=True)
    clean = SpamSettings(
        wanted.enabled,
        _score(wanted.reject_score, "reject"),
        _score(wanted.junk_score, "Junk"),
        _score(wanted.greylist_score, "greylisting"),
        wanted.greylisting,
        clean_entries(wanted.allow, "allow list"),
        clean_entries(wanted.block, "block list"),
    )
    scores = [s for s in (clean.greylist_score, clean.junk_score, clean.reject_score) if s is not None]
    if scores != sorted(scores):
        raise InvalidInput("thresholds must rise: greylisting, then Junk, then reject")
    if set(clean.allow) & set(clean.block):
        raise InvalidInput("an entry cannot be on both the allow list and the block list")
    fields = asdict(clean)
    fields["allow"], fields["block"] = list(clean.allow), list(clean.block)
    DomainSpamPolicy.objects.update_or_create(domain=domain, defaults=fields)
    audit(actor, "domain.spam", domain.name, **fields)
    return clean


@atomic
def admin_spam_report(actor: Actor, days: int = 14, rejections: int = 20) -> SpamReport:
    require_superuser(actor, "see the spam report")
    rows = SpamRejection.objects.select_related("account").order_by("-created", "-pk")[:rejections]
    since = timezone.now() - datetime.timedelta(days=FLAGGED_DAYS)
    flagged = (
        SpamRejection.objects.filter(account__isnull=False, created__gte=since)
        .values("account_id")
        .annotate(n=Count("id"), last=Max("created"))
        .order_by("-n")
    )
    addresses = dict(Account.objects.filter(pk__in=[f["account_id"] for f in flagged]).values_list("pk", "address"))
    today = SpamDay.objects.filter(day=timezone.localdate()).values_list("unchecked", flat=True).first()
    return SpamReport(
        bool(settings.MAIL_RSPAMD_URL),
        spam_days(days),
        [
            Rejection(
                r.listener,
                r.ip,
                r.mail_from,
                tuple(r.recipients),
                r.score,
                tuple(r.symbols),
                r.message,
                r.account_id,
                r.account.address if r.account else "",
                r.created,
            )
            for r in rows
        ],
        [FlaggedAccount(f["account_id"], addresses.get(f["account_id"], "?"), f["n"], f["last"]) for f in flagged],
        today or 0,
    )
