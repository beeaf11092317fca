"""SMTP TLS reporting (RFC 8460): the relay counts each TLS negotiation by
policy domain, and the daily task mails a gzip JSON report to the rua of a
domain publishing _smtp._tls, checked here against the report format of
RFC 8460 4.4 (the fields, their types and the counts)."""

from __future__ import annotations

import datetime
import email
import gzip
import json
from email.message import Message
from typing import Any

import pytest

from mailboxes import store
from protocols.relay import deliver, tlsrpt

from .helpers import DnsServer, Sink, txt
from .test_mta_sts import DOMAIN, PolicyServer, _mx, _send_and_relay, ca, dns_zone, policy, policy_server  # noqa: F401


@pytest.mark.parametrize(
    "records, expected",
    [
        ([b"v=TLSRPTv1; rua=mailto:tls@example.net"], ["mailto:tls@example.net"]),
        ([b"v=TLSRPTv1;rua=mailto:a@x.test,https://x.test/r", b"v=spf1 -all"], ["mailto:a@x.test", "https://x.test/r"]),
        ([b"v=TLSRPTv1; rua=mailto:a@x.test", b"v=TLSRPTv1; rua=mailto:b@x.test"], []),
        ([], []),
    ],
)
def test_the_reporting_record_gives_its_rua_addresses(records, expected):
    assert tlsrpt.parse_txt(records) == expected


@pytest.mark.parametrize(
    "certificate, result_type",
    [("good", ""), ("expired", "certificate-expired"), ("wrong-name", "certificate-host-mismatch")],
)
def test_each_negotiation_under_a_policy_is_counted_with_its_result(
    alice,
    ca,  # noqa: F811
    policy_server,  # noqa: F811
    dns_zone,  # noqa: F811
    settings,
    certificate,
    result_type,
):
    policy_server.body = policy("enforce")
    sink = _mx(ca, settings, certificate)
    try:
        _send_and_relay(alice)
    finally:
        sink.close()
    today = datetime.datetime.now(datetime.UTC).date()
    [row] = store.tls_outcomes(today)
    assert (row.policy_domain, row.policy_type, row.mx_host, row.result_type, row.count) == (
        DOMAIN,
        "sts",
        "mx.example.net",
        result_type,
        1,
    )
    assert row.policy_string == ("version: STSv1", "mode: enforce", "mx: mx.example.net", "max_age: 86400")


def _check_report_format(report: dict[str, Any]) -> None:
    """RFC 8460 4.4: the required fields and their types."""
    assert set(report) >= {"organization-name", "date-range", "contact-info", "report-id", "policies"}
    assert all(isinstance(report[k], str) for k in ("organization-name", "contact-info", "report-id"))
    for key in ("start-datetime", "end-datetime"):
        datetime.datetime.strptime(report["date-range"][key], "%Y-%m-%dT%H:%M:%SZ")
    for entry in report["policies"]:
        assert entry["policy"]["policy-type"] in ("tlsa", "sts", "no-policy-found")
        assert isinstance(entry["policy"]["policy-string"], list) and isinstance(entry["policy"]["policy-domain"], str)
        assert all(
            isinstance(entry["summary"][k], int)
            for k in ("total-successful-session-count", "total-failure-session-count")
        )
        failed = 0
        for detail in entry.get("failure-details", []):
            assert detail["result-type"] in (
                "starttls-not-supported",
                "certificate-host-mismatch",
                "certificate-expired",
                "certificate-not-trusted",
                "validation-failure",
                "tlsa-invalid",
                "dnssec-invalid",
                "dane-required",
                "sts-policy-fetch-error",
                "sts-policy-invalid",
                "sts-webpki-invalid",
            )
            assert isinstance(detail["failed-session-count"], int)
            failed += detail["failed-session-count"]
        assert failed == entry["summary"]["total-failure-session-count"]


