"""Inbound mail from SMTP: recipient checks and final delivery.

SMTP (protocols/smtp) asks the store two things: what a RCPT address means,
routing and quota together (one statement for an account's own address),
and to deliver a message whose local copies carry a Return-Path field while
the copies queued for relay do not (RFC 5321 4.4: Return-Path is added at
final delivery only, and a message sent on SHOULD NOT contain one). The
RCPT answers are handed back at DATA, so routing is not done twice.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

from ..models import Account
from . import accounts, delivery, messages, sieve_after, sieve_delivery
from ._db import atomic, no_transaction
from .errors import RejectedByFilter
from .placement import Placer, Target, targets
from .types import DeliveryReport, EnvelopeParameters, RecipientCheck


@dataclass(frozen=True)
class RecipientVerdict:
    """What RCPT TO needs: the routing (see RecipientCheck) and, for local
    recipients, quota_check()'s verdict for the declared size: 'ok', 'full'
    or 'never'."""

    check: RecipientCheck
    quota: str = "ok"


@no_transaction
def check_recipient(address: str, size: int) -> RecipientVerdict:
    check, usage = accounts.resolve_with_usage(address)
    if check.kind == "unknown" and is_postmaster(address):
        check, usage = _postmaster(check.address)
    if check.kind != "local" or not check.account_ids:
        return RecipientVerdict(check)
    if usage is not None:
        return RecipientVerdict(check, accounts.quota_verdict([usage], size))
    return RecipientVerdict(check, accounts.quota_check(check.account_ids, size))


def is_postmaster(address: str) -> bool:
    """`postmaster` (RFC 5321 4.5.1: with no domain, any case) or
    `postmaster@<a domain of ours>` (RFC 2142)."""
    return address.strip().partition("@")[0].lower() == "postmaster"


def _postmaster(address: str) -> tuple[RecipientCheck, tuple[int, int] | None]:
    """Where postmaster mail goes when no account or alias of that name exists:
    MAIL_POSTMASTER, else the first active superuser. RFC 5321 4.5.1: an SMTP
    server that delivers MUST accept it."""
    target = settings.MAIL_POSTMASTER
    if target:
        check, usage = accounts.resolve_with_usage(target)
        if check.kind == "local":
            return RecipientCheck(address, "local", check.account_ids, check.forwards, check.plain), usage
    admin = Account.objects.filter(is_superuser=True, is_active=True).order_by("pk").values_list("pk", flat=True)
    first = admin.first()
    if first is None:
        return RecipientCheck(address, "unknown"), None
    return RecipientCheck(address, "local", (first,)), None


def deliver_final(raw: bytes, recipients: list[str], mail_from: str = "", *, local_headers: bytes = b"",
                  sender_account_id: int | None = None,
                  checks: Sequence[RecipientCheck | None] = (), place: Placer | None = None,
                  parameters: EnvelopeParameters | None = None) -> DeliveryReport:
    """store.deliver(), except that local copies are stored as local_headers + raw
    (the Return-Path field) and remote recipients are queued with raw alone.
    checks: check_recipient()'s answers for the recipients, by position (None
    where there is none); they are not looked up again. place: where each
    local account's copy goes (store.deliver's, placement.py), unless the
    account's Sieve scripts decide (sieve_delivery.py). RejectedByFilter
    when every local recipient's script rejected it and nobody else gets it.

    One transaction for both: when this returns every copy is committed, if it
    raises nothing is (OverQuota, TooBigForQuota, Unavailable as deliver()).
    parameters: the sender's DSN and REQUIRETLS, kept with the queued recipients."""
    account_ids, remote, settings_read = delivery.route(recipients, checks)
    filtered = sieve_delivery.run_filters(local_headers + raw, account_ids, recipients, mail_from, checks)
    rejected = filtered.rejections()
    if rejected and not remote and set(rejected) == set(account_ids):
        raise RejectedByFilter(next(iter(rejected.values())))  # RFC 5429 2.1: refused at DATA
    account_ids, remote = filtered.kept(account_ids), remote + filtered.redirects()
    copies = targets(account_ids, filtered.placer(place))
    local = messages.prepare(local_headers + raw) if account_ids else None
    if local is not None and not remote:  # the common case: one statement, no transaction round trips
        report = DeliveryReport(local.sha256, delivery.with_retry(
            delivery.deliver_local, local, copies, not settings_read, mail_from), ())
    else:
        relay = messages.prepare(raw) if remote else None
        report = delivery.with_retry(_deliver_final, local, relay, copies, remote, mail_from, sender_account_id,
                                     not settings_read, parameters)
    sieve_after.carry_out(filtered, local_headers + raw, mail_from)
    return report


@atomic
def _deliver_final(local: messages.PreparedBlob | None, relay: messages.PreparedBlob | None,
                   copies: list[Target], remote: list[str], mail_from: str,
                   sender_account_id: int | None, vacations: bool,
                   parameters: EnvelopeParameters | None) -> DeliveryReport:
    delivered: dict[int, int] = {}
    if local is not None:
        delivered = delivery.store_copies(local, copies, [], mail_from, sender_account_id, vacations).delivered
    if relay is not None:
        delivery.store_copies(relay, [], remote, mail_from, sender_account_id, parameters=parameters)
    blob = local or relay
    return DeliveryReport(blob.sha256 if blob else "", delivered, tuple(remote))
