"""Inbound mail from SMTP: recipient checks and final delivery.

SMTP (protocols/smtp) asks the store two things: what a RCPT address means,
routing and quota together (one statement for an account's own address),
and to deliver a message whose local copies carry a Return-Path field while
the copies queued for relay do not (RFC 5321 4.4: Return-Path is added at
final delivery only, and a message sent on SHOULD NOT contain one). The
RCPT answers are handed back at DATA, so routing is not done twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

from .. import mime
from ..models import Account
from . import accounts, contacts, delivery
from ._db import no_transaction
from .placement import Placer
from .types import DeliveryReport, EnvelopeParameters, QuotaVerdict, RecipientCheck

log = logging.getLogger("mailboxes.store")


@dataclass(frozen=True)
class RecipientVerdict:
    """What RCPT TO needs: the routing (see RecipientCheck) and, for local
    recipients, quota_check()'s verdict for the declared size: 'ok', 'full'
    or 'never'."""

    check: RecipientCheck
    quota: QuotaVerdict = "ok"


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
            return RecipientCheck(address, "local", check.account_ids, check.forwards, filtered=check.filtered), usage
    admin = Account.objects.filter(is_superuser=True, is_active=True).order_by("pk").values_list("pk", flat=True)
    first = admin.first()
    if first is None:
        return RecipientCheck(address, "unknown"), None
    return RecipientCheck(address, "local", (first,)), None


def deliver_final(
    raw: bytes,
    recipients: list[str],
    mail_from: str = "",
    *,
    local_headers: bytes = b"",
    sender_account_id: int | None = None,
    checks: Sequence[RecipientCheck | None] = (),
    place: Placer | None = None,
    parameters: EnvelopeParameters | None = None,
) -> DeliveryReport:
    """SMTP's delivery after DATA: store.deliver() with the local copies
    stored as local_headers + raw (the Return-Path field), remote recipients
    queued with raw alone, the RCPT checks not made again, and
    RejectedByFilter when every local recipient's Sieve script rejected the
    message and nobody else gets it (refused at DATA, RFC 5429 2.1).
    parameters: the sender's DSN and REQUIRETLS, kept with the queued recipients.

    A submission (sender_account_id, an authenticated client) then adds its
    recipients to the sender's address book, as the webmail's sending does."""
    report = delivery.deliver(
        raw,
        recipients,
        mail_from,
        local_headers=local_headers,
        sender_account_id=sender_account_id,
        checks=checks,
        place=place,
        refuse_rejected=True,
        parameters=parameters,
    )
    if sender_account_id is not None:
        _remember(sender_account_id, raw, recipients)
    return report


def _remember(account_id: int, raw: bytes, recipients: list[str]) -> None:
    """The envelope recipients become automatic contacts, named as the To and
    Cc fields name them. The message is stored and will be answered 250 by
    now: nothing here may fail the submission, so a failure is logged only."""
    try:
        names = {address.lower(): name for name, address in reversed(mime.header_addresses(raw, "to", "cc")) if name}
        contacts.remember_recipients(account_id, [(names.get(r.lower(), ""), r) for r in recipients])
    except Exception:  # a full address book is no failure (remember_recipients skips); anything else is logged
        log.exception("adding the recipients of account %s to its contacts failed", account_id)
