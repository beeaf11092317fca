"""What the MX reads for deliverability (docs/DELIVERABILITY.md): it counts
the verdict of every message DMARC judged, for the daily aggregate reports
we send (RFC 7489 7.2); it keeps the aggregate reports other receivers mail
to our domains' report address (MAIL_DMARC_REPORT_LOCALPART) for the
dashboard; and it reads the DSNs that come back to a VERP return path of
our outbound mail onto the queue entry. None of it may fail the SMTP
transaction: errors are logged."""

from __future__ import annotations

import logging

from django.conf import settings

from mailboxes import store

from .. import dbcall
from ..relay.authcheck import Verdict

log = logging.getLogger("protocols.smtp.reports")


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
        # a failure forgiven for a trusted ARC sealer's sake is reported as such (RFC 8617 7.2.1)
        reason = "trusted_forwarder" if verdict.dmarc == "fail" and verdict.arc_trusted else ""
        await dbcall.call(
            store.record_dmarc_verdict,
            verdict.author,
            peer_ip,
            mail_domain,
            verdict.spf,
            verdict.dkim,
            verdict.aligned_spf,
            verdict.aligned_dkim,
            disposition(verdict),
            reason=reason,
        )
    except Exception:
        log.exception("%s: counting a DMARC verdict failed", label)


def is_report_address(address: str) -> bool:
    local = address.rpartition("@")[0].lower()
    return bool(settings.MAIL_DMARC_REPORT_LOCALPART) and local == settings.MAIL_DMARC_REPORT_LOCALPART.lower()


async def take_reports(message: bytes, recipients: list[str], *, label: str) -> None:
    """After delivery: a message to a report address is parsed into the
    store, and a bounce to a VERP return path onto its queue entry."""
    try:
        if any(is_report_address(r) for r in recipients):
            kept = await dbcall.call(store.take_dmarc_report, message)
            log.info("%s: %d DMARC aggregate report(s) kept", label, kept)
        bounced = store.bounced_message(recipients)
        if bounced is not None:
            kept = await dbcall.call(store.take_bounce, bounced, message)
            log.info("%s: a bounce about outbound message %s: %d recipient report(s)", label, bounced, kept)
    except Exception:
        log.exception("%s: reading a report or bounce failed", label)
