"""SRS in the store (mailboxes/srs.py has the scheme): the envelope sender
of a forward is rewritten where it is queued for another host (delivery's
_enqueue: alias forwards, account forwarding and Sieve redirects all pass
there), and a bounce to a rewritten sender is routed back at RCPT
(accounts.resolve_with_usage) or refused when forged or expired."""

from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings

from .. import srs
from ..models import Domain
from .addresses import domain_of
from .types import RecipientCheck

log = logging.getLogger("mailboxes.store.srs")


def secret() -> bytes:
    """The key of SRS and VERP addresses."""
    if settings.MAIL_SRS_SECRET:
        return settings.MAIL_SRS_SECRET.encode("utf-8")
    return hashlib.sha256(b"mailhost srs\0" + settings.SECRET_KEY.encode("utf-8")).digest()


def _domain() -> str:
    return settings.MAIL_SRS_DOMAIN.lower().rstrip(".")


def forward_sender(mail_from: str, sender_account_id: int | None) -> str:
    """The envelope sender for mail queued to other hosts: mail from outside
    (no sending account) whose sender's domain is not ours, rewritten; our
    own users' mail, ours and the null sender unchanged. Runs in the
    caller's transaction (one indexed read)."""
    if not mail_from or sender_account_id is not None:
        return mail_from
    domain = domain_of(mail_from).lower()
    if domain == _domain() or Domain.objects.filter(name=domain).exists():
        return mail_from
    try:
        return srs.forward(mail_from, secret=secret(), domain=_domain(), now=time.time())
    except srs.SrsError:
        return mail_from


def bounce_route(address: str) -> RecipientCheck | None:
    """For an SRS address at our SRS domain: where a bounce to it goes (the
    original sender, as a forward), or unknown when it is forged or expired.
    None for any other address."""
    if domain_of(address) != _domain() or not srs.is_srs(address):
        return None
    try:
        original = srs.reverse(address, secret=secret(), now=time.time(), max_age_days=settings.MAIL_SRS_MAX_AGE_DAYS)
    except srs.SrsError as exc:
        log.info("SRS address %s refused: %s", address, exc)
        return RecipientCheck(address, "unknown")
    return RecipientCheck(address, "local", forwards=(original,))
