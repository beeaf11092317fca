"""TLS: one shared context per worker, reloaded on SIGHUP without dropping
connections; credentials refused in clear text from clients that are not
trusted; STARTTLS command injection discarded."""

from __future__ import annotations

import signal
import smtplib
import socket
import ssl
import time
from pathlib import Path

import pytest

from protocols.tls import generate_self_signed
from tests.servers import SubprocessServer

from .conftest import ROOT, ROOT_PASSWORD

pytestmark = pytest.mark.slow


def _client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _peer_certificate(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, _client_context().wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        return der


def test_sighup_reloads_the_certificate_for_new_connections_and_keeps_the_old_ones(root, tmp_path: Path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    generate_self_signed(cert, key, "old.example.test")
    env = {"MAIL_TLS_CERT": str(cert), "MAIL_TLS_KEY": str(key)}
    with SubprocessServer("imaps,smtps", env) as server:
        old_cert = _peer_certificate(server.ports["imaps"])
        import imaplib

        old = imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"], ssl_context=_client_context(), timeout=10)
        old.login(ROOT, ROOT_PASSWORD)
        generate_self_signed(cert, key, "new.example.test")
        server.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while _peer_certificate(server.ports["imaps"]) == old_cert and time.monotonic() < deadline:
            time.sleep(0.1)
        new_cert = _peer_certificate(server.ports["imaps"])
        assert new_cert != old_cert
        assert _peer_certificate(server.ports["smtps"]) == new_cert  # one context for every listener
        assert old.sock.getpeercert(binary_form=True) == old_cert
        assert old.noop()[0] == "OK" and old.select("INBOX")[0] == "OK"  # the old session carries on
        old.logout()


UNTRUSTED = {"MAIL_TRUST_LOOPBACK": "false"}  # this test's loopback client counts as remote


@pytest.fixture(scope="module")
def untrusted_server(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with SubprocessServer("submission,imap,pop3,pop2", UNTRUSTED) as server:
        yield server


class Line:
    """A line-oriented client that can upgrade to TLS in place."""

    def __init__(self, port: int) -> None:
        self.sock: socket.socket = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def until(self, prefix: bytes) -> list[bytes]:
        lines = [self.line()]
        while not lines[-1].startswith(prefix):
            lines.append(self.line())
        return lines

    def start_tls(self) -> None:
        assert self.buffer == b"", "the server answered an injected command before the handshake"
        self.sock = _client_context().wrap_socket(self.sock)

    def nothing_pending(self) -> bool:
        self.sock.settimeout(0.5)
        try:
            return not self.buffer and not self.sock.recv(65536)
        except TimeoutError:
            return True
        finally:
            self.sock.settimeout(10)

    def close(self) -> None:
        self.sock.close()


def test_imap_advertises_logindisabled_and_refuses_login_until_starttls(untrusted_server, root):
    c = Line(untrusted_server.ports["imap"])
    c.line()
    c.send(b"a CAPABILITY\r\n")
    caps = b" ".join(c.until(b"a "))
    assert b"LOGINDISABLED" in caps and b"AUTH=PLAIN" not in caps and b"STARTTLS" in caps
    c.send(f"b LOGIN {ROOT} {ROOT_PASSWORD}\r\n".encode())
    assert c.until(b"b ")[-1].startswith(b"b NO [PRIVACYREQUIRED]")
    c.send(b"c STARTTLS\r\nd CAPABILITY\r\n")  # an injected command in the same packet
    assert c.until(b"c ")[-1].startswith(b"c OK")
    c.start_tls()
    assert c.nothing_pending()  # d was discarded (RFC 3501 6.2.1 / RFC 2595 3.1)
    c.send(f"e LOGIN {ROOT} {ROOT_PASSWORD}\r\n".encode())
    assert c.until(b"e ")[-1].startswith(b"e OK")
    c.close()


def test_pop3_omits_user_and_sasl_and_refuses_passwords_until_stls(untrusted_server, root):
    c = Line(untrusted_server.ports["pop3"])
    c.line()
    c.send(b"CAPA\r\n")
    caps = c.until(b".")
    assert b"STLS" in caps and b"USER" not in caps and not any(l.startswith(b"SASL") for l in caps)
    c.send(f"USER {ROOT}\r\n".encode())
    assert c.line().startswith(b"-ERR")
    c.send(b"AUTH\r\n")
    assert c.until(b".") == [b"+OK SASL mechanisms follow", b"."]
    c.send(b"STLS\r\nCAPA\r\n")
    assert c.line().startswith(b"+OK")
    c.start_tls()
    assert c.nothing_pending()
    c.send(f"USER {ROOT}\r\nPASS {ROOT_PASSWORD}\r\n".encode())
    assert c.line().startswith(b"+OK") and c.line().startswith(b"+OK maildrop")
    c.close()


def test_smtp_offers_no_auth_and_refuses_it_until_starttls(untrusted_server, root):
    c = Line(untrusted_server.ports["submission"])
    c.line()
    c.send(b"EHLO client.test\r\n")
    ehlo = c.until(b"250 ")
    assert not any(b"AUTH" in l for l in ehlo) and any(b"STARTTLS" in l for l in ehlo)
    c.send(b"AUTH PLAIN AHJvb3RAZXhhbXBsZS50ZXN0AHJvb3Qtc2VjcmV0\r\n")
    assert c.line()[:1] == b"5"
    c.send(b"STARTTLS\r\nEHLO injected.test\r\n")
    assert c.line().startswith(b"220")
    c.start_tls()
    assert c.nothing_pending()
    c.send(b"EHLO client.test\r\n")
    assert any(b"AUTH PLAIN" in l for l in c.until(b"250 "))
    c.close()


def test_smtplib_logs_in_only_after_starttls(untrusted_server, root):
    with smtplib.SMTP("127.0.0.1", untrusted_server.ports["submission"], timeout=10) as client:
        with pytest.raises(smtplib.SMTPNotSupportedError):
            client.login(ROOT, ROOT_PASSWORD)
        client.starttls(context=_client_context())
        assert client.login(ROOT, ROOT_PASSWORD)[0] == 235


def test_pop2_refuses_helo_from_an_untrusted_client(untrusted_server, root):
    c = Line(untrusted_server.ports["pop2"])
    c.line()
    c.send(f"HELO {ROOT} {ROOT_PASSWORD}\r\n".encode())
    assert c.line().startswith(b"- ")
    c.close()
