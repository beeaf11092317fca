"""What happens at delivery on behalf of the recipient: forwarding and the
vacation auto-reply, both set in the webmail (AccountSettings).

Forwarding is resolved with the routing (delivery.route), before the copies
are stored: each recipient that forwards adds its target (a local account or a remote address on the
outbound queue) and keeps its own copy or not. One level only: a target's
own forwarding is not applied again, so two accounts forwarding to each
other cannot loop here (a loop through another host ends at SMTP's limit
of Received: fields). A remote target counts only while the account's
domain allows external forwards (checked again here, not only at save);
otherwise the copy stays in the INBOX.

The vacation reply (RFC 3834) is sent when the delivery has committed
(delivery.store_copies schedules it), in its own transactions; a failure is logged and never fails the delivery. It is
never sent to a null or automatic sender (3834 2, RFC 5230 4.6), to mail
marked Auto-Submitted (3834 5), to lists or bulk mail (Precedence,
List-* fields, RFC 2369/2919), to mail that does not name the recipient in
To/Cc/Bcc (3834 2), and at most once per sender per N days (3834 2). It goes
to the envelope sender (3834 3.1.1) with a null MAIL FROM (3834 3.3) and
says Auto-Submitted: auto-replied (3834 3.1.7).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.message import Message as EmailHeaders
from email.parser import BytesHeaderParser

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .. import compose, mime
from ..models import AccountSettings, Alias, VacationReply
from . import accounts, delivery
from ._db import atomic, no_transaction
from .addresses import normalize_address
from .errors import InvalidInput

log = logging.getLogger("mailboxes.store")

# RFC 5230 4.6 (Sieve vacation): senders that are programs, not people.
_ROBOT_LOCALS = ("mailer-daemon", "postmaster", "listserv", "majordomo", "noreply", "no-reply",
                 "do-not-reply", "donotreply")
_LIST_FIELDS = ("list-id", "list-help", "list-unsubscribe", "list-subscribe", "list-post",
                "list-owner", "list-archive")


@dataclass(frozen=True)
class Vacation:
    account_id: int
    address: str
    display_name: str
    subject: str
    body: str
    days: int


@no_transaction
def apply_forwarding(account_ids: list[int]) -> tuple[list[int], list[str]]:
    """(accounts that keep a copy, remote addresses added) after the
    recipients' forwarding; one query when nobody forwards."""
    if not account_ids:
        return account_ids, []
    rows = list(AccountSettings.objects.filter(account_id__in=account_ids).exclude(forward_to="")
                .values_list("account_id", "forward_to", "forward_keep_copy",
                             "account__domain__allow_external_forwards"))
    if not rows:
        return account_ids, []
    keep = dict.fromkeys(account_ids)
    forwards: dict[str, None] = {}
    for account_id, forward_to, keep_copy, external_allowed in rows:
        target = accounts.resolve_recipient(forward_to)
        if target.kind == "remote" and not external_allowed:
            # Saved before the domain said no (or written around the store): keep the mail here.
            log.warning("account %s forwards to %s, but its domain allows no external forwards; keeping the copy",
                        account_id, forward_to)
            continue
        if target.kind == "remote":
            forwards[target.address] = None
        elif target.kind == "local":
            keep.update(dict.fromkeys(target.account_ids))
            forwards.update(dict.fromkeys(target.forwards))
        else:  # the target went away: keep the mail rather than lose it
            log.warning("account %s forwards to %s (%s); keeping the copy", account_id, forward_to, target.kind)
            continue
        if not keep_copy:
            keep.pop(account_id, None)
    return sorted(keep), list(forwards)


def schedule_vacation_replies(parsed: mime.ParsedMessage, raw: bytes, account_ids: list[int],
                              mail_from: str) -> None:
    """Inside a delivery's transaction: answer for its recipients once it commits.
    Who is on vacation is read here, in the delivery's transaction, so the
    common case (nobody) costs one statement and no transaction of its own."""
    if not account_ids:
        return
    vacations = _vacations(account_ids)
    if vacations:
        transaction.on_commit(lambda: send_vacation_replies(parsed, raw, account_ids, mail_from, vacations))


def send_vacation_replies(parsed: mime.ParsedMessage, raw: bytes, account_ids: list[int], mail_from: str,
                          vacations: list[Vacation] | None = None) -> int:
    """Answer a delivered message for every recipient on vacation (those given,
    else looked up); returns how many replies went out. Never raises: the
    delivery has already happened."""
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw[:parsed.header_bytes])
        sender = _reply_target(headers, mail_from)
        if sender is None:
            return 0
        if vacations is None:
            vacations = _vacations(account_ids)
    except Exception:
        log.exception("vacation: could not look at the delivered message")
        return 0
    addressed = _addressed(parsed.envelope)
    sent = 0
    for vacation in vacations:
        try:
            if sender != vacation.address and _names_recipient(vacation.address, addressed) \
                    and _first_in_interval(vacation, sender):
                reply = _reply(vacation, sender, parsed)
                delivery.deliver(reply, [sender], "", sender_account_id=vacation.account_id)
                sent += 1
        except Exception:
            log.exception("vacation reply for account %s failed", vacation.account_id)
    return sent


@no_transaction
def _vacations(account_ids: list[int]) -> list[Vacation]:
    rows = AccountSettings.objects.filter(account_id__in=account_ids, vacation_enabled=True) \
        .values_list("account_id", "account__address", "account__display_name", "vacation_subject",
                     "vacation_body", "vacation_days")
    return [Vacation(*row) for row in rows]


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


@atomic
def _first_in_interval(vacation: Vacation, sender: str) -> bool:
    """Record a reply to sender unless one went out within the last N days."""
    now = timezone.now()
    row = VacationReply.objects.select_for_update().filter(account_id=vacation.account_id, sender=sender).first()
    if row is None:
        try:
            VacationReply.objects.create(account_id=vacation.account_id, sender=sender, sent_at=now)
        except IntegrityError:  # a concurrent delivery from the same sender won the race
            return False
        return True
    if row.sent_at > now - timedelta(days=vacation.days):
        return False
    VacationReply.objects.filter(pk=row.pk).update(sent_at=now)
    return True


def _reply(vacation: Vacation, sender: str, parsed: mime.ParsedMessage) -> bytes:
    subject = vacation.subject or "Auto: " + (parsed.subject or "your message")
    return compose.build(compose.Outgoing(
        from_address=vacation.address, from_name=vacation.display_name, to=(("", sender),),
        subject=subject, text=vacation.body, in_reply_to=parsed.message_id,
        references=compose.references_for(parsed.message_id, parsed.references),
        extra_headers=(("Auto-Submitted", "auto-replied"),)))
