"""DMARC aggregate reporting (RFC 7489 7.2), both directions.

Out: the MX counts each verdict it reaches (record_dmarc_verdict), by day and
by what a report row tells apart, so a busy day is a few rows and not one a
message; the daily task (protocols/relay/dmarcrpt.py) reads a day back
(dmarc_verdicts) and forgets old days.

In: an aggregate report another receiver mailed about one of our domains is
parsed (mailboxes/dmarc_xml.py) and kept (take_dmarc_report); the dashboard
shows per domain who sent mail as it and how much of it passed
(admin_dmarc_senders)."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum

from .. import dmarc_xml
from ..models import DmarcReport, DmarcReportRow, DmarcVerdict, Domain
from ._db import atomic, no_transaction
from .admin import domain_for
from .admin_types import Actor

log = logging.getLogger("mailboxes.store.dmarc")
DMARC_VERDICT_KEEP_DAYS = 7
MAX_ROWS_PER_REPORT = 10_000


@dataclass(frozen=True)
class DmarcVerdictRow:
    header_from: str
    source_ip: str
    envelope_from: str
    spf: str
    dkim: tuple[tuple[str, str, str], ...]  # (result, d, s)
    policy_spf: str
    policy_dkim: str
    disposition: str
    count: int
    reason: str = ""  # why the policy was not applied (RFC 7489 PolicyOverrideType), "" for none


def _dkim_text(dkim: tuple[tuple[str, str, str], ...]) -> str:
    return ";".join(" ".join(part or "-" for part in sig) for sig in dkim)[:600]


def _dkim_parts(text: str) -> tuple[tuple[str, str, str], ...]:
    out = []
    for sig in filter(None, text.split(";")):
        result, d, s = (sig.split(" ") + ["-", "-"])[:3]
        out.append((result, "" if d == "-" else d, "" if s == "-" else s))
    return tuple(out)


@atomic
def record_dmarc_verdict(
    header_from: str,
    source_ip: str,
    envelope_from: str,
    spf: str,
    dkim: tuple[tuple[str, str, str], ...],
    policy_spf: bool,
    policy_dkim: bool,
    disposition: str,
    *,
    reason: str = "",
    day: datetime.date | None = None,
) -> None:
    """Count one inbound message DMARC judged."""
    key = {
        "day": day or datetime.datetime.now(datetime.UTC).date(),
        "header_from": header_from.lower()[:255],
        "source_ip": source_ip[:64],
        "envelope_from": envelope_from.lower()[:255],
        "spf": spf[:16],
        "dkim": _dkim_text(dkim),
        "policy_spf": "pass" if policy_spf else "fail",
        "policy_dkim": "pass" if policy_dkim else "fail",
        "disposition": disposition,
        "reason": reason,
    }
    if DmarcVerdict.objects.filter(**key).update(count=F("count") + 1):
        return
    try:
        with transaction.atomic():  # a savepoint: another worker may insert the same key first
            DmarcVerdict.objects.create(**key, count=1)
    except IntegrityError:
        DmarcVerdict.objects.filter(**key).update(count=F("count") + 1)


@no_transaction
def dmarc_verdicts(day: datetime.date) -> list[DmarcVerdictRow]:
    rows = DmarcVerdict.objects.filter(day=day).order_by("header_from", "source_ip", "id")
    return [
        DmarcVerdictRow(
            r.header_from,
            r.source_ip,
            r.envelope_from,
            r.spf,
            _dkim_parts(r.dkim),
            r.policy_spf,
            r.policy_dkim,
            r.disposition,
            r.count,
            r.reason,
        )
        for r in rows
    ]


@no_transaction
def forget_dmarc_verdicts(before: datetime.date) -> int:
    return DmarcVerdict.objects.filter(day__lt=before).delete()[0]


# --- reports about our domains ---------------------------------------------


@atomic
def take_dmarc_report(message: bytes) -> int:
    """Keep the aggregate reports a message carries that are about one of our
    domains; returns how many were new. A report sent twice is kept once; one
    that is not a report, too big or hostile XML, is skipped (logged)."""
    try:
        reports = dmarc_xml.reports_in_message(message)
    except dmarc_xml.NotAReport as exc:
        log.info("DMARC report refused: %s", exc)
        return 0
    ours = set(Domain.objects.filter(name__in=[r.domain for r in reports]).values_list("name", flat=True))
    kept = 0
    for report in reports:
        if report.domain not in ours:
            log.info(
                "DMARC report %r from %r about %r: not one of our domains",
                report.report_id,
                report.org_name,
                report.domain,
            )
            continue
        try:
            with transaction.atomic():
                row = DmarcReport.objects.create(
                    domain=report.domain,
                    org_name=report.org_name[:255],
                    email=report.email[:255],
                    report_id=report.report_id[:255],
                    begin=report.begin,
                    end=report.end,
                )
        except IntegrityError:
            continue  # the same report again
        DmarcReportRow.objects.bulk_create(
            [
                DmarcReportRow(
                    report=row,
                    source_ip=r.source_ip,
                    count=r.count,
                    header_from=r.header_from[:255],
                    disposition=r.disposition,
                    policy_dkim=r.policy_dkim,
                    policy_spf=r.policy_spf,
                    dkim=";".join(f"{res} {d}" for res, d in r.dkim)[:600],
                    spf=";".join(f"{res} {d}" for res, d in r.spf)[:300],
                )
                for r in report.rows[:MAX_ROWS_PER_REPORT]
            ]
        )
        kept += 1
    return kept


@dataclass(frozen=True)
class DmarcSender:
    source_ip: str
    reporter: str
    count: int
    spf_pass: int  # DMARC-aligned SPF passed
    dkim_pass: int  # DMARC-aligned DKIM passed
    dmarc_pass: int  # either, so DMARC passed

    def rate(self, passed: int) -> int:
        return round(100 * passed / self.count) if self.count else 0

    @property
    def spf_rate(self) -> int:
        return self.rate(self.spf_pass)

    @property
    def dkim_rate(self) -> int:
        return self.rate(self.dkim_pass)

    @property
    def dmarc_rate(self) -> int:
        return self.rate(self.dmarc_pass)


@dataclass(frozen=True)
class DmarcSummary:
    domain: str
    reports: int
    since: datetime.datetime | None
    senders: list[DmarcSender]  # most mail first


@atomic
def admin_dmarc_senders(actor: Actor, domain_name: str, *, days: int = 30, limit: int = 100) -> DmarcSummary:
    """Who sent mail as the domain in the reports received over the last days:
    per source IP and reporter, the messages and how many passed."""
    domain = domain_for(actor, domain_name)
    since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days)
    reports = DmarcReport.objects.filter(domain=domain.name, end__gte=since)
    rows = (
        DmarcReportRow.objects.filter(report__in=reports)
        .values("source_ip", "report__org_name")
        .annotate(
            total=Sum("count"),
            spf=Sum("count", filter=Q(policy_spf="pass"), default=0),
            dkim=Sum("count", filter=Q(policy_dkim="pass"), default=0),
            dmarc=Sum("count", filter=Q(policy_spf="pass") | Q(policy_dkim="pass"), default=0),
        )
        .order_by("-total", "source_ip", "report__org_name")[:limit]
    )
    first = reports.order_by("begin").values_list("begin", flat=True).first()
    return DmarcSummary(
        domain.name,
        reports.aggregate(n=Count("id"))["n"],
        first,
        [DmarcSender(r["source_ip"], r["report__org_name"], r["total"], r["spf"], r["dkim"], r["dmarc"]) for r in rows],
    )
