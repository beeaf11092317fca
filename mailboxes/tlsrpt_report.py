"""SMTP TLS reports that others send us (RFC 8460 4), by mail (5.3: the
application/tlsrpt part of a multipart/report) or by HTTPS POST (5.4):
un-gzip within a limit, parse the JSON, keep what the dashboard shows. Pure: bytes in, a
TlsReport out, or ReportError with a short reason fit for a log line or an
HTTP 400 body; no I/O, no Django.

What is kept per policy (4.4): its type and domain, the MX host, the two
session counts and the failed sessions by result type. What is checked:
the fields RFC 8460 4.3 requires, their types, counts that are
non-negative integers, an end not before the start. Unknown fields are
ignored (the format may grow, 4.3). Limits: MAX_JSON bytes of JSON after
decompression (checked while inflating, so a gzip bomb stops there),
MAX_POLICIES policies, MAX_DETAILS failure details, MAX_TEXT characters
per string kept.
"""

from __future__ import annotations

import datetime
import json
import zlib
from dataclasses import dataclass
from email import policy as email_policy
from email.parser import BytesHeaderParser, BytesParser

MAX_JSON = 1024 * 1024
MAX_POLICIES = 100
MAX_DETAILS = 1000
MAX_TEXT = 255
MAX_HEADER = 64 * 1024  # of a message, looked at to see whether it is a report
POLICY_TYPES = ("sts", "tlsa", "no-policy-found")
GZIP_TYPE, JSON_TYPE = "application/tlsrpt+gzip", "application/tlsrpt+json"  # RFC 8460 6.4, 6.5


class ReportError(ValueError):
    """Not a TLS report we can read; the text says why, in a few words."""


@dataclass(frozen=True)
class PolicyResult:
    policy_type: str
    policy_domain: str
    mx_host: str
    successful: int
    failed: int
    failures: tuple[tuple[str, int], ...]  # (result type, failed sessions), as reported


@dataclass(frozen=True)
class TlsReport:
    organization: str
    contact: str
    report_id: str
    begin: datetime.datetime
    end: datetime.datetime
    policies: tuple[PolicyResult, ...]


def gunzip(data: bytes, limit: int = MAX_JSON) -> bytes:
    """The inflated bytes of a gzip stream, at most limit of them."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise ReportError("not gzip data") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise ReportError(f"the report is larger than {limit} bytes")
    if not inflater.eof:
        raise ReportError("the gzip data is truncated")
    return out


def parse(data: bytes, content_type: str) -> TlsReport:
    """A report as application/tlsrpt+gzip or application/tlsrpt+json bytes."""
    if content_type == GZIP_TYPE:
        data = gunzip(data)
    elif content_type != JSON_TYPE:
        raise ReportError(f"not a TLS report type: {content_type[:60]}")
    if len(data) > MAX_JSON:
        raise ReportError(f"the report is larger than {MAX_JSON} bytes")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise ReportError("the report is not JSON") from None
    return _report(document)


def is_report_message(raw: bytes) -> bool:
    """Does the message say it is a TLS report (RFC 8460 5.3: multipart/report,
    report-type=tlsrpt)? Reads the header only (at most MAX_HEADER bytes of
    it), so asking about every inbound message costs little."""
    head = raw[:MAX_HEADER]
    end = min((i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0), default=len(head))
    head = head[:end]
    if b"tlsrpt" not in head.lower():
        return False
    header = BytesHeaderParser(policy=email_policy.compat32).parsebytes(head, headersonly=True)
    return (
        header.get_content_type() == "multipart/report" and str(header.get_param("report-type", "")).lower() == "tlsrpt"
    )


def report_in_message(raw: bytes) -> TlsReport:
    """The report a TLS report message carries (RFC 8460 5.3: its
    application/tlsrpt+gzip or +json part)."""
    if not is_report_message(raw):
        raise ReportError("not a multipart/report message of report-type tlsrpt")
    message = BytesParser(policy=email_policy.compat32).parsebytes(raw)
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type in (GZIP_TYPE, JSON_TYPE):
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes):
                break
            return parse(payload, content_type)
    raise ReportError("the message carries no application/tlsrpt part")


def _report(document: object) -> TlsReport:
    top = _object(document, "the report")
    dates = _object(top.get("date-range"), "date-range")
    begin, end = (
        _datetime(dates.get("start-datetime"), "start-datetime"),
        _datetime(dates.get("end-datetime"), "end-datetime"),
    )
    if end < begin:
        raise ReportError("date-range ends before it starts")
    policies = top.get("policies")
    if not isinstance(policies, list) or not policies:
        raise ReportError("policies must be a non-empty list")
    if len(policies) > MAX_POLICIES:
        raise ReportError(f"more than {MAX_POLICIES} policies")
    return TlsReport(
        _text(top.get("organization-name"), "organization-name"),
        _text(top.get("contact-info", ""), "contact-info", required=False),
        _text(top.get("report-id"), "report-id"),
        begin,
        end,
        tuple(_policy(p) for p in policies),
    )


def _policy(item: object) -> PolicyResult:
    entry = _object(item, "a policy")
    policy = _object(entry.get("policy"), "policy")
    policy_type = policy.get("policy-type")
    if policy_type not in POLICY_TYPES:
        raise ReportError("policy-type must be sts, tlsa or no-policy-found")
    mx_host = policy.get("mx-host", "")
    if isinstance(mx_host, list):  # some senders list the policy's MX patterns here
        mx_host = ", ".join(str(m) for m in mx_host[:10])
    summary = _object(entry.get("summary"), "summary")
    details = entry.get("failure-details", [])
    if not isinstance(details, list) or len(details) > MAX_DETAILS:
        raise ReportError(f"failure-details must be a list of at most {MAX_DETAILS}")
    failures: dict[str, int] = {}
    for detail in details:
        fields = _object(detail, "a failure detail")
        kind = _text(fields.get("result-type"), "result-type")
        failures[kind] = failures.get(kind, 0) + _count(fields.get("failed-session-count"), "failed-session-count")
    return PolicyResult(
        str(policy_type),
        _text(policy.get("policy-domain"), "policy-domain").lower().rstrip("."),
        _text(mx_host, "mx-host", required=False).lower(),
        _count(summary.get("total-successful-session-count"), "total-successful-session-count"),
        _count(summary.get("total-failure-session-count"), "total-failure-session-count"),
        tuple(sorted(failures.items())),
    )


def _object(value: object, what: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ReportError(f"{what} must be a JSON object")
    return value


def _text(value: object, what: str, *, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        raise ReportError(f"{what} must be a non-empty string" if required else f"{what} must be a string")
    return value.strip()[:MAX_TEXT]


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
        raise ReportError(f"{what} must be a non-negative integer")
    return value


def _datetime(value: object, what: str) -> datetime.datetime:
    """RFC 3339 date-time (RFC 8460 4.3); one without an offset is taken as UTC."""
    if not isinstance(value, str) or len(value) > 40:
        raise ReportError(f"{what} must be an RFC 3339 date-time")
    try:
        moment = datetime.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise ReportError(f"{what} must be an RFC 3339 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)
