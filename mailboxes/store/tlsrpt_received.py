"""SMTP TLS reports other hosts send about our domains (RFC 8460), by mail
to the _smtp._tls rua address or POSTed to the web app's https: endpoint;
mailboxes/tlsrpt_report.py parses them. One row per report and hosted
policy domain, its policies summed; a report sent twice (same organization
and report-id) is kept once."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from ..models import Domain, TlsReportReceived
from ..tlsrpt_report import TlsReport
from ._db import atomic, no_transaction
from .admin import domain_for
from .admin_types import Actor

SOURCES = ("mail", "https")
RECEIVED_KEEP_DAYS = 180  # a report whose period ended longer ago is forgotten (the daily TLS report task)
SHOWN = 200  # the dashboard's page shows this many, newest first


@dataclass(frozen=True)
class ReceivedTlsReport:
    organization: str
    contact: str
    report_id: str
    begin: datetime.datetime
    end: datetime.datetime
    policy_types: tuple[str, ...]
    successful: int
    failed: int
    failures: tuple[tuple[str, int], ...]  # (result type, sessions), most first
    source: str
    received: datetime.datetime


@atomic
def record_received_tls_report(report: TlsReport, source: str) -> list[str]:
    """Store the report for each of its policy domains that is an active
    domain of ours; returns those domains (none: nothing was ours)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}")
    wanted = {p.policy_domain for p in report.policies}
    ours = dict(Domain.objects.filter(name__in=wanted, active=True).values_list("name", "id"))
    rows = []
    for name, domain_id in sorted(ours.items()):
        policies = [p for p in report.policies if p.policy_domain == name]
        failures: dict[str, int] = {}
        for policy in policies:
            for kind, count in policy.failures:
                failures[kind] = failures.get(kind, 0) + count
        rows.append(
            TlsReportReceived(
                domain_id=domain_id,
                organization=report.organization,
                contact=report.contact,
                report_id=report.report_id,
                begin=report.begin,
                end=report.end,
                policy_types=sorted({p.policy_type for p in policies}),
                successful=sum(p.successful for p in policies),
                failed=sum(p.failed for p in policies),
                failures=failures,
                source=source,
            )
        )
    TlsReportReceived.objects.bulk_create(rows, ignore_conflicts=True)  # a resent report: kept once
    return sorted(ours)


@no_transaction
def admin_tls_reports(actor: Actor, name: str) -> list[ReceivedTlsReport]:
    """The TLS reports received about a domain the actor manages, newest period first."""
    domain = domain_for(actor, name)
    rows = TlsReportReceived.objects.filter(domain=domain).order_by("-begin", "organization")[:SHOWN]
    return [
        ReceivedTlsReport(
            r.organization,
            r.contact,
            r.report_id,
            r.begin,
            r.end,
            tuple(r.policy_types),
            r.successful,
            r.failed,
            tuple(sorted(r.failures.items(), key=lambda item: (-item[1], item[0]))),
            r.source,
            r.received,
        )
        for r in rows
    ]


@no_transaction
def forget_received_tls_reports(before: datetime.datetime) -> int:
    """Delete the received reports whose period ended before; how many."""
    return TlsReportReceived.objects.filter(end__lt=before).delete()[0]
