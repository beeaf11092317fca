"""Inbound SPF, DKIM and DMARC, with every lookup answered by a DNS server on
127.0.0.1 that the test runs."""

from __future__ import annotations

import base64

import pytest

from mailboxes import store
from protocols.relay import authcheck, dkimsign

from .helpers import DnsServer, txt

GOOD_IP, BAD_IP = "192.0.2.10", "192.0.2.99"


@pytest.fixture(scope="module")
def signing_key() -> store.DkimKeyInfo:
    """An RSA-2048 key of sender.test, a domain that is not ours."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    public = base64.b64encode(
        key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).decode()
    return store.DkimKeyInfo(
        "sender.test", "mail", "rsa", pem, "mail._domainkey.sender.test", f"v=DKIM1; k=rsa; p={public}"
    )


@pytest.fixture(scope="module")
def dns_server(signing_key):  # type: ignore[no-untyped-def]
    server = DnsServer(
        {
            "sender.test": [("TXT", txt(f"v=spf1 ip4:{GOOD_IP} -all"))],
            "_dmarc.sender.test": [("TXT", txt("v=DMARC1; p=reject; rua=mailto:d@sender.test"))],
            "mail._domainkey.sender.test": [("TXT", txt(signing_key.dns_txt))],
            "news.sender.test": [],
            "soft.test": [("TXT", txt("v=spf1 ~all"))],
            "_dmarc.soft.test": [("TXT", txt("v=DMARC1; p=quarantine"))],
        }
    )
    yield server
    server.close()


def message(author: str, *, signed_with=None, tamper: bool = False) -> bytes:  # type: ignore[no-untyped-def]
    raw = (
        f"From: Bob <bob@{author}>\r\nTo: alice@example.test\r\nSubject: Checked\r\n"
        f"Date: Mon, 30 Nov 2026 07:00:00 +0000\r\nMessage-ID: <1@{author}>\r\n\r\nHello.\r\n"
    ).encode()
    if signed_with is not None:
        raw = dkimsign.sign(raw, author, keys=lambda domain: signed_with if domain == author else None)
    return raw.replace(b"Hello.", b"Hello!") if tamper else raw


CASES = [
    # id, author, envelope sender, peer, signed, tampered -> spf, dkim, dmarc, reject
    (
        "signed-from-an-allowed-host",
        "sender.test",
        "bob@sender.test",
        GOOD_IP,
        True,
        False,
        "pass",
        "pass",
        "pass",
        False,
    ),
    (
        "unsigned-from-a-foreign-host",
        "sender.test",
        "bob@sender.test",
        BAD_IP,
        False,
        False,
        "fail",
        "none",
        "fail",
        True,
    ),
    (
        "unsigned-from-an-allowed-host",
        "sender.test",
        "bob@sender.test",
        GOOD_IP,
        False,
        False,
        "pass",
        "none",
        "pass",
        False,
    ),
    (
        "signed-from-a-foreign-host",
        "sender.test",
        "bob@sender.test",
        BAD_IP,
        True,
        False,
        "fail",
        "pass",
        "pass",
        False,
    ),
    (
        "tampered-from-a-foreign-host",
        "sender.test",
        "bob@sender.test",
        BAD_IP,
        True,
        True,
        "fail",
        "fail",
        "fail",
        True,
    ),
    (
        "subdomain-author-relaxed-alignment",
        "news.sender.test",
        "bounce@sender.test",
        GOOD_IP,
        False,
        False,
        "pass",
        "none",
        "pass",
        False,
    ),
    (
        "domain-without-records",
        "elsewhere.test",
        "bob@elsewhere.test",
        BAD_IP,
        False,
        False,
        "none",
        "none",
        "none",
        False,
    ),
    (
        "quarantine-policy-is-only-marked",
        "soft.test",
        "bob@soft.test",
        BAD_IP,
        False,
        False,
        "softfail",
        "none",
        "fail",
        False,
    ),
]


@pytest.mark.parametrize(
    "author, sender, peer, signed, tampered, spf, dkim, dmarc, reject",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_inbound_mail_gets_spf_dkim_and_dmarc_results(
    dns_server, signing_key, author, sender, peer, signed, tampered, spf, dkim, dmarc, reject
):
    raw = message(author, signed_with=signing_key if signed else None, tamper=tampered)
    verdict = authcheck.check(
        raw, peer_ip=peer, helo="mx.sender.test", mail_from=sender, resolver=dns_server.resolver()
    )
    assert (verdict.spf, verdict.dkim[0][0] if verdict.dkim else "none", verdict.dmarc, verdict.reject) == (
        spf,
        dkim,
        dmarc,
        reject,
    )
    assert f"spf={spf} smtp.mailfrom={sender}" in verdict.header
    assert f"dmarc={dmarc}" in verdict.header


def test_the_header_follows_rfc_8601_and_replaces_a_forged_one(dns_server, signing_key, settings):
    settings.MAIL_HOSTNAME = "mx.example.test"
    forged = b"Authentication-Results: mx.example.test;\r\n\tdkim=pass header.d=sender.test\r\n"
    other = b"Authentication-Results: elsewhere.example; spf=pass\r\n"
    raw = forged + other + message("sender.test", signed_with=signing_key)
    verdict = authcheck.check(
        raw, peer_ip=GOOD_IP, helo="mx.sender.test", mail_from="bob@sender.test", resolver=dns_server.resolver()
    )
    assert verdict.header == (
        "Authentication-Results: mx.example.test;\r\n"
        "\tspf=pass smtp.mailfrom=bob@sender.test;\r\n"
        "\tspf=none smtp.helo=mx.sender.test;\r\n"
        "\tdkim=pass header.d=sender.test header.s=mail;\r\n"
        "\tdmarc=pass (p=reject) header.from=sender.test\r\n"
    )
    stamped = verdict.apply(raw)
    assert stamped.startswith(verdict.header.encode())
    assert forged not in stamped and other in stamped


def test_a_dmarc_reject_failure_is_only_marked_when_the_setting_says_so(dns_server, settings):
    settings.MAIL_DMARC_REJECT = False
    verdict = authcheck.check(
        message("sender.test"),
        peer_ip=BAD_IP,
        helo="mx.sender.test",
        mail_from="bob@sender.test",
        resolver=dns_server.resolver(),
    )
    assert verdict.dmarc == "fail" and verdict.dmarc_policy == "reject"
    assert not verdict.reject


def test_a_null_sender_is_checked_by_its_helo_name(dns_server):
    verdict = authcheck.check(
        message("sender.test"), peer_ip=GOOD_IP, helo="sender.test", mail_from="", resolver=dns_server.resolver()
    )
    assert verdict.spf == verdict.spf_helo == "pass"
    assert "smtp.mailfrom" not in verdict.header and "spf=pass smtp.helo=sender.test" in verdict.header


@pytest.mark.parametrize("authenticated", [True, False])
def test_the_data_handler_entry_point_checks_only_unauthenticated_mail(dns_server, settings, authenticated):
    import asyncio

    settings.MAIL_DNS_NAMESERVERS = [f"127.0.0.1:{dns_server.port}"]
    verdict = asyncio.run(
        authcheck.check_inbound(
            message("sender.test"),
            peer_ip=BAD_IP,
            helo="mx.sender.test",
            mail_from="bob@sender.test",
            authenticated=authenticated,
        )
    )
    if authenticated:
        assert verdict is None
    else:
        assert verdict is not None and verdict.reject and verdict.smtp_reply.startswith("550 5.7.1 ")


@pytest.mark.parametrize(
    "raw, results",
    [
        (b"From: a@x.test\r\nnot a field\r\n\r\nbody\r\n", [("permerror", "", "")]),  # dkimpy refuses it
        (b"From: a@x.test\r\n\r\nDKIM-Signature: v=1; d=x.test; s=s\r\n", []),  # in the body: unsigned
        (b"From: a@x.test\n\nbody\n", []),
    ],
)
def test_an_unsigned_or_unparseable_message_gets_its_dkim_result_from_the_header_section(raw, results):
    assert authcheck._dkim(raw) == results
