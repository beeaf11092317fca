"""ACME (RFC 8555) against Debian's pebble: `manage.py certificate` answers
HTTP-01 from the web app (pytest-django's live_server, challenges in the
database), writes 0600 files, and a running worker serves the new pair to
new clients while an open IMAP session carries on; the renewal waits for two
thirds of the lifetime and keeps the key."""

from __future__ import annotations

import contextlib
import datetime
import imaplib
import io
import socket
import ssl
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import CommandError, call_command

from mailboxes.models import AcmeChallenge, Domain
from protocols import acme
from protocols.tls import generate_self_signed
from tests.relay.helpers import DnsServer
from tests.servers import SubprocessServer

from .pebble import PEBBLE, Pebble, free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(PEBBLE is None, reason="needs Debian's pebble (apt-get install pebble)"),
]

HOSTNAME = "mail.example.test"


@contextlib.contextmanager
def _pebble(
    settings,
    tmp_path: Path,
    monkeypatch,
    *,
    http_port: int,
    tls_port: int = 0,  # type: ignore[no-untyped-def]
    names: tuple[str, ...] = (),
) -> Iterator[Pebble]:
    """pebble validating HTTP-01 on http_port and TLS-ALPN-01 on tls_port,
    HOSTNAME (and names) resolving to loopback through the DNS server that
    MAIL_DNS_NAMESERVERS names too; our certificate files start as a
    self-signed pair."""
    dns = DnsServer({name: [("A", "127.0.0.1")] for name in (HOSTNAME, *names)})
    settings.MAIL_DNS_NAMESERVERS = [f"127.0.0.1:{dns.port}"]
    pebble = Pebble(http_port=http_port, dns_port=dns.port, tls_port=tls_port)
    cert, key = tmp_path / "tls" / "cert.pem", tmp_path / "tls" / "key.pem"
    generate_self_signed(cert, key, "self-signed.example.test")
    settings.MAIL_HOSTNAME, settings.MAIL_ACME_DIRECTORY = HOSTNAME, pebble.directory
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, HOSTNAME]  # as MAIL_HOSTNAME is by default
    settings.MAIL_TLS_CERT, settings.MAIL_TLS_KEY, settings.VAR_DIR = str(cert), str(key), tmp_path / "var"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pebble.ca_bundle))
    try:
        yield pebble
    finally:
        pebble.close()
        dns.close()


@pytest.fixture
def ca(live_server, settings, tmp_path: Path, monkeypatch) -> Iterator[Pebble]:  # type: ignore[no-untyped-def]
    """pebble validating HTTP-01 against the live server's port."""
    with _pebble(settings, tmp_path, monkeypatch, http_port=urlsplit(live_server.url).port or 80) as pebble:
        yield pebble


def _served_certificate(port: int, root_pem: bytes) -> bytes:
    """The certificate a new client gets, verified for HOSTNAME against root_pem."""
    context = ssl.create_default_context(cadata=root_pem.decode())
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=HOSTNAME) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        return der


def _unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context


def test_the_certificate_command_answers_http01_from_the_web_app_and_a_running_worker_serves_the_new_pair(
    ca: Pebble, settings, users
) -> None:
    cert, key = Path(settings.MAIL_TLS_CERT), Path(settings.MAIL_TLS_KEY)
    env = {"MAIL_TLS_CERT": str(cert), "MAIL_TLS_KEY": str(key), "MAIL_TLS_RELOAD_INTERVAL": "1"}
    with SubprocessServer("imaps", env) as server:
        port = server.ports["imaps"]
        open_session = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=_unverified(), timeout=10)
        open_session.login("alice@example.test", "alice-secret")
        old = open_session.sock.getpeercert(binary_form=True)

        call_command("certificate")

        assert not AcmeChallenge.objects.exists()  # tokens are gone once the order is done
        for path in (cert, key, acme.account_key_path()):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        info = acme.certificate_info(cert)
        assert info.names == (HOSTNAME,) and "Pebble" in info.issuer
        root = ca.issuing_root()
        deadline = time.monotonic() + 15
        while True:  # the worker looks at the files every second
            try:
                new = _served_certificate(port, root)
                break
            except ssl.SSLCertVerificationError:
                assert time.monotonic() < deadline, server.output()
                time.sleep(0.2)
        assert new != old
        assert "TLS certificate reloaded" in server.output()
        assert open_session.sock.getpeercert(binary_form=True) == old
        assert open_session.noop()[0] == "OK" and open_session.select("INBOX")[0] == "OK"  # carries on
        open_session.logout()


