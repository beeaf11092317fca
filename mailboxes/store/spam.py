"""The spam filter's settings and records (docs/SPAM.md).

- spam_policy(): what SMTP passes to rspamd with one message: the domain's
  settings (on/off, thresholds, greylisting, allow and block lists) as
  rspamd's per-message Settings, and which recipients never want the
  sender's mail in Junk;
- record_spam(): one message's outcome counted per day, a refusal kept
  with its symbols, for the dashboard;
- the per-account allow list (webmail) and the per-domain policy
  (dashboard) read and written.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import F
from django.utils import timezone

from ..models import AccountSpamAllow, DomainSpamPolicy, Message, SpamDay, SpamRejection
from ._db import atomic, no_transaction
from .addresses import domain_of, normalize_address, normalize_domain
from .errors import InvalidInput
from .types import RecipientCheck

MAX_LIST = 500
OUTCOME_COLUMNS = {
    "reject": "rejected",
    "defer": "greylisted",
    "junk": "junk",
    "inbox": "delivered",
    "unchecked": "unchecked",
}
KEEP_REJECTIONS = 1000
# rspamd's greylisting module: its check (prefilter) and its save (postfilter).
GREYLIST_SYMBOLS = ["GREYLIST_CHECK", "GREYLIST_SAVE"]
NEVER = None  # an action set to null in rspamd's Settings is never taken


@dataclass(frozen=True)
class SpamSettings:
    """A domain's spam settings as the dashboard edits them."""

    enabled: bool = True
    reject_score: float | None = None
    junk_score: float | None = None
    greylist_score: float | None = None
    greylisting: bool = True
    allow: tuple[str, ...] = ()
    block: tuple[str, ...] = ()


@dataclass(frozen=True)
class SpamPolicy:
    """What one message is scanned with."""

    enabled: bool = True
    settings: dict = field(default_factory=dict)  # rspamd's Settings for this message
    never_junk: frozenset[int] = frozenset()  # accounts whose allow list has the sender


def _matches(sender: str, entries: Sequence[str]) -> bool:
    """sender is listed by address or by its domain (or a parent domain)."""
    if not sender:
        return False
    domain = domain_of(sender)
    return any(e == sender or e == domain or domain.endswith("." + e) for e in entries)


def _settings_of(row: DomainSpamPolicy | None) -> SpamSettings:
    if row is None:
        return SpamSettings()
    return SpamSettings(
        row.enabled,
        row.reject_score,
        row.junk_score,
        row.greylist_score,
        row.greylisting,
        tuple(row.allow),
        tuple(row.block),
    )


@no_transaction
def spam_policy(mail_from: str, recipients: Sequence[RecipientCheck | None], sender_domain: str = "") -> SpamPolicy:
    """The policy for a message from mail_from to these RCPT answers: the
    settings of the first of their domains that has any (submission: of
    sender_domain, the account's own)."""
    sender = mail_from.lower() if mail_from not in ("", "<>") else ""
    checks = [c for c in recipients if c is not None and c.kind == "local"]
    domains = [sender_domain] if sender_domain else sorted({domain_of(c.address) for c in checks})
    rows = {
        r.domain.name: r for r in DomainSpamPolicy.objects.select_related("domain").filter(domain__name__in=domains)
    }
    chosen = _settings_of(next((rows[d] for d in domains if d in rows), None))
    if not chosen.enabled:
        return SpamPolicy(enabled=False)
    accounts = sorted({a for c in checks for a in c.account_ids})
    actions: dict[str, float | None] = {}
    for action, score in (
        ("reject", chosen.reject_score),
        ("add_header", chosen.junk_score),
        ("greylist", chosen.greylist_score),
    ):
        if score is not None:
            actions[action] = score
    settings: dict = {}
    if _matches(sender, chosen.block):
        actions = {"reject": -1000.0}  # whatever it scores
    elif _matches(sender, chosen.allow):
        actions = {a: NEVER for a in ("reject", "add_header", "rewrite_subject", "greylist", "soft_reject")}
    if not chosen.greylisting or (sender and accounts and _past_correspondent(sender, accounts)):
        actions["greylist"] = NEVER
        settings["symbols_disabled"] = GREYLIST_SYMBOLS
    if actions:
        settings["actions"] = actions
    return SpamPolicy(True, settings, _never_junk(sender, accounts))


