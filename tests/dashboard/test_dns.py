"""The DNS page: the records a domain publishes, and "check now" against a
real DNS server (a tiny one on 127.0.0.1, see dnsserver.py)."""

from __future__ import annotations

import pytest

from mailboxes import store
from mailboxes.dashboard.dnscheck import check_records, expected_records, quote_txt

from .conftest import client_as
from .dnsserver import TinyDns

HOST = "mx.example.net"
PORTS = {
    "smtp": 25,
    "submission": 587,
    "smtps": 465,
    "imap": 143,
    "imaps": 993,
    "pop3": 0,
    "pop3s": 995,
    "pop2": 109,
    "managesieve": 4190,
}


def records(dkim: list[tuple[str, str]] | None = None):  # type: ignore[no-untyped-def]
    return expected_records("example.test", hostname=HOST, ports=PORTS, dkim=dkim or [])


def by_name(recs) -> dict[tuple[str, str], str]:  # type: ignore[no-untyped-def]
    return {(r.name, r.rtype): r.value for r in recs}


def test_the_records_cover_mail_routing_authentication_and_client_discovery():
    table = by_name(records([("mail._domainkey.example.test", "v=DKIM1; k=rsa; p=AAAA")]))
    assert table == {
        ("example.test", "MX"): "10 mx.example.net.",
        ("example.test", "TXT"): "v=spf1 mx -all",
        ("mail._domainkey.example.test", "TXT"): "v=DKIM1; k=rsa; p=AAAA",
        ("_dmarc.example.test", "TXT"): "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.test",
        ("_submissions._tcp.example.test", "SRV"): "0 1 465 mx.example.net.",
        ("_submission._tcp.example.test", "SRV"): "10 1 587 mx.example.net.",
        ("_imaps._tcp.example.test", "SRV"): "0 1 993 mx.example.net.",
        ("_imap._tcp.example.test", "SRV"): "10 1 143 mx.example.net.",
        ("_pop3s._tcp.example.test", "SRV"): "10 1 995 mx.example.net.",
        ("_pop3._tcp.example.test", "SRV"): "0 0 0 .",  # off: "not available here" (RFC 6186 3.4)
        ("_sieve._tcp.example.test", "SRV"): "0 1 4190 mx.example.net.",  # ManageSieve (RFC 5804 1.8)
        ("autoconfig.example.test", "CNAME"): "mx.example.net.",
        ("autodiscover.example.test", "CNAME"): "mx.example.net.",
        ("_smtp._tls.example.test", "TXT"): "v=TLSRPTv1; rua=mailto:postmaster@example.test",
    }


def test_long_txt_values_are_split_into_255_octet_strings_for_zone_files():
    value = "v=DKIM1; k=rsa; p=" + "A" * 400
    quoted = quote_txt(value)
    assert quoted.count('"') == 4 and len(quoted.split('" "')[0]) == 256
    line = records([("s._domainkey.example.test", value)])[2].zone_line()
    assert line.startswith('s._domainkey.example.test. 3600 IN TXT "v=DKIM1;')


def test_check_now_tells_found_missing_different_and_error_apart():
    dkim_value = "v=DKIM1; k=rsa; p=" + "B" * 300
    published = {
        ("example.test", "MX"): ["20 MX.example.net."],  # other preference: still ours
        ("example.test", "TXT"): ["google-site-verification=x", "v=spf1 a -all"],  # an SPF, but another
        ("mail._domainkey.example.test", "TXT"): ["v=DKIM1; p=" + "B" * 300],  # k= omitted: same key
        ("_submissions._tcp.example.test", "SRV"): ["5 0 465 mx.example.net."],
        ("_submission._tcp.example.test", "SRV"): ["10 1 2525 mx.example.net."],
        ("_pop3._tcp.example.test", "SRV"): ["0 0 0 ."],
        ("autoconfig.example.test", "CNAME"): ["mx.example.net."],
    }
    with TinyDns(published, failing=("_imaps._tcp.example.test",)) as server:
        checks = check_records(records([("mail._domainkey.example.test", dkim_value)]), [server.address])
    status = {(c.record.name, c.record.rtype): c.status for c in checks}
    assert status == {
        ("example.test", "MX"): "found",
        ("example.test", "TXT"): "different",
        ("mail._domainkey.example.test", "TXT"): "found",
        ("_dmarc.example.test", "TXT"): "missing",
        ("_submissions._tcp.example.test", "SRV"): "found",
        ("_submission._tcp.example.test", "SRV"): "different",
        ("_imaps._tcp.example.test", "SRV"): "error",
        ("_imap._tcp.example.test", "SRV"): "missing",
        ("_pop3s._tcp.example.test", "SRV"): "missing",
        ("_pop3._tcp.example.test", "SRV"): "found",
        ("_sieve._tcp.example.test", "SRV"): "missing",
        ("autoconfig.example.test", "CNAME"): "found",
        ("autodiscover.example.test", "CNAME"): "missing",
        ("_smtp._tls.example.test", "TXT"): "missing",
    }
    spf = next(c for c in checks if c.record.value.startswith("v=spf1"))
    assert spf.seen == ("v=spf1 a -all",)  # other TXT records are not SPF's business


