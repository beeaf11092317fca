"""DANE in the relay (RFC 7672): TLSA records from the suite's loopback DNS,
with or without the AD bit, against a local MX whose certificate matches or
does not; DANE-EE 3 1 1 and DANE-TA 2 1 1; DANE before MTA-STS; DANE only
behind a secure MX RRset, and what a failed TLSA lookup does either way."""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conftest import sample_message
from mailboxes import store
from protocols.relay import dane, deliver
from tests.certs import TestCa, spki_sha256

from .helpers import DnsServer, Sink, txt

DOMAIN, MX_HOST = "example.net", "mx.example.net"


# --- matching, table-driven ---------------------------------------------------


@pytest.fixture(scope="module")
def leaf(tmp_path_factory) -> tuple[TestCa, bytes]:  # type: ignore[no-untyped-def]
    ca = TestCa(tmp_path_factory.mktemp("ca"))
    cert_path, _ = ca.issue([MX_HOST])
    return ca, x509.load_pem_x509_certificate(cert_path.read_bytes()).public_bytes(serialization.Encoding.DER)


def _tlsa(text: str) -> dane.Tlsa:
    usage, selector, mtype, data = text.split()
    return dane.Tlsa(int(usage), int(selector), int(mtype), bytes.fromhex(data))


def test_a_dane_ee_record_matches_the_leaf_by_spki_or_whole_certificate_and_each_hash(leaf):
    ca, der = leaf
    certificate = x509.load_der_x509_certificate(der)
    spki = bytes.fromhex(spki_sha256(certificate))
    assert dane.matches(dane.Tlsa(3, 1, 1, spki), der)
    assert dane.matches(dane.Tlsa(3, 0, 1, hashlib.sha256(der).digest()), der)
    assert dane.matches(dane.Tlsa(3, 0, 2, hashlib.sha512(der).digest()), der)
    assert dane.matches(dane.Tlsa(3, 0, 0, der), der)
    assert not dane.matches(dane.Tlsa(3, 1, 1, bytes(32)), der)
    assert dane.verify((dane.Tlsa(3, 1, 1, spki),), [der], "any.name.test") is None  # names do not count (3.1.1)


@pytest.mark.parametrize(
    "usage, selector, mtype, usable",
    [
        (3, 1, 1, True),
        (2, 0, 1, True),
        (2, 1, 2, True),
        (1, 1, 1, False),
        (0, 0, 1, False),
        (3, 2, 1, False),
        (3, 1, 3, False),
    ],
)
def test_only_dane_ta_and_dane_ee_records_with_known_selectors_and_types_are_usable(usage, selector, mtype, usable):
    assert dane.Tlsa(usage, selector, mtype, b"").usable is usable


# --- the relay against a local MX ---------------------------------------------


@pytest.fixture
def ca(tmp_path: Path, monkeypatch) -> TestCa:  # type: ignore[no-untyped-def]
    authority = TestCa(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.pem))
    return authority


def _zone(
    settings,
    records: dict[str, list[tuple[str, str]]],
    secure: bool,  # type: ignore[no-untyped-def]
    **dns_options,
) -> DnsServer:
    """The destination's MX record and the given records, all with or without
    the AD bit (dns_options: the names DnsServer answers insecurely or fails)."""
    server = DnsServer({DOMAIN: [("MX", f"10 {MX_HOST}.")], **records}, secure=secure, **dns_options)
    settings.MAIL_DNS_NAMESERVERS = [f"127.0.0.1:{server.port}"]
    return server


def _leaf_spki(ca: TestCa, names: list[str], *, expired: bool = False) -> tuple[ssl.SSLContext, str]:
    cert_path, key_path = ca.issue(names, expired=expired)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_path), str(key_path))
    return context, spki_sha256(x509.load_pem_x509_certificate(cert_path.read_bytes()))


def _relay(
    alice,
    settings,
    sink: Sink,
    dns_server: DnsServer,  # type: ignore[no-untyped-def]
    mx_host: str = MX_HOST,
) -> tuple[str, str]:
    settings.MAIL_RELAY_MX_OVERRIDE = f"{DOMAIN}={mx_host}@127.0.0.1:{sink.port}"
    address = f"bob@{DOMAIN}"
    try:
        store.deliver(sample_message(to=address), [address], "alice@example.test", sender_account_id=alice.id)
        deliver.run()
    finally:
        sink.close()
        dns_server.close()
    [row] = store.outbound_recipients(address=address)
    return row.state, row.last_error


def _tlsa_name(sink: Sink) -> str:
    return f"_{sink.port}._tcp.{MX_HOST}"


@pytest.mark.parametrize(
    "matching, secure, state",
    [
        (True, True, "sent"),
        (False, True, "deferred"),  # a secure record that does not match: never delivered elsewhere
        (False, False, "sent"),  # without the AD bit the records do not count: opportunistic
    ],
)
def test_dane_ee_delivers_only_to_the_key_a_secure_tlsa_record_pins(alice, ca, settings, matching, secure, state):
    # An expired certificate for another name: DANE-EE checks the key only.
    context, spki = _leaf_spki(ca, ["not-the-mx.example.org"], expired=True)
    sink = Sink(tls_context=context)
    data = spki if matching else "00" * 32
    dns_server = _zone(settings, {_tlsa_name(sink): [("TLSA", f"3 1 1 {data}")]}, secure)
    got, error = _relay(alice, settings, sink, dns_server)
    assert got == state, error
    assert len(sink.handler.messages) == (1 if state == "sent" else 0)
    if state == "deferred":
        assert "DANE: mx.example.net: no TLSA record matches the certificate" in error