def test_renewal_waits_for_two_thirds_of_the_lifetime_then_renews_keeping_the_key(ca: Pebble, settings) -> None:
    cert, key = Path(settings.MAIL_TLS_CERT), Path(settings.MAIL_TLS_KEY)
    first = acme.obtain()
    first_pem, key_pem = cert.read_bytes(), key.read_bytes()
    assert acme.renew_if_due(first.renewal_due_at - datetime.timedelta(minutes=1)) is None
    assert cert.read_bytes() == first_pem
    renewed = acme.renew_if_due(first.renewal_due_at + datetime.timedelta(minutes=1))
    assert renewed is not None and renewed.names == first.names
    assert cert.read_bytes() != first_pem
    assert key.read_bytes() == key_pem  # a DANE 3 1 1 record pinning the key stays true


def test_the_certificate_command_answers_tls_alpn_01_itself_on_the_configured_port(
    settings, tmp_path: Path, monkeypatch, transactional_db, caplog
) -> None:
    """No web server at all (nothing listens on pebble's HTTP-01 port): the
    command listens on MAIL_ACME_TLS_ALPN_PORT while its order lasts, where
    pebble's tlsPort points, and stops listening after."""
    tls_port = free_port()
    settings.MAIL_ACME_TLS_ALPN_PORT = tls_port
    with _pebble(settings, tmp_path, monkeypatch, http_port=free_port(), tls_port=tls_port) as pebble:
        out = io.StringIO()
        call_command("certificate", "--challenge", "tls-alpn-01", stdout=out)
        info = acme.certificate_info(Path(settings.MAIL_TLS_CERT))
        assert info.names == (HOSTNAME,) and "Pebble" in info.issuer, pebble.output()
        assert f"certificate for {HOSTNAME} written" in out.getvalue()
        assert f"TLS-ALPN-01 challenge certificate for {HOSTNAME}" in caplog.text
        assert not AcmeChallenge.objects.exists()  # HTTP-01 was not used
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", tls_port), timeout=2):
        pass  # the responder is gone with the order


def test_the_certificate_command_refuses_cleanly_when_the_tls_alpn_port_is_taken(
    settings, tmp_path: Path, monkeypatch, transactional_db
) -> None:
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        settings.MAIL_ACME_TLS_ALPN_PORT = taken.getsockname()[1]
        with (
            _pebble(settings, tmp_path, monkeypatch, http_port=free_port()),
            pytest.raises(CommandError, match="cannot answer TLS-ALPN-01 on port"),
        ):
            call_command("certificate", "--challenge", "tls-alpn-01")


def test_the_certificate_carries_the_hosted_domains_web_names_that_point_here_and_renewal_chooses_them_afresh(
    live_server, settings, tmp_path: Path, monkeypatch, users
) -> None:
    """example.test publishes an MTA-STS policy and its autoconfig,
    autodiscover and mta-sts names resolve here; other.test's do not (no
    records), so they are left out rather than failing the order. A name
    given with --name stays at the renewal; the mta-sts name goes once the
    policy is withdrawn."""
    hosted = ("autoconfig.example.test", "autodiscover.example.test", "mta-sts.example.test")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, *hosted, "webmail.example.test"]  # the HTTP-01 requests
    Domain.objects.filter(name="example.test").update(mta_sts_mode="testing")
    with _pebble(
        settings,
        tmp_path,
        monkeypatch,
        http_port=urlsplit(live_server.url).port or 80,
        names=(*hosted, "webmail.example.test"),
    ):
        first = acme.obtain(("webmail.example.test",))
        assert set(first.names) == {HOSTNAME, *hosted, "webmail.example.test"}
        Domain.objects.filter(name="example.test").update(mta_sts_mode="")
        renewed = acme.renew_if_due(first.renewal_due_at + datetime.timedelta(minutes=1))
    assert renewed is not None
    assert set(renewed.names) == {
        HOSTNAME,
        "autoconfig.example.test",
        "autodiscover.example.test",
        "webmail.example.test",
    }
