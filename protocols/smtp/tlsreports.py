"""SMTP TLS reports (RFC 8460 5.3) that other hosts mail to us: after a
message from an unauthenticated session has been delivered (a copy stays in
the rua mailbox, postmaster's by our _smtp._tls record), one that says it
is a TLS report is parsed (mailboxes/tlsrpt_report.py) and stored for the
dashboard (store.record_received_tls_report). A report that does not parse
is logged; it never changes the answer to DATA, which is already decided."""

from __future__ import annotations

import logging

from mailboxes import store, tlsrpt_report

from .. import dbcall

log = logging.getLogger("protocols.smtp")


def _take(data: bytes) -> str:
    try:
        report = tlsrpt_report.report_in_message(data)
    except tlsrpt_report.ReportError as exc:
        return f"refused: {exc}"
    domains = store.record_received_tls_report(report, "mail")
    if not domains:
        return f"{report.report_id} from {report.organization} is about no domain of ours"
    return f"{report.report_id} from {report.organization} stored for {', '.join(domains)}"


async def take(label: str, data: bytes) -> None:
    """Store the TLS report data carries, if it is one."""
    if not tlsrpt_report.is_report_message(data):
        return
    try:
        outcome = await dbcall.call(_take, data)
    except store.Unavailable:
        outcome = "not stored: the database is unavailable (the copy in the mailbox stays)"
    except Exception:
        log.exception("%s: a TLS report could not be read", label)
        return
    log.info("%s: TLS report %s", label, outcome)
