"""The https: rua endpoint for SMTP TLS reports about our domains (RFC 8460
3, 6.4, 6.5): POST /tlsrpt/ with an application/tlsrpt+gzip or
application/tlsrpt+json body. 200 once stored; 400 for a report that does
not parse or is about no domain of ours (the reason goes to the log, not
the wire), 413 past the size limit, 415 for another content type, 503
while the database is away (the sender tries again later)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from mailboxes import store, tlsrpt_report

log = logging.getLogger("mailboxes.tlsrpt")


def _plain(text: str, status: int) -> HttpResponse:
    return HttpResponse(text + "\n", status=status, content_type="text/plain")


@csrf_exempt  # a report submitter is another mail host, not a browser with a session
@require_POST
def receive_tls_report(request: HttpRequest) -> HttpResponse:
    content_type = (request.content_type or "").lower()
    if content_type not in (tlsrpt_report.GZIP_TYPE, tlsrpt_report.JSON_TYPE):
        return _plain("send application/tlsrpt+gzip or application/tlsrpt+json", 415)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if not 0 < length <= tlsrpt_report.MAX_JSON:
        return _plain("report too large" if length > 0 else "no report", 413 if length > 0 else 400)
    peer = request.META.get("REMOTE_ADDR", "")
    try:
        report = tlsrpt_report.parse(request.body, content_type)
    except tlsrpt_report.ReportError as exc:
        log.info("tlsrpt: a report POSTed from %s refused: %s", peer, exc)
        return _plain("not a readable TLS report", 400)
    try:
        domains = store.record_received_tls_report(report, "https")
    except store.Unavailable:
        return _plain("try again later", 503)
    if not domains:
        log.info("tlsrpt: a report from %s (%s) is about no domain of ours", report.organization, peer)
        return _plain("not a report about a domain of this host", 400)
    log.info("tlsrpt: report %s from %s for %s stored", report.report_id, report.organization, ", ".join(domains))
    return _plain("stored", 200)
