"""The TLS-ALPN-01 responder (RFC 8737) on its own: a client that asks as
an ACME server does (SNI, ALPN acme-tls/1) gets the self-signed challenge
certificate for that name with the critical acmeIdentifier extension; one
asking for another name gets no certificate. tests/tls/test_acme.py runs it
against pebble."""

from __future__ import annotations

import hashlib
import socket
import ssl
from collections.abc import Iterator

import pytest
from cryptography import x509

from protocols import acme_alpn

NAME = "mail.example.test"
KEY_AUTHORIZATION = "token-abc.thumbprint-xyz"


@pytest.fixture
def responder() -> Iterator[acme_alpn.Responder]:
    with acme_alpn.Responder(0, "127.0.0.1") as running:
        running.add(NAME, KEY_AUTHORIZATION)
        yield running


def _handshake(port: int, name: str) -> tuple[x509.Certificate, str | None]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.set_alpn_protocols([acme_alpn.ALPN_PROTOCOL])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        return x509.load_der_x509_certificate(der), tls.selected_alpn_protocol()


def test_an_acme_server_gets_the_challenge_certificate_for_the_name_it_asks_for(responder):
    certificate, protocol = _handshake(responder.port, NAME)
    assert protocol == "acme-tls/1"
    assert certificate.subject == certificate.issuer  # self-signed
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [NAME]
    extension = certificate.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31"))
    assert extension.critical
    assert extension.value.value == b"\x04\x20" + hashlib.sha256(KEY_AUTHORIZATION.encode()).digest()


def test_a_name_without_a_challenge_gets_no_certificate_and_the_responder_carries_on(responder):
    with pytest.raises(ssl.SSLError):
        _handshake(responder.port, "other.example.test")
    assert _handshake(responder.port, NAME.upper())[1] == "acme-tls/1"  # names are case-blind
