"""DMARC aggregate reports we send (RFC 7489 7.2): verdicts counted by day,
and the daily task mails each author domain's rua one gzip XML report,
validated here against the RFC's schema (protocols/relay/dmarc-rua.xsd),
only to addresses that pass the external-destination check of 7.1."""

from __future__ import annotations

import datetime
import email
import gzip
from email.message import Message
from pathlib import Path

import pytest
from lxml import etree

from mailboxes import store
from protocols.relay import deliver, dmarc, dmarcrpt

from .helpers import DnsServer, Sink, txt

SCHEMA = etree.XMLSchema(etree.parse(str(Path(dmarcrpt.__file__).with_name("dmarc-rua.xsd"))))
YESTERDAY = datetime.datetime.now(datetime.UTC).date() - datetime.timedelta(days=1)
PASSED = (("pass", "sender.test", "mail"),)


def _record_day() -> None:
    for _ in range(2):
        store.record_dmarc_verdict(
            "sender.test", "192.0.2.10", "sender.test", "pass", PASSED, True, True, "none", day=YESTERDAY
        )
    store.record_dmarc_verdict(
        "sender.test",
        "2001:db8::7",
        "sender.test",
        "fail",
        (("fail", "sender.test", "mail"),),
        False,
        False,
        "reject",
        day=YESTERDAY,
    )
    store.record_dmarc_verdict("quiet.test", "192.0.2.11", "quiet.test", "pass", (), True, False, "none", day=YESTERDAY)


def test_a_day_of_verdicts_is_a_few_counted_rows(users):
    _record_day()
    rows = store.dmarc_verdicts(YESTERDAY)
    assert [(r.header_from, r.source_ip, r.disposition, r.count) for r in rows] == [
        ("quiet.test", "192.0.2.11", "none", 1),
        ("sender.test", "192.0.2.10", "none", 2),
        ("sender.test", "2001:db8::7", "reject", 1),
    ]
    assert rows[1].dkim == PASSED and (rows[1].policy_spf, rows[1].policy_dkim) == ("pass", "pass")


def test_a_built_report_is_valid_against_the_rfc_7489_schema(settings):
    settings.MAIL_HOSTNAME = "mx.example.test"
    record = dmarc.parse_record("sender.test", b"v=DMARC1; p=reject; pct=50; rua=mailto:d@sender.test")
    assert record is not None and record.pct == 50 and record.rua == ("mailto:d@sender.test",)
    rows = [
        store.DmarcVerdictRow(
            "sender.test",
            "2001:db8::7",
            "sender.test",
            "fail",
            (("fail", "sender.test", "mail"), ("permerror", "", "")),
            "fail",
            "fail",
            "reject",
            3,
        ),
        store.DmarcVerdictRow(
            "sender.test", "192.0.2.20", "lists.example", "pass", (), "fail", "fail", "none", 1, "trusted_forwarder"
        ),
    ]
    xml = dmarcrpt.build_report(record, rows, YESTERDAY, "r1@mx.example.test")
    document = etree.fromstring(xml)
    SCHEMA.assertValid(document)
    assert document.findtext("record/row/source_ip") == "2001:0db8:0000:0000:0000:0000:0000:0007"
    assert [r.findtext("row/policy_evaluated/reason/type") for r in document.iter("record")] == [
        None,
        "trusted_forwarder",
    ]
    broken = etree.fromstring(xml.replace(b"<disposition>reject<", b"<disposition>dropped<"))
    assert not SCHEMA.validate(broken)  # the schema does check what we send


@pytest.fixture
def report_dns():  # type: ignore[no-untyped-def]
    server = DnsServer(
        {
            "_dmarc.sender.test": [
                (
                    "TXT",
                    txt(
                        "v=DMARC1; p=reject; rua=mailto:d@sender.test,"
                        "mailto:agg@reports.example,mailto:nope@other.example!10m,"
                        "https://reports.example/r"
                    ),
                )
            ],
            "sender.test._report._dmarc.reports.example": [("TXT", txt("v=DMARC1"))],
            "_dmarc.quiet.test": [("TXT", txt("v=DMARC1; p=none"))],
        }
    )
    yield server
    server.close()


def test_the_daily_task_mails_gzip_xml_reports_to_the_rua_that_agreed(users, settings, report_dns):
    _record_day()
    sink = Sink()
    settings.MAIL_DNS_NAMESERVERS = [f"127.0.0.1:{report_dns.port}"]
    settings.MAIL_RELAY_MX_OVERRIDE = ",".join(
        f"{d}=127.0.0.1:{sink.port}" for d in ("sender.test", "reports.example", "other.example")
    )
    settings.MAIL_HOSTNAME = "relay.example.test"
    try:
        # quiet.test asks for no reports; other.example never agreed to take sender.test's (7.1)
        assert dmarcrpt.send_reports(YESTERDAY) == 2
        deliver.run()
    finally:
        sink.close()
    assert sink.handler.to("nope@other.example") == []
    for address in ("d@sender.test", "agg@reports.example"):
        [received] = sink.handler.to(address)
        assert received.mail_from == "<>"  # the null sender: a bounce cannot loop
        message = email.message_from_bytes(received.data)
        assert " ".join(message["Subject"].split()).startswith(
            "Report Domain: sender.test Submitter: relay.example.test Report-ID: <"
        )
        [part] = [p for p in message.walk() if isinstance(p, Message) and p.get_content_type() == "application/gzip"]
        begin = int(datetime.datetime.combine(YESTERDAY, datetime.time(), datetime.UTC).timestamp())
        assert part.get_filename() == f"relay.example.test!sender.test!{begin}!{begin + 86399}.xml.gz"
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        document = etree.fromstring(gzip.decompress(payload))
        SCHEMA.assertValid(document)
        assert document.findtext("policy_published/p") == "reject"
        counts = {r.findtext("row/source_ip"): int(r.findtext("row/count") or 0) for r in document.iter("record")}
        assert counts == {"192.0.2.10": 2, "2001:0db8:0000:0000:0000:0000:0000:0007": 1}


def test_reported_days_older_than_a_week_are_forgotten(users, report_dns, settings):
    settings.MAIL_DNS_NAMESERVERS = [f"127.0.0.1:{report_dns.port}"]
    old = YESTERDAY - datetime.timedelta(days=store.DMARC_VERDICT_KEEP_DAYS + 1)
    store.record_dmarc_verdict("quiet.test", "192.0.2.11", "quiet.test", "pass", (), True, False, "none", day=old)
    dmarcrpt.send_reports(YESTERDAY)
    assert store.dmarc_verdicts(old) == []
