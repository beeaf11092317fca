"""The DNS page's TLS records: our TLSA (DANE-EE 3 1 1 of the live
certificate's key) at _25._tcp.MAIL_HOSTNAME and _smtp._tls (RFC 8460 3);
"check now" finds a published TLSA record as the same, spacing and case aside."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mailboxes.dashboard.dnscheck import check_records, expected_records
from protocols.tls import generate_self_signed
from tests.dashboard.conftest import Team, client_as, make_team
from tests.relay.helpers import DnsServer


@pytest.fixture
def team(db) -> Team:  # type: ignore[no-untyped-def]
    return make_team()


def test_the_dns_page_lists_the_tlsa_record_of_the_live_certificate_key(team: Team, settings, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    generate_self_signed(cert, key, "mail.example.test")
    settings.MAIL_TLS_CERT, settings.MAIL_TLS_KEY, settings.MAIL_HOSTNAME = str(cert), str(key), "mail.example.test"
    spki = (
        x509.load_pem_x509_certificate(cert.read_bytes())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    page = client_as(team, "admin_a").get("/manage/domains/example.test/dns/").content.decode()
    assert f"_25._tcp.mail.example.test. 3600 IN TLSA 3 1 1 {hashlib.sha256(spki).hexdigest()}" in page
    assert "_smtp._tls.example.test. 3600 IN TXT &quot;v=TLSRPTv1; rua=mailto:postmaster@example.test&quot;" in page


def test_check_now_finds_a_published_tlsa_record_whatever_its_spacing_and_case() -> None:
    data = "ab" * 32
    records = [
        r
        for r in expected_records("example.test", hostname="mail.example.test", ports={}, dkim=[], tlsa=f"3 1 1 {data}")
        if r.rtype == "TLSA"
    ]
    server = DnsServer({"_25._tcp.mail.example.test": [("TLSA", f"3 1 1 {data.upper()[:32]} {data.upper()[32:]}")]})
    try:
        [check] = check_records(records, [f"127.0.0.1:{server.port}"])
    finally:
        server.close()
    assert check.status == "found", check
