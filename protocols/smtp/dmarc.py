"""The MX's two DMARC reporting duties (RFC 7489 7.2; docs/DELIVERABILITY.md):
count the verdict of every message DMARC judged, for the daily aggregate
reports we send, and keep the aggregate reports other receivers mail to our
domains' report address (MAIL_DMARC_REPORT_LOCALPART) for the dashboard.
Neither may fail the SMTP transaction: errors are logged."""
from __future__ import annotations

import logging

from django.conf import settings

from mailboxes import store

from .. import dbcall
from ..relay.authcheck import Verdict

log = logging.getLogger("protocols.smtp.dmarc")


def disposition(verdict: Verdict) -> str:
    """What we did under the domain's policy (RFC 7489 7.2.1.1 policy_evaluated):
    refused, or delivered (a failure under p=quarantine is only marked in
    Authentication-Results; the spam filter decides Junk on its own)."""
    return "reject" if verdict.reject else "none"


async def record_verdict(verdict: Verdict, *, peer_ip: str, mail_from: str, label: str) -> None:
    if verdict.dmarc not in ("pass", "fail") or not verdict.author:
        return  # no policy record (or no single author): nobody to report to
    mail_domain = mail_from.rpartition("@")[2]
    try:
        await dbcall.call(store.record_dmarc_verdict, verdict.author, peer_ip, mail_domain, verdict.spf,
                          verdict.dkim, verdict.aligned_spf, verdict.aligned_dkim, disposition(verdict))
    except Exception:
        log.exception("%s: counting a DMARC verdict failed", label)


def is_report_address(address: str) -> bool:
    local = address.rpartition("@")[0].lower()
    return bool(settings.MAIL_DMARC_REPORT_LOCALPART) and local == settings.MAIL_DMARC_REPORT_LOCALPART.lower()


async def take_reports(message: bytes, recipients: list[str], *, label: str) -> None:
    """After delivery: a message to a report address is parsed into the store."""
    if not any(is_report_address(r) for r in recipients):
        return
    try:
        kept = await dbcall.call(store.take_dmarc_report, message)
    except Exception:
        log.exception("%s: keeping a DMARC report failed", label)
        return
    log.info("%s: %d DMARC aggregate report(s) kept", label, kept)
