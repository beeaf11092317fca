"""SMTP TLS reports others send us (RFC 8460): the parser (limits, bad input
refused with a reason), the store (one row per report and hosted domain, a
resent report kept once) and the https: rua endpoint over a real socket.
Reports are made by our own outbound reporting (protocols/relay/tlsrpt.py),
so what we send is what we can read. By mail: tests/smtp/test_tls_reports.py."""

from __future__ import annotations

import datetime
import gzip
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from mailboxes import store, tlsrpt_report
from mailboxes.models import TlsReportReceived
from protocols.relay import tlsrpt

DAY = datetime.date(2026, 12, 6)


def outbound_report(domain: str = "example.test", report_id: str = "r1@sender.test") -> dict[str, Any]:
    """A report as our relay would send it: 3 good sessions under an STS
    policy, 2 with an expired certificate, 1 with a host mismatch."""
    policy = ("version: STSv1", "mode: enforce", "mx: mail.example.test", "max_age: 604800")
    rows = [
        store.TlsOutcomeRow(domain, "sts", policy, "mail.example.test", "192.0.2.1", "", 3),
        store.TlsOutcomeRow(domain, "sts", policy, "mail.example.test", "192.0.2.1", "certificate-expired", 2),
        store.TlsOutcomeRow(domain, "sts", policy, "mail.example.test", "192.0.2.2", "certificate-host-mismatch", 1),
    ]
    return tlsrpt.build_report(domain, rows, DAY, report_id)


def as_json(report: dict[str, Any]) -> bytes:
    return json.dumps(report).encode()


# --- the parser ------------------------------------------------------------------


def test_a_report_from_our_own_relay_reads_back_with_its_counts_and_failure_types():
    parsed = tlsrpt_report.parse(gzip.compress(as_json(outbound_report())), tlsrpt_report.GZIP_TYPE)
    assert parsed.report_id == "r1@sender.test"
    assert parsed.begin == datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC)
    assert parsed.end == datetime.datetime(2026, 12, 6, 23, 59, 59, tzinfo=datetime.UTC)
    [policy] = parsed.policies
    assert (policy.policy_type, policy.policy_domain, policy.successful, policy.failed) == ("sts", "example.test", 3, 3)
    assert policy.failures == (("certificate-expired", 2), ("certificate-host-mismatch", 1))


def _broken(change) -> bytes:  # type: ignore[no-untyped-def]
    report = outbound_report()
    change(report)
    return as_json(report)


@pytest.mark.parametrize(
    "data, content_type, reason",
    [
        (b"{}", "application/json", "not a TLS report type"),
        (b"not gzip", tlsrpt_report.GZIP_TYPE, "not gzip data"),
        (gzip.compress(b"{}", mtime=0)[:-6], tlsrpt_report.GZIP_TYPE, "truncated"),
        (gzip.compress(b" " * (tlsrpt_report.MAX_JSON + 1)), tlsrpt_report.GZIP_TYPE, "larger than"),  # a small bomb
        (b"[1, 2", tlsrpt_report.JSON_TYPE, "not JSON"),
        (b"[" * 100000 + b"]" * 100000, tlsrpt_report.JSON_TYPE, "not JSON"),  # nesting past the recursion limit
        (b"[]", tlsrpt_report.JSON_TYPE, "must be a JSON object"),
        (_broken(lambda r: r.pop("report-id")), tlsrpt_report.JSON_TYPE, "report-id must be"),
        (_broken(lambda r: r.update(policies=[])), tlsrpt_report.JSON_TYPE, "non-empty list"),
        (
            _broken(lambda r: r["date-range"].update({"end-datetime": "2026-12-05T00:00:00Z"})),
            tlsrpt_report.JSON_TYPE,
            "ends before it starts",
        ),
        (
            _broken(lambda r: r["date-range"].update({"start-datetime": "yesterday"})),
            tlsrpt_report.JSON_TYPE,
            "RFC 3339",
        ),
        (
            _broken(lambda r: r["policies"][0]["policy"].update({"policy-type": "dane"})),
            tlsrpt_report.JSON_TYPE,
            "policy-type",
        ),
        (
            _broken(lambda r: r["policies"][0]["summary"].update({"total-failure-session-count": -1})),
            tlsrpt_report.JSON_TYPE,
            "non-negative integer",
        ),
        (
            _broken(lambda r: r["policies"][0]["summary"].update({"total-successful-session-count": "3"})),
            tlsrpt_report.JSON_TYPE,
            "non-negative integer",
        ),
        (
            _broken(lambda r: r["policies"][0]["failure-details"][0].update({"failed-session-count": True})),
            tlsrpt_report.JSON_TYPE,
            "non-negative integer",
        ),
    ],
)
def test_bad_input_is_refused_with_a_short_reason(data, content_type, reason):
    with pytest.raises(tlsrpt_report.ReportError, match=reason):
        tlsrpt_report.parse(data, content_type)