def _past_correspondent(sender: str, account_ids: list[int]) -> bool:
    """Has one of these accounts written to sender (a copy in its Sent folder)?"""
    return Message.objects.filter(
        folder__owner_id__in=account_ids, folder__special_use="\\Sent", blob__to_text__icontains=sender
    ).exists()


def _never_junk(sender: str, account_ids: list[int]) -> frozenset[int]:
    if not sender or not account_ids:
        return frozenset()
    rows = AccountSpamAllow.objects.filter(account_id__in=account_ids).values_list("account_id", "senders")
    return frozenset(account for account, senders in rows if _matches(sender, senders))


# --- records ------------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    """A message rspamd had refused: what SMTP records, what the dashboard lists."""

    listener: str
    ip: str
    mail_from: str
    recipients: tuple[str, ...]
    score: float
    symbols: tuple[str, ...]
    message: str
    account_id: int | None = None  # submission: the sending account
    account: str = ""  # its address (as read back)
    created: datetime.datetime | None = None


@atomic
def record_spam(outcome: str, rejection: Rejection | None = None) -> None:
    """Count one message's outcome (reject, defer, junk, inbox, unchecked)
    for today; keep a refusal with its symbols (the last KEEP_REJECTIONS)."""
    column = OUTCOME_COLUMNS[outcome]
    today = timezone.localdate()
    if not SpamDay.objects.filter(day=today).update(**{column: F(column) + 1}):
        SpamDay.objects.get_or_create(day=today)
        SpamDay.objects.filter(day=today).update(**{column: F(column) + 1})
    if rejection is not None:
        row = SpamRejection.objects.create(
            listener=rejection.listener,
            ip=rejection.ip,
            mail_from=rejection.mail_from[:320],
            recipients=list(rejection.recipients),
            score=rejection.score,
            symbols=list(rejection.symbols),
            message=rejection.message[:200],
            account_id=rejection.account_id,
        )
        if row.pk % 100 == 0:
            SpamRejection.objects.filter(pk__lte=row.pk - KEEP_REJECTIONS).delete()


def spam_days(days: int = 14) -> list[SpamDay]:
    """The last `days` days, oldest first, with zeros for days without mail."""
    today = timezone.localdate()
    first = today - datetime.timedelta(days=days - 1)
    stored = {row.day: row for row in SpamDay.objects.filter(day__gte=first)}
    return [
        stored.get(first + datetime.timedelta(days=n), SpamDay(day=first + datetime.timedelta(days=n)))
        for n in range(days)
    ]


# --- the lists ------------------------------------------------------------------


def clean_entries(entries: Sequence[str], what: str) -> tuple[str, ...]:
    """Addresses or domains, normalised, each once; InvalidInput on anything else."""
    out: dict[str, None] = {}
    for entry in entries:
        text = entry.strip().lower()
        if not text:
            continue
        try:
            out[normalize_address(text) if "@" in text else normalize_domain(text)] = None
        except InvalidInput:
            raise InvalidInput(f"{what}: {entry.strip()[:100]!r} is not an address or a domain") from None
    if len(out) > MAX_LIST:
        raise InvalidInput(f"{what}: at most {MAX_LIST} entries")
    return tuple(out)


@atomic
def spam_allow_list(account_id: int) -> tuple[str, ...]:
    row = AccountSpamAllow.objects.filter(account_id=account_id).first()
    return tuple(row.senders) if row else ()


@atomic
def save_spam_allow_list(account_id: int, entries: Sequence[str]) -> tuple[str, ...]:
    """Replace the account's "never Junk mail from" list; returns what was stored."""
    clean = clean_entries(entries, "never Junk mail from")
    AccountSpamAllow.objects.update_or_create(account_id=account_id, defaults={"senders": list(clean)})
    return clean
