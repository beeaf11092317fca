"""What the MX reads for deliverability (docs/DELIVERABILITY.md, docs/TLS.md):
it counts the verdict of every message DMARC judged, for the daily aggregate
reports we send (RFC 7489 7.2); and, after a message from another host has
been delivered, it takes in the reports addressed to us, in one step that
looks at the envelope first (take): DMARC aggregate reports mailed to our
domains' report address (MAIL_DMARC_REPORT_LOCALPART), TLS reports (RFC 8460
5.3) mailed to postmaster, where our _smtp._tls record points, and the DSNs
that come back to a VERP return path of our outbound mail. A message to
none of these addresses is not read at all. None of it may fail the SMTP
transaction, whose answer is decided already: errors are logged, and the
copy in the recipient's mailbox stays whatever the intake makes of it."""

from __future__ import annotations

import logging

from django.conf import settings

from mailboxes import store, tlsrpt_report

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


def is_dmarc_report_address(address: str) -> bool:
    local = address.rpartition("@")[0].lower()
    return bool(settings.MAIL_DMARC_REPORT_LOCALPART) and local == settings.MAIL_DMARC_REPORT_LOCALPART.lower()


async def take(message: bytes, recipients: list[str], *, label: str) -> None:
    """After the delivery of a message from an unauthenticated session: the
    reports among its recipients' mail, each kind read only when one of the
    envelope recipients is its address."""
    try:
        if any(is_dmarc_report_address(r) for r in recipients):
            kept = await dbcall.call(store.take_dmarc_report, message)
            log.info("%s: %d DMARC aggregate report(s) kept", label, kept)
        if any(store.is_postmaster(r) for r in recipients) and tlsrpt_report.is_report_message(message):
            log.info("%s: TLS report %s", label, await _take_tls_report(message))
        bounced = store.bounced_message(recipients)
        if bounced is not None:
            kept = await dbcall.call(store.take_bounce, bounced, message)
            log.info("%s: a bounce about outbound message %s: %d recipient report(s)", label, bounced, kept)
    except Exception:
        log.exception("%s: reading a report or bounce failed", label)


async def _take_tls_report(message: bytes) -> str:
    try:
        return await dbcall.call(_store_tls_report, message)
    except store.Unavailable:
        return "not stored: the database is unavailable (the copy in the mailbox stays)"


def _store_tls_report(message: bytes) -> str:
    """The report's outcome, in words for the log (on a store thread: it parses)."""
    try:
        report = tlsrpt_report.report_in_message(message)
    except tlsrpt_report.ReportError as exc:
        return f"refused: {exc}"
    domains = store.record_received_tls_report(report, "mail")
    if not domains:
        return f"{report.report_id} from {report.organization} is about no domain of ours"
    return f"{report.report_id} from {report.organization} stored for {', '.join(domains)}"
