"""DMARC reporting at the MX (RFC 7489 7.2): each verdict DMARC reached is
counted for the reports we send, and aggregate reports other receivers mail
to our report address are parsed into the store (gzip, zip or bare XML, with
size limits and hostile XML refused) for the dashboard."""

from __future__ import annotations

import datetime
import email.policy
import gzip
import io
import smtplib
import zipfile
from email.message import EmailMessage

import pytest

from mailboxes import dmarc_xml, store
from mailboxes.store.admin_types import Actor

BEGIN = int(datetime.datetime.now(datetime.UTC).timestamp()) - 86400
TODAY = datetime.datetime.now(datetime.UTC).date()


def report_xml(domain: str = "example.test", report_id: str = "r-1", org: str = "Big Mailbox Provider") -> bytes:
    records = "".join(
        f"""
  <record>
    <row><source_ip>{ip}</source_ip><count>{count}</count>
      <policy_evaluated><disposition>none</disposition><dkim>{dkim}</dkim><spf>{spf}</spf></policy_evaluated></row>
    <identifiers><header_from>{domain}</header_from></identifiers>
    <auth_results><dkim><domain>{domain}</domain><result>{dkim}</result></dkim>
      <spf><domain>{domain}</domain><result>{spf}</result></spf></auth_results>
  </record>"""
        for ip, count, dkim, spf in (
            ("192.0.2.1", 40, "pass", "pass"),
            ("198.51.100.7", 10, "fail", "pass"),
            ("203.0.113.9", 5, "fail", "fail"),
        )
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <report_metadata><org_name>{org}</org_name><email>noreply@reports.example</email>
    <report_id>{report_id}</report_id><date_range><begin>{BEGIN}</begin><end>{BEGIN + 86399}</end></date_range>
  </report_metadata>
  <policy_published><domain>{domain}</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><sp>none</sp>
    <pct>100</pct></policy_published>{records}
</feedback>""".encode()


def zipped(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("report.xml", data)
    return out.getvalue()


def report_mail(payload: bytes, filename: str, to: str = "dmarc-reports@example.test") -> bytes:
    message = EmailMessage()
    message["From"] = "noreply@reports.example"
    message["To"] = to
    message["Subject"] = "Report Domain: example.test Submitter: reports.example Report-ID: r-1"
    message["Date"] = "Mon, 07 Dec 2026 07:00:00 +0000"
    message["Message-ID"] = "<r-1@reports.example>"
    message.set_content("A DMARC aggregate report.\n")
    maintype, subtype = {"gz": ("application", "gzip"), "zip": ("application", "zip"), "xml": ("text", "xml")}[
        filename.rsplit(".", 1)[1]
    ]
    message.add_attachment(payload, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes(policy=email.policy.SMTP)


def root() -> Actor:
    return Actor(0, "root@example.test", True)


def test_a_message_refused_by_dmarc_is_counted_with_its_disposition(users, smtp_ports):
    with smtplib.SMTP("127.0.0.1", smtp_ports["smtp"]) as client:
        client.ehlo("mx.strict.test")
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail(
                "bob@strict.test",
                ["alice@example.test"],
                b"From: bob@strict.test\r\nTo: alice@example.test\r\nSubject: x\r\n\r\nHi.\r\n",
            )
    assert refused.value.smtp_code == 550
    [row] = store.dmarc_verdicts(TODAY)
    assert (
        row.header_from,
        row.source_ip,
        row.envelope_from,
        row.spf,
        row.policy_spf,
        row.policy_dkim,
        row.disposition,
        row.count,
    ) == ("strict.test", "127.0.0.1", "strict.test", "fail", "fail", "fail", "reject", 1)


@pytest.mark.parametrize("kind", ["gz", "zip", "xml"])
def test_a_report_mailed_to_the_report_address_reaches_the_dashboard(users, smtp_ports, kind):
    store.create_account("dmarc-reports@example.test", "reports-secret")
    xml = report_xml()
    payload = {"gz": gzip.compress(xml), "zip": zipped(xml), "xml": xml}[kind]
    with smtplib.SMTP("127.0.0.1", smtp_ports["smtp"]) as client:
        client.sendmail(
            "noreply@reports.example",
            ["dmarc-reports@example.test"],
            report_mail(payload, f"reports.example!example.test!{BEGIN}!{BEGIN + 86399}.{kind}"),
        )
    summary = store.admin_dmarc_senders(root(), "example.test")
    assert summary.reports == 1
    assert [(s.source_ip, s.reporter, s.count, s.spf_rate, s.dkim_rate, s.dmarc_rate) for s in summary.senders] == [
        ("192.0.2.1", "Big Mailbox Provider", 40, 100, 100, 100),
        ("198.51.100.7", "Big Mailbox Provider", 10, 100, 0, 100),
        ("203.0.113.9", "Big Mailbox Provider", 5, 0, 0, 0),
    ]


def test_the_same_report_twice_and_reports_about_other_domains_are_not_kept(users):
    assert store.take_dmarc_report(report_mail(gzip.compress(report_xml()), "a.xml.gz")) == 1
    assert store.take_dmarc_report(report_mail(gzip.compress(report_xml()), "a.xml.gz")) == 0
    assert store.take_dmarc_report(report_mail(gzip.compress(report_xml("elsewhere.example")), "b.xml.gz")) == 0
    assert store.admin_dmarc_senders(root(), "example.test").reports == 1


def test_a_domain_admin_sees_only_reports_about_the_domains_they_manage(users):
    store.take_dmarc_report(report_mail(report_xml(), "a.xml"))
    charlie = Actor(users["charlie@other.test"].id, "charlie@other.test", False, frozenset({-1}))
    with pytest.raises(store.NoSuchDomain):
        store.admin_dmarc_senders(charlie, "example.test")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE feedback [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<feedback><report_metadata><org_name>&b;</org_name></report_metadata></feedback>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE feedback [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<feedback><report_metadata><org_name>&secret;</org_name></report_metadata></feedback>"""


@pytest.mark.parametrize(
    "data",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        report_xml().replace(b"<feedback>", b"<feedbag>").replace(b"</feedback>", b"</feedbag>"),
        b"<feedback><unclosed></feedback>",
        report_xml().replace(b"<count>40</count>", b"<count>-4</count>"),
        report_xml().replace(b"<source_ip>192.0.2.1<", b"<source_ip>not-an-ip<"),
    ],
    ids=["entity-expansion", "external-entity", "wrong-root", "not-well-formed", "negative-count", "bad-ip"],
)
def test_hostile_or_broken_xml_is_refused(data):
    with pytest.raises(dmarc_xml.NotAReport):
        dmarc_xml.parse_report(data)