def test_the_report_in_a_mailed_report_is_found_and_other_mail_is_not_taken_for_one():
    report = outbound_report()
    message = tlsrpt.report_message(
        report, "example.test", "postmaster@example.test", datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC)
    )
    assert tlsrpt_report.is_report_message(message)
    assert tlsrpt_report.report_in_message(message).report_id == report["report-id"]
    plain = b"From: a@b.test\r\nContent-Type: multipart/report; report-type=delivery-status\r\n\r\nhi\r\n"
    assert not tlsrpt_report.is_report_message(plain)
    in_the_body = b"Subject: x\r\n\r\nContent-Type: multipart/report; report-type=tlsrpt\r\n"
    assert not tlsrpt_report.is_report_message(in_the_body)
    with pytest.raises(tlsrpt_report.ReportError):
        tlsrpt_report.report_in_message(plain)


# --- the store -------------------------------------------------------------------


def test_a_report_is_stored_once_per_hosted_domain_and_a_resent_one_is_kept_once(users):
    two = outbound_report()
    two["policies"].append(
        {**two["policies"][0], "policy": {**two["policies"][0]["policy"], "policy-domain": "elsewhere.test"}}
    )
    parsed = tlsrpt_report.parse(as_json(two), tlsrpt_report.JSON_TYPE)
    assert store.record_received_tls_report(parsed, "https") == ["example.test"]
    assert store.record_received_tls_report(parsed, "mail") == ["example.test"]
    [row] = TlsReportReceived.objects.all()
    assert (row.domain.name, row.successful, row.failed, row.source) == ("example.test", 3, 3, "https")
    assert row.failures == {"certificate-expired": 2, "certificate-host-mismatch": 1}
    other = tlsrpt_report.parse(as_json(outbound_report("elsewhere.test")), tlsrpt_report.JSON_TYPE)
    assert store.record_received_tls_report(other, "https") == []


# --- the https: rua endpoint ------------------------------------------------------


def _post(url: str, body: bytes, content_type: str) -> tuple[int, str]:
    request = urllib.request.Request(url + "/tlsrpt/", data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.parametrize(
    "content_type, encode",
    [
        (tlsrpt_report.GZIP_TYPE, gzip.compress),
        (tlsrpt_report.JSON_TYPE, lambda b: b),
        ("application/tlsrpt+gzip; charset=binary", gzip.compress),
    ],
)
def test_a_report_posted_to_the_https_endpoint_is_stored(live_server, users, content_type, encode):
    status, text = _post(live_server.url, encode(as_json(outbound_report())), content_type)
    assert (status, text) == (200, "stored\n")
    row = TlsReportReceived.objects.get()
    assert (row.organization, row.report_id, row.source) == (tlsrpt.settings.MAIL_HOSTNAME, "r1@sender.test", "https")


@pytest.mark.parametrize(
    "body, content_type, status",
    [
        (b"{}", "application/json", 415),
        (b"not gzip at all", tlsrpt_report.GZIP_TYPE, 400),
        (gzip.compress(b" " * (tlsrpt_report.MAX_JSON + 1)), tlsrpt_report.GZIP_TYPE, 400),
        (b"x" * (tlsrpt_report.MAX_JSON + 1), tlsrpt_report.JSON_TYPE, 413),
        (as_json(outbound_report("elsewhere.test")), tlsrpt_report.JSON_TYPE, 400),  # not one of our domains
    ],
)
def test_the_https_endpoint_refuses_bad_reports_without_saying_more_than_it_must(
    live_server, users, body, content_type, status
):
    got, text = _post(live_server.url, body, content_type)
    assert got == status
    assert "Error" not in text and "Traceback" not in text and len(text) < 80
    assert not TlsReportReceived.objects.exists()


def test_the_daily_task_forgets_received_reports_half_a_year_old(users):
    old = outbound_report(report_id="old")
    old["date-range"] = {"start-datetime": "2020-01-01T00:00:00Z", "end-datetime": "2020-01-01T23:59:59Z"}
    for report in (old, outbound_report(report_id="recent")):
        store.record_received_tls_report(tlsrpt_report.parse(as_json(report), tlsrpt_report.JSON_TYPE), "mail")
    tlsrpt.send_reports(DAY)
    assert list(TlsReportReceived.objects.values_list("report_id", flat=True)) == ["recent"]