def test_the_daily_task_mails_a_gzip_json_report_to_the_domains_rua(alice, settings):
    yesterday = datetime.datetime.now(datetime.UTC).date() - datetime.timedelta(days=1)
    sts = ["version: STSv1", "mode: enforce", "mx: mx.example.net", "max_age: 86400"]
    for result in ("", "", "certificate-expired"):
        store.record_tls_outcome(DOMAIN, "sts", sts, "mx.example.net", "192.0.2.1", result, day=yesterday)
    store.record_tls_outcome("quiet.example", "no-policy-found", [], "mx.quiet.example", "192.0.2.2", day=yesterday)
    dns_server = DnsServer({f"_smtp._tls.{DOMAIN}": [("TXT", txt("v=TLSRPTv1; rua=mailto:tls-reports@example.net"))]})
    settings.MAIL_DNS_NAMESERVERS = [f"127.0.0.1:{dns_server.port}"]
    sink = Sink()
    settings.MAIL_RELAY_MX_OVERRIDE = f"{DOMAIN}=127.0.0.1:{sink.port}"
    settings.MAIL_HOSTNAME = "relay.example.test"
    try:
        assert tlsrpt.send_reports(yesterday) == 1  # quiet.example publishes no _smtp._tls
        deliver.run()
    finally:
        sink.close()
        dns_server.close()
    [received] = sink.handler.to("tls-reports@example.net")
    message = email.message_from_bytes(received.data)
    assert message["TLS-Report-Domain"] == DOMAIN and message["TLS-Report-Submitter"] == "relay.example.test"
    assert message.get_content_type() == "multipart/report" and message.get_param("report-type") == "tlsrpt"
    [part] = [p for p in message.walk() if isinstance(p, Message) and p.get_content_type() == "application/tlsrpt+gzip"]
    assert part.get_filename().startswith(f"relay.example.test!{DOMAIN}!")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    report = json.loads(gzip.decompress(payload))
    _check_report_format(report)
    [entry] = report["policies"]
    assert entry["policy"] == {"policy-type": "sts", "policy-string": sts, "policy-domain": DOMAIN}
    assert entry["summary"] == {"total-successful-session-count": 2, "total-failure-session-count": 1}
    assert entry["failure-details"] == [
        {
            "result-type": "certificate-expired",
            "receiving-mx-hostname": "mx.example.net",
            "receiving-ip": "192.0.2.1",
            "failed-session-count": 1,
        }
    ]
    assert report["date-range"]["start-datetime"] == f"{yesterday:%Y-%m-%d}T00:00:00Z"


@pytest.mark.parametrize(
    "names, status, posted",
    [
        (["reports.example.net"], 200, 1),
        (["reports.example.net"], 500, 0),  # refused: not counted as sent
        (["elsewhere.example.org"], 200, 0),  # a certificate for another name: never sent
    ],
)
def test_the_daily_task_posts_the_gzip_report_to_an_https_rua(alice, ca, settings, names, status, posted):  # noqa: F811
    """RFC 8460 5.4: application/tlsrpt+gzip to the URL, over verified HTTPS;
    what arrives reads back with our own receiving parser."""
    from mailboxes import tlsrpt_report

    yesterday = datetime.datetime.now(datetime.UTC).date() - datetime.timedelta(days=1)
    for result in ("", "certificate-expired"):
        store.record_tls_outcome(DOMAIN, "no-policy-found", [], "mx.example.net", "192.0.2.1", result, day=yesterday)
    server = PolicyServer(ca.server_context(names))
    server.status = status
    dns_server = DnsServer(
        {
            f"_smtp._tls.{DOMAIN}": [
                ("TXT", txt(f"v=TLSRPTv1; rua=https://reports.example.net:{server.port}/v1/tlsrpt"))
            ],
            "reports.example.net": [("A", "127.0.0.1")],
        }
    )
    settings.MAIL_DNS_NAMESERVERS = [f"127.0.0.1:{dns_server.port}"]
    try:
        assert tlsrpt.send_reports(yesterday) == posted
    finally:
        server.close()
        dns_server.close()
    assert len(server.posts) == (1 if names == ["reports.example.net"] else 0)
    if server.posts:
        [(path, content_type, body)] = server.posts
        assert (path, content_type) == ("/v1/tlsrpt", "application/tlsrpt+gzip")
        report = tlsrpt_report.parse(body, content_type)
        [entry] = report.policies
        assert (entry.policy_domain, entry.successful, entry.failed) == (DOMAIN, 1, 1)