def test_a_compressed_report_that_inflates_past_the_limit_is_refused(monkeypatch):
    bomb = gzip.compress(b"<" + b" " * (dmarc_xml.MAX_XML + 10))
    with pytest.raises(dmarc_xml.NotAReport, match="inflates"):
        dmarc_xml.unpack(bomb)
    with pytest.raises(dmarc_xml.NotAReport, match="inflates"):
        dmarc_xml.unpack(zipped(b"<" + b" " * (dmarc_xml.MAX_XML + 10)))
    with pytest.raises(dmarc_xml.NotAReport, match="too big"):
        dmarc_xml.unpack(b"<" + b" " * dmarc_xml.MAX_COMPRESSED)


def test_a_namespaced_report_of_the_successor_format_is_read():
    xml = report_xml().replace(b"<feedback>", b'<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">')
    report = dmarc_xml.parse_report(xml)
    assert report.domain == "example.test" and [r.count for r in report.rows] == [40, 10, 5]


def test_a_report_mailed_to_anyone_but_the_report_address_is_only_delivered(users, smtp_ports):
    with smtplib.SMTP("127.0.0.1", smtp_ports["smtp"]) as client:
        client.sendmail(
            "noreply@reports.example",
            ["bob@example.test"],
            report_mail(gzip.compress(report_xml()), "r.xml.gz", to="bob@example.test"),
        )
    assert store.admin_dmarc_senders(root(), "example.test").reports == 0
    assert len(store.select_folder(users["bob@example.test"].id, "INBOX").uids) == 1