def test_the_dns_page_shows_the_records_and_checks_them_on_request(team, settings, tmp_path):
    settings.MAIL_HOSTNAME = HOST
    settings.MAIL_PORTS = PORTS
    from protocols.tls import generate_self_signed  # a certificate, so the page lists its TLSA record

    generate_self_signed(tmp_path / "cert.pem", tmp_path / "key.pem", HOST)
    settings.MAIL_TLS_CERT, settings.MAIL_TLS_KEY = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    key = store.generate_dkim_key("example.test", "mail", "ed25519")
    client = client_as(team, "admin_a")
    page = client.get("/manage/domains/example.test/dns/").content.decode()
    for text in (
        "example.test. 3600 IN MX 10 mx.example.net.",
        "_imaps._tcp.example.test. 3600 IN SRV 0 1 993",
        "_dmarc.example.test. 3600 IN TXT",
        "mail._domainkey.example.test. 3600 IN TXT",
        "autoconfig.example.test. 3600 IN CNAME mx.example.net.",
    ):
        assert text in page, text
    assert "In the DNS now" not in page
    published = {("example.test", "MX"): ["10 mx.example.net."], ("mail._domainkey.example.test", "TXT"): [key.dns_txt]}
    with TinyDns(published) as server:
        settings.MAIL_DNS_NAMESERVERS = [server.address]
        page = client.post("/manage/domains/example.test/dns/", {"check": "1"}).content.decode()
    assert "2 found" in page and "13 missing" in page  # 10, _sieve._tcp, our _smtp._tls and our TLSA
    assert ("mail._domainkey.example.test", "TXT") in server.questions


@pytest.mark.parametrize("nameservers", [["127.0.0.1:9"]])
def test_a_dns_server_that_does_not_answer_is_an_error_not_a_crash(nameservers):
    from mailboxes.dashboard import dnscheck
    from mailboxes.dns import make_resolver

    resolver = make_resolver(nameservers, lifetime=0.5, cache=False)
    check = dnscheck.check_one(records()[0], resolver)
    assert check.status == "error" and check.seen


def test_check_now_sees_a_record_changed_since_the_last_check(team, settings):
    """The relay's resolver keeps answers for their TTL (300 s here); the
    dashboard's must not, or a fixed record would look wrong for minutes."""
    from mailboxes.dns import default_resolver

    settings.MAIL_HOSTNAME = HOST
    settings.MAIL_PORTS = PORTS
    client = client_as(team, "admin_a")
    with TinyDns({("example.test", "MX"): ["10 old.example.net."]}) as server:
        settings.MAIL_DNS_NAMESERVERS = [server.address]
        default_resolver().resolve("example.test.", "MX", search=False)  # the shared cache holds the old MX
        page = client.post("/manage/domains/example.test/dns/", {"check": "1"}).content.decode()
        assert "1 different" in page and "1 found" not in page
        server.records[("example.test", "MX")] = ["10 mx.example.net."]
        page = client.post("/manage/domains/example.test/dns/", {"check": "1"}).content.decode()
    assert "1 found" in page
    assert server.questions.count(("example.test", "MX")) == 3
