"""DMARC aggregate reports (RFC 7489 7.2) about the mail our MX received:
the MX counts each verdict (protocols/smtp/handlers.py ->
store.record_dmarc_verdict); once a day send_reports() groups the previous
UTC day by author domain, looks up each domain's DMARC record and mails its
mailto: rua addresses one gzip XML report (7.2.1.1), from the null sender so
that a bounce cannot loop.

Implementation notes: a rua address outside the author's organizational
domain gets the report only when `<author>._report._dmarc.<rua domain>` holds
a v=DMARC1 record (7.1); a size limit after `!` is dropped (our reports are
small); https: and other schemes are skipped with a log line. Days older
than a week are forgotten. Reports that others send to us are parsed by
mailboxes/dmarc_xml.py.
"""

from __future__ import annotations

import datetime
import gzip
import ipaddress
import logging
from email.message import EmailMessage
from email.utils import format_datetime
from xml.etree import ElementTree

import dns.resolver
from django.conf import settings

from mailboxes import store
from mailboxes.dns import default_resolver, txt_records

from . import dmarc, reporting

log = logging.getLogger("protocols.relay.dmarcrpt")


def _sub(parent: ElementTree.Element, name: str, text: str | int | None = None) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, name)
    if text is not None:
        element.text = str(text)
    return element


def _xml_ip(address: str) -> str:
    """The schema's IPAddress pattern knows IPv6 only written out in full."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    return parsed.exploded if parsed.version == 6 else str(parsed)


def build_report(record: dmarc.Record, rows: list[store.DmarcVerdictRow], day: datetime.date, report_id: str) -> bytes:
    """The XML report (RFC 7489 7.2.1.1, Appendix C) of one author domain's day."""
    begin = int(datetime.datetime.combine(day, datetime.time(), datetime.UTC).timestamp())
    root = ElementTree.Element("feedback")
    _sub(root, "version", "1.0")
    meta = _sub(root, "report_metadata")
    _sub(meta, "org_name", settings.MAIL_HOSTNAME)
    _sub(meta, "email", f"postmaster@{settings.MAIL_HOSTNAME}")
    _sub(meta, "report_id", report_id)
    dates = _sub(meta, "date_range")
    _sub(dates, "begin", begin)
    _sub(dates, "end", begin + 86399)
    published = _sub(root, "policy_published")
    for name, value in (
        ("domain", record.domain),
        ("adkim", record.adkim),
        ("aspf", record.aspf),
        ("p", record.p),
        ("sp", record.sp),
        ("pct", record.pct),
        ("fo", "0"),
    ):
        _sub(published, name, value)
    for row in rows:
        entry = _sub(root, "record")
        head = _sub(entry, "row")
        _sub(head, "source_ip", _xml_ip(row.source_ip))
        _sub(head, "count", row.count)
        evaluated = _sub(head, "policy_evaluated")
        _sub(evaluated, "disposition", row.disposition)
        _sub(evaluated, "dkim", row.policy_dkim)
        _sub(evaluated, "spf", row.policy_spf)
        if row.reason:
            _sub(_sub(evaluated, "reason"), "type", row.reason)
        identifiers = _sub(entry, "identifiers")
        _sub(identifiers, "envelope_from", row.envelope_from)
        _sub(identifiers, "header_from", row.header_from)
        auth = _sub(entry, "auth_results")
        for result, d, s in row.dkim:
            if not d:
                continue  # a signature too broken to name its domain
            signature = _sub(auth, "dkim")
            _sub(signature, "domain", d)
            if s:
                _sub(signature, "selector", s)
            _sub(signature, "result", result)
        spf = _sub(auth, "spf")
        _sub(spf, "domain", row.envelope_from)
        _sub(spf, "scope", "mfrom")
        _sub(spf, "result", row.spf)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def report_message(
    xml: bytes, domain: str, rua: str, report_id: str, day: datetime.date, now: datetime.datetime
) -> bytes:
    """The report as mail (RFC 7489 7.2.1.1): gzip, named
    receiver!policy-domain!begin!end.xml.gz, with the subject it asks for."""
    submitter = settings.MAIL_HOSTNAME
    begin = int(datetime.datetime.combine(day, datetime.time(), datetime.UTC).timestamp())
    message = EmailMessage()
    message["From"] = f"DMARC reports <postmaster@{submitter}>"
    message["To"] = rua
    message["Subject"] = f"Report Domain: {domain} Submitter: {submitter} Report-ID: <{report_id}>"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{report_id}>"
    message.set_content(f"This is a DMARC aggregate report from {submitter} about mail from {domain}.\n")
    message.add_attachment(
        gzip.compress(xml),
        maintype="application",
        subtype="gzip",
        filename=f"{submitter}!{domain}!{begin}!{begin + 86399}.xml.gz",
    )
    return message.as_bytes()


def _organization(domain: str, resolver: dns.resolver.Resolver) -> str:
    return dmarc.organizational_domain(domain, lambda name: txt_records(resolver, name))


def destinations(record: dmarc.Record, resolver: dns.resolver.Resolver) -> list[str]:
    """The mailto: addresses of the record's rua that may get its reports (7.1)."""
    out = []
    for uri in record.rua:
        if not uri.lower().startswith("mailto:"):
            log.info("DMARC report for %s: %s is not a mailto: address; skipped", record.domain, uri)
            continue
        address = uri[len("mailto:") :].split("!", 1)[0].strip()
        local, at, rua_domain = address.rpartition("@")
        if not (local and at and rua_domain):
            continue
        rua_domain = rua_domain.lower().rstrip(".")
        if _organization(rua_domain, resolver) != _organization(record.domain, resolver):
            verify = txt_records(resolver, f"{record.domain}._report._dmarc.{rua_domain}") or []
            if not any(t.startswith(b"v=DMARC1") for t in verify):
                log.info(
                    "DMARC report for %s: %s did not agree to receive it (RFC 7489 7.1); skipped",
                    record.domain,
                    address,
                )
                continue
        out.append(address)
    return out


def send_reports(day: datetime.date | None = None, resolver: dns.resolver.Resolver | None = None) -> int:
    """Queue the reports of day (yesterday, UTC) to every author domain that
    asks for them; returns how many were queued."""
    now = datetime.datetime.now(datetime.UTC)
    day = day or (now - datetime.timedelta(days=1)).date()
    resolver = resolver or default_resolver()

    def prepare(domain: str, rows: list[store.DmarcVerdictRow]) -> tuple[tuple[bytes, str], list[str]] | None:
        record = dmarc.discover(domain, lambda name: txt_records(resolver, name))
        addresses = destinations(record, resolver) if record is not None else []
        if record is None or not addresses:
            return None
        rid = reporting.report_id(day)
        return (build_report(record, rows, day, rid), rid), addresses

    def send(report: tuple[bytes, str], domain: str, address: str) -> int:
        xml, rid = report
        store.deliver(report_message(xml, domain, address, rid, day, now), [address], "")
        return 1

    sent = reporting.send_daily("DMARC", store.dmarc_verdicts(day), lambda row: row.header_from, prepare, send)
    store.forget_dmarc_verdicts(day - datetime.timedelta(days=store.DMARC_VERDICT_KEEP_DAYS))
    return sent
