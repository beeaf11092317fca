"""What Sieve does once a delivery has committed (sieve_delivery.py decided
it): extra fileinto copies, redirects to addresses of ours (delivered here,
each with a Received field of its own), vacation replies (RFC 5230 with RFC
3834's rules, autoreply.py; not for a copy the spam filter filed as Junk,
which would answer the forger), duplicate tracking (RFC 7352), DSNs
for rejections not answered at DATA (RFC 5429 2.1), the redirects counted
against the sending limit, and one notice to the owner of a script that
failed. Each step logs its failure and never undoes the delivery.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from email import policy, utils
from email.parser import BytesHeaderParser

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone

from .. import compose, notices
from ..models import Account, SieveSeen
from . import autoreply, blobs, delivery, folders, messages, sending
from ._db import no_transaction
from .errors import NoSuchFolder
from .sieve_delivery import Decision, Filtered, seen_key

log = logging.getLogger("mailboxes.store")
_FOREVER = timedelta(days=3650)


@no_transaction
def carry_out(
    filtered: Filtered,
    raw: bytes,
    mail_from: str,
    *,
    rejected_at_data: bool = False,
    junk: frozenset[int] = frozenset(),
    relayed: bytes | None = None,
) -> None:
    """After the delivery committed; never raises. junk: the accounts whose
    copy the spam filter filed as Junk; relayed: the message as it goes on
    (without the local copies' Return-Path), when it differs from raw."""
    if not filtered.decisions:
        return
    addresses = dict(Account.objects.filter(pk__in=list(filtered.decisions)).values_list("pk", "address"))
    onward = raw if relayed is None else relayed
    for account, decision in filtered.decisions.items():
        if account in junk and decision.vacation is not None:
            decision = replace(decision, vacation=None)
        for step in (_extra_copies, _redirect_locally, _vacation, _remember, _count_redirects, _tell_owner):
            try:
                step(
                    account,
                    addresses.get(account, ""),
                    decision,
                    onward if step is _redirect_locally else raw,
                    mail_from,
                )
            except Exception:
                log.exception("sieve: account %s: %s failed after delivery", account, step.__name__)
    rejected = filtered.rejections()
    if rejected and not rejected_at_data:
        try:
            _bounce(raw, mail_from, [addresses.get(a, "") for a in rejected], list(rejected.values()))
        except Exception:
            log.exception("sieve: the rejection notice to <%s> failed", mail_from)


def _extra_copies(account: int, address: str, decision: Decision, raw: bytes, mail_from: str) -> None:
    for copy in decision.extra_copies:
        try:
            messages.append(account, copy.folder, raw, copy.flags)
        except NoSuchFolder:  # fileinto :create (RFC 5490 3.2) of a folder that is not there yet
            folders.create_folder(account, copy.folder)
            messages.append(account, copy.folder, raw, copy.flags)


def _redirect_locally(account: int, address: str, decision: Decision, raw: bytes, mail_from: str) -> None:
    """RFC 5228 4.2 redirect to an address of ours: delivered as the MX would,
    the envelope sender kept (and written into Return-Path at its final
    delivery, RFC 5321 4.4), a Received field added (the loop control in
    sieve_delivery counts them), the target's own scripts run. If it cannot
    be delivered and the owner kept no copy, the owner's INBOX gets it."""
    for target in decision.local_redirects:
        received = (
            f"Received: by {settings.MAIL_HOSTNAME} (Sieve redirect) for <{target}>;\r\n"
            f"\t{utils.format_datetime(timezone.now())}\r\n"
        ).encode("utf-8", "surrogateescape")
        try:
            delivery.deliver(received + raw, [target], mail_from, local_headers=delivery.return_path(mail_from))
        except Exception:
            log.exception("sieve: account %s: the redirect to %s failed", account, target)
            if decision.placement is None:
                messages.append(account, "INBOX", raw)


def _vacation(account: int, address: str, decision: Decision, raw: bytes, mail_from: str) -> None:
    action = decision.vacation
    if action is None:
        return
    parsed = blobs.prepare(raw).parsed
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw[: parsed.header_bytes])
    sender = autoreply._reply_target(headers, mail_from)
    if sender is None or sender in (address, *action.addresses):
        return
    addressed = autoreply._addressed(parsed.envelope)
    if not any(autoreply._names_recipient(own, addressed) for own in (address, *action.addresses)):
        return  # RFC 5230 4.5: only to mail that names us
    if not _first_time(account, f"vacation\0{action.handle}\0{sender}", action.seconds):
        return  # RFC 5230 4.2: once per sender and handle per period
    name = (
        ""
        if action.from_address
        else Account.objects.filter(pk=account).values_list("display_name", flat=True).first() or ""
    )
    reply = autoreply.Vacation(
        account,
        action.from_address or address,
        name,
        action.subject or "",
        action.reason,
        max(1, action.seconds // 86400),
    )
    delivery.deliver(autoreply._reply(reply, sender, parsed), [sender], "", sender_account_id=account)


def _remember(account: int, address: str, decision: Decision, raw: bytes, mail_from: str) -> None:
    for mark in decision.duplicates:
        _first_time(account, mark.key, mark.seconds)


def _count_redirects(account: int, address: str, decision: Decision, raw: bytes, mail_from: str) -> None:
    count = len(decision.redirects) + len(decision.local_redirects)
    if count:
        sending.record_redirects(account, count)


def _tell_owner(account: int, address: str, decision: Decision, raw: bytes, mail_from: str) -> None:
    """RFC 5228 2.10.6: the message was kept; its owner learns why, once per script."""
    if decision.failed_script is None or not address:
        return
    if not _first_time(account, f"error\0{decision.failed_script}", int(_FOREVER.total_seconds())):
        return
    notice = compose.build(
        compose.Outgoing(
            from_address=f"postmaster@{settings.MAIL_HOSTNAME}",
            from_name="Mail System",
            to=(("", address),),
            subject="Your mail filter failed",
            text=(
                "One of your Sieve filters could not be carried out for a message delivered to you.\n"
                "The message was kept in your INBOX. Check the filter (the webmail's Filters page): it may do\n"
                "too many things at once, redirect too often, or reject beside other actions.\n"
                "You are told once for each version of the filter.\n"
            ),
            extra_headers=(("Auto-Submitted", "auto-generated"),),
        )
    )
    messages.append(account, "INBOX", notice)  # straight in: the failing filter must not handle its own notice


def _bounce(raw: bytes, mail_from: str, recipients: list[str], reasons: list[str]) -> None:
    """RFC 5429 2.1: a rejection after the SMTP dialogue is a DSN to the sender."""
    if not mail_from:
        return
    now = timezone.now()
    parsed = blobs.prepare(raw).parsed
    failures = [
        notices.Failure(address, "5.7.1", f"smtp; 550 5.7.1 {_one_line(reason)}")
        for address, reason in zip(recipients, reasons)
    ]
    dsn = notices.build_dsn(
        hostname=settings.MAIL_HOSTNAME,
        mail_from=mail_from,
        original_headers=raw[: parsed.header_bytes],
        failures=failures,
        arrival=now,
        now=now,
    )
    delivery.deliver(dsn, [mail_from], "")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200] or "rejected by the recipient's filter"


def _first_time(account: int, key: str, seconds: int) -> bool:
    """Record `key` for `seconds`; False if it was recorded and has not expired."""
    now = timezone.now()
    hashed = seen_key(key)
    expires = now + timedelta(seconds=max(1, seconds))
    if SieveSeen.objects.filter(account_id=account, key=hashed, expires__gt=now).exists():
        return False
    updated = SieveSeen.objects.filter(account_id=account, key=hashed, expires__lte=now).update(expires=expires)
    if updated:
        return True
    try:
        SieveSeen.objects.create(account_id=account, key=hashed, expires=expires)
    except IntegrityError:  # a concurrent delivery recorded it first
        return False
    return True


__all__ = ["carry_out"]
