"""SMTP TLS reporting (RFC 8460) for the mail we send: the relay counts every
TLS negotiation (deliver.py -> store.record_tls_outcome); once a day
send_reports() looks up each policy domain's _smtp._tls TXT record and mails
it a gzip JSON report (4.4, 5.3) of the previous UTC day, or POSTs it to its
https: rua addresses (5.4, through https.request: certificate verified, no
redirects).

Implementation notes: a mailed report goes out on the queue like any mail,
from the null sender so that a bounce cannot loop; days older than a week
are forgotten, and so are reports received about our domains whose period
ended more than store.RECEIVED_KEEP_DAYS (180) days ago. Reports addressed to us: protocols/smtp/reports.py and
mailboxes/tlsrpt_views.py.
"""

from __future__ import annotations

import datetime
import gzip
import json
import logging
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import dns.resolver
from django.conf import settings

from mailboxes import store
from mailboxes.dns import default_resolver, txt_records

from . import https, reporting

log = logging.getLogger("protocols.relay.tlsrpt")


def parse_txt(records: list[bytes]) -> list[str]:
    """The rua URIs of the one "v=TLSRPTv1" record (RFC 8460 3); [] when
    there is none or several."""
    ours = [r for r in records if r.startswith(b"v=TLSRPTv1")]
    if len(ours) != 1:
        return []
    for part in ours[0].decode("ascii", "replace").split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip() == "rua":
            return [uri.strip() for uri in value.split(",") if uri.strip()]
    return []


def build_report(domain: str, rows: list[store.TlsOutcomeRow], day: datetime.date, report_id: str) -> dict[str, Any]:
    """The JSON report (RFC 8460 4.4) of one policy domain's day."""
    start = datetime.datetime.combine(day, datetime.time(), datetime.UTC)
    policies: dict[tuple[str, tuple[str, ...], str], dict[str, Any]] = {}
    for row in rows:
        key = (row.policy_type, row.policy_string, row.mx_host if row.policy_type == "tlsa" else "")
        entry = policies.setdefault(
            key,
            {
                "policy": {
                    "policy-type": row.policy_type,
                    "policy-string": list(row.policy_string),
                    "policy-domain": domain,
                    **({"mx-host": row.mx_host} if key[2] else {}),
                },
                "summary": {"total-successful-session-count": 0, "total-failure-session-count": 0},
                "failure-details": [],
            },
        )
        if row.result_type:
            entry["summary"]["total-failure-session-count"] += row.count
            entry["failure-details"].append(
                {
                    "result-type": row.result_type,
                    "receiving-mx-hostname": row.mx_host,
                    "receiving-ip": row.receiving_ip,
                    "failed-session-count": row.count,
                }
            )
        else:
            entry["summary"]["total-successful-session-count"] += row.count
    return {
        "organization-name": settings.MAIL_HOSTNAME,
        "date-range": {
            "start-datetime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end-datetime": (start + datetime.timedelta(days=1) - datetime.timedelta(seconds=1)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
        },
        "contact-info": f"postmaster@{settings.MAIL_HOSTNAME}",
        "report-id": report_id,
        "policies": [{k: v for k, v in entry.items() if k != "failure-details" or v} for entry in policies.values()],
    }


def report_message(report: dict[str, Any], domain: str, rua: str, now: datetime.datetime) -> bytes:
    """The report as mail (RFC 8460 5.3): a gzip application/tlsrpt+gzip part
    named sender!policy-domain!begin!end!id.json.gz and the report headers."""
    submitter = settings.MAIL_HOSTNAME
    start = int(
        datetime.datetime.fromisoformat(report["date-range"]["start-datetime"].replace("Z", "+00:00")).timestamp()
    )
    message = EmailMessage()
    message["From"] = f"TLS reports <postmaster@{submitter}>"
    message["To"] = rua
    message["Subject"] = f"Report Domain: {domain} Submitter: {submitter} Report-ID: <{report['report-id']}>"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{report['report-id']}>"
    message["TLS-Report-Domain"] = domain
    message["TLS-Report-Submitter"] = submitter
    message.set_content(f"This is an aggregate TLS report from {submitter} about mail sent to {domain}.\n")
    data = gzip.compress(json.dumps(report, indent=1).encode())
    message.add_attachment(
        data,
        maintype="application",
        subtype="tlsrpt+gzip",
        filename=f"{submitter}!{domain}!{start}!{start + 86399}!{report['report-id']}.json.gz",
    )
    message.set_type("multipart/report")  # RFC 8460 5.3, with its boundary kept
    message.set_param("report-type", "tlsrpt")
    return message.as_bytes()


def post_report(report: dict[str, Any], domain: str, rua: str, resolver: dns.resolver.Resolver) -> int:
    """POST the report gzipped to an https: rua (RFC 8460 5.4:
    application/tlsrpt+gzip); 1 when a 2xx answered, else 0 with a log line
    (the report is not queued to be tried again: tomorrow brings the next)."""
    url = urlsplit(rua)
    try:
        port = url.port or 443
    except ValueError:
        port = 0
    if url.scheme.lower() != "https" or not url.hostname or not port:
        log.info("TLS report for %s: %s is not a usable https: address", domain, rua)
        return 0
    body = gzip.compress(json.dumps(report).encode())
    try:
        response = https.request(
            url.hostname,
            port,
            "POST",
            (url.path or "/") + (f"?{url.query}" if url.query else ""),
            resolver,
            headers={"Content-Type": "application/tlsrpt+gzip"},
            body=body,
            limit=4096,
        )
    except https.HttpsFailed as exc:
        log.warning("TLS report for %s to %s not posted: %s", domain, rua, exc)
        return 0
    if not 200 <= response.status < 300:
        log.warning("TLS report for %s to %s refused: HTTP %d", domain, rua, response.status)
        return 0
    return 1


def send_reports(day: datetime.date | None = None, resolver: dns.resolver.Resolver | None = None) -> int:
    """Queue the reports of day (yesterday, UTC) to every policy domain that
    asks for them; returns how many were queued."""
    now = datetime.datetime.now(datetime.UTC)
    day = day or (now - datetime.timedelta(days=1)).date()
    resolver = resolver or default_resolver()

    def prepare(domain: str, rows: list[store.TlsOutcomeRow]) -> tuple[dict[str, Any], list[str]] | None:
        ruas = parse_txt(txt_records(resolver, f"_smtp._tls.{domain}") or [])
        return (build_report(domain, rows, day, reporting.report_id(day)), ruas) if ruas else None

    def send(report: dict[str, Any], domain: str, rua: str) -> int:
        if rua.lower().startswith("https:"):
            return post_report(report, domain, rua, resolver)
        if not rua.lower().startswith("mailto:"):
            log.info("TLS report for %s: %s is neither a mailto: nor an https: address; skipped", domain, rua)
            return 0
        address = rua[len("mailto:") :]
        store.deliver(report_message(report, domain, address, now), [address], "")
        return 1

    sent = reporting.send_daily("TLS", store.tls_outcomes(day), lambda row: row.policy_domain, prepare, send)
    store.forget_tls_outcomes(day - datetime.timedelta(days=store.TLS_OUTCOME_KEEP_DAYS))
    store.forget_received_tls_reports(now - datetime.timedelta(days=store.RECEIVED_KEEP_DAYS))
    return sent
