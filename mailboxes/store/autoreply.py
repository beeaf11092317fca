"""RFC 3834's rules for automatic replies, which the Sieve vacation action
follows (sieve_after.py; RFC 5230 4.5-4.6). The webmail's vacation setting
is a Sieve vacation in the account's script (preferences.py, sieve/managed.py).

A reply is never sent to a null or automatic sender (3834 2, RFC 5230 4.6),
to mail marked Auto-Submitted (3834 5), to lists or bulk mail (Precedence,
List-* fields, RFC 2369/2919), or to mail that does not name the recipient
in To/Cc/Bcc (3834 2). It goes to the envelope sender (3834 3.1.1) with a
null MAIL FROM (3834 3.3) and says Auto-Submitted: auto-replied (3834 3.1.7).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import Message as EmailHeaders

from django.db import connection

from .. import compose, mime
from ..models import Alias
from ._db import atomic
from .addresses import normalize_address
from .errors import InvalidInput

log = logging.getLogger("mailboxes.store")

# RFC 5230 4.6 (Sieve vacation): senders that are programs, not people.
_ROBOT_LOCALS = (
    "mailer-daemon",
    "postmaster",
    "listserv",
    "majordomo",
    "noreply",
    "no-reply",
    "do-not-reply",
    "donotreply",
)
_LIST_FIELDS = ("list-id", "list-help", "list-unsubscribe", "list-subscribe", "list-post", "list-owner", "list-archive")


@dataclass(frozen=True)
class Vacation:
    account_id: int
    address: str
    display_name: str
    subject: str
    body: str
    days: int


def _reply_target(headers: EmailHeaders, mail_from: str) -> str | None:
    """The envelope sender, if an automatic reply may go to it at all."""
    try:
        sender = normalize_address(mail_from) if mail_from.strip() not in ("", "<>") else ""
    except InvalidInput:
        return None
    local = sender.partition("@")[0]
    if not sender or local in _ROBOT_LOCALS or local.startswith("owner-") or local.endswith("-request"):
        return None
    auto = (headers.get("auto-submitted") or "no").split(";")[0].strip().lower()
    if auto != "no":
        return None
    if (headers.get("precedence") or "").strip().lower() in ("bulk", "list", "junk"):
        return None
    if any(headers.get(name) is not None for name in _LIST_FIELDS):
        return None
    return sender


def _addressed(envelope: dict) -> set[str]:
    return {address.lower() for _name, address in compose.envelope_addresses(envelope, "to", "cc", "bcc")}


@atomic
def _names_recipient(address: str, addressed: set[str]) -> bool:
    """Is the account, or an alias of it, among the message's visible recipients?"""
    if address in addressed:
        return True
    others = addressed - {address}
    if not others:
        return False
    if connection.vendor == "postgresql":
        sources = Alias.objects.filter(source__in=others, targets__contains=[address])
    else:
        sources = Alias.objects.filter(source__in=others, targets__icontains=f'"{address}"')
    return sources.exists()


def _reply(vacation: Vacation, sender: str, parsed: mime.ParsedMessage) -> bytes:
    subject = vacation.subject or "Auto: " + (parsed.subject or "your message")
    return compose.build(
        compose.Outgoing(
            from_address=vacation.address,
            from_name=vacation.display_name,
            to=(("", sender),),
            subject=subject,
            text=vacation.body,
            in_reply_to=parsed.message_id,
            references=compose.references_for(parsed.message_id, parsed.references),
            extra_headers=(("Auto-Submitted", "auto-replied"),),
        )
    )