@pytest.mark.parametrize("names, state", [([MX_HOST], "sent"), (["other.example.org"], "deferred")])
def test_dane_ta_needs_the_chain_to_reach_the_pinned_authority_and_the_leaf_to_name_the_mx(
    alice, ca, settings, names, state
):
    sink = Sink(tls_context=ca.server_context(names, chain=True))
    dns_server = _zone(settings, {_tlsa_name(sink): [("TLSA", f"2 1 1 {ca.spki_sha256()}")]}, secure=True)
    got, error = _relay(alice, settings, sink, dns_server)
    assert got == state, error
    if state == "deferred":
        assert "does not chain to the DANE-TA anchor" in error


def test_secure_tlsa_records_make_tls_mandatory_even_where_none_is_usable(alice, ca, settings):
    sink = Sink()  # offers no STARTTLS
    dns_server = _zone(settings, {_tlsa_name(sink): [("TLSA", "1 1 1 " + "00" * 32)]}, secure=True)
    got, error = _relay(alice, settings, sink, dns_server)
    assert got == "deferred" and "does not offer STARTTLS" in error


def test_dane_takes_precedence_over_an_mta_sts_policy(alice, ca, settings):
    """An enforce policy naming another MX would defer; the host's DANE record
    is what counts (RFC 8461 2), so the mail goes."""
    from .test_mta_sts import PolicyServer, policy

    policy_server = PolicyServer(ca.server_context([f"mta-sts.{DOMAIN}"]))
    policy_server.body = policy("enforce", mx="*.elsewhere.example")
    settings.MAIL_RELAY_MTA_STS_PORT = policy_server.port
    context, spki = _leaf_spki(ca, [MX_HOST])
    sink = Sink(tls_context=context)
    dns_server = _zone(
        settings,
        {
            _tlsa_name(sink): [("TLSA", f"3 1 1 {spki}")],
            f"_mta-sts.{DOMAIN}": [("TXT", txt("v=STSv1; id=1;"))],
            f"mta-sts.{DOMAIN}": [("A", "127.0.0.1")],
        },
        secure=True,
    )
    try:
        got, error = _relay(alice, settings, sink, dns_server)
    finally:
        policy_server.close()
    assert got == "sent", error
    assert policy_server.requests == 0  # not even fetched


# --- the MX RRset must be secure first (RFC 7672 2.2.1) ------------------------


def test_an_insecure_mx_rrset_gets_no_dane_and_its_host_tlsa_records_are_not_even_asked_for(alice, ca, settings):
    context, _ = _leaf_spki(ca, [MX_HOST])
    sink = Sink(tls_context=context)
    # The TLSA record is secure but pins another key: it would defer were DANE applied.
    dns_server = _zone(settings, {_tlsa_name(sink): [("TLSA", "3 1 1 " + "00" * 32)]}, secure=True, insecure=[DOMAIN])
    got, error = _relay(alice, settings, sink, dns_server)
    assert got == "sent", error
    assert (DOMAIN, "MX") in dns_server.queries
    assert (_tlsa_name(sink), "TLSA") not in dns_server.queries


@pytest.mark.parametrize("mx_secure, state", [(False, "sent"), (True, "deferred")])
def test_a_failed_tlsa_lookup_defers_only_behind_a_secure_mx(alice, ca, settings, mx_secure, state):
    """A SERVFAIL (or timeout) for the host's TLSA records: behind a secure MX
    the host cannot be used now (the records may be there, an attacker may be
    hiding them); behind an insecure one DANE does not apply, so the lookup
    is not made and cannot hold the mail up."""
    context, _ = _leaf_spki(ca, [MX_HOST])
    sink = Sink(tls_context=context)
    dns_server = _zone(settings, {}, secure=True, insecure=[] if mx_secure else [DOMAIN], failing=[_tlsa_name(sink)])
    got, error = _relay(alice, settings, sink, dns_server)
    assert got == state, error
    assert len(sink.handler.messages) == (1 if state == "sent" else 0)
    if state == "deferred":
        assert "TLSA lookups for every mail host of example.net failed" in error


def test_a_domain_without_mx_records_is_its_own_secure_mx_when_its_nodata_answer_is_secure(alice, ca, settings):
    """RFC 5321 5.1's implicit MX: a secure NODATA for MX counts as a secure
    MX RRset, so the domain's own TLSA records apply."""
    context, _ = _leaf_spki(ca, [DOMAIN])
    sink = Sink(tls_context=context)
    dns_server = DnsServer(
        {DOMAIN: [("A", "127.0.0.1")], f"_{sink.port}._tcp.{DOMAIN}": [("TLSA", "3 1 1 " + "00" * 32)]}, secure=True
    )
    settings.MAIL_DNS_NAMESERVERS = [f"127.0.0.1:{dns_server.port}"]
    state, error = _relay(alice, settings, sink, dns_server, mx_host=DOMAIN)
    assert state == "deferred" and "no TLSA record matches the certificate" in error


@pytest.mark.parametrize(
    "zone, secure, expected",
    [
        ({DOMAIN: [("MX", f"10 {MX_HOST}.")]}, True, ([MX_HOST], True)),
        ({DOMAIN: [("MX", f"10 {MX_HOST}.")]}, False, ([MX_HOST], False)),
        ({DOMAIN: [("A", "127.0.0.1")]}, True, ([DOMAIN], True)),  # secure NODATA: the implicit MX
        ({DOMAIN: [("A", "127.0.0.1")]}, False, ([DOMAIN], False)),
    ],
)
def test_the_mx_lookup_tells_whether_the_resolver_vouched_for_the_answer(zone, secure, expected):
    from protocols.relay import mx

    server = DnsServer(zone, secure=secure)
    try:
        answer = mx.mx_lookup(DOMAIN, dane.dnssec_resolver(server.resolver()))
    finally:
        server.close()
    assert (answer.hosts, answer.secure) == expected
