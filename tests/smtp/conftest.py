"""Fixtures for the SMTP tests: the three listeners in this process, a TLS
context that trusts the generated certificate, and readers of the store."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest

from conftest import PASSWORDS
from tests.relay.helpers import DnsServer, txt
from tests.servers import InProcessServer
from tests.transcript import Transcript

# The MX checks SPF, DKIM and DMARC (protocols.relay.authcheck); every lookup
# goes to this zone on 127.0.0.1, never to the system's resolver.
DNS_ZONE = {
    "strict.test": [("TXT", txt("v=spf1 -all"))],
    "_dmarc.strict.test": [("TXT", txt("v=DMARC1; p=reject"))],
}


@pytest.fixture(scope="session", autouse=True)
def dns_server() -> Iterator[DnsServer]:
    from django.conf import settings

    server = DnsServer(DNS_ZONE)
    saved = settings.MAIL_DNS_NAMESERVERS
    settings.MAIL_DNS_NAMESERVERS = [f"127.0.0.1:{server.port}"]
    yield server
    settings.MAIL_DNS_NAMESERVERS = saved
    server.close()


@pytest.fixture(scope="session")
def smtp_ports(dns_server) -> Iterator[dict[str, int]]:  # type: ignore[no-untyped-def]
    """MX, submission and SMTPS on 127.0.0.1 (no database needed to start)."""
    with InProcessServer(["smtp", "submission", "smtps"]) as server:
        yield server.ports


@pytest.fixture
def client_tls() -> ssl.SSLContext:
    """A client context whose only CA is the server's generated certificate."""
    from protocols.tls import certificate_paths

    return ssl.create_default_context(cafile=str(certificate_paths()[0]))


@pytest.fixture
def mx(smtp_ports) -> Iterator[Transcript]:  # type: ignore[no-untyped-def]
    """A connection to the MX, greeting read. Tests that reach the store ask for `users` too."""
    with Transcript("127.0.0.1", smtp_ports["smtp"]) as t:
        t.expect("220 {{\\S+}} ESMTP Mailhost")
        yield t


@pytest.fixture
def submission(smtp_ports) -> Iterator[Transcript]:  # type: ignore[no-untyped-def]
    with Transcript("127.0.0.1", smtp_ports["submission"]) as t:
        t.expect("220 {{\\S+}} ESMTP Mailhost")
        yield t


def inbox(account_id: int, folder: str = "INBOX") -> list[bytes]:
    """The stored bytes of every message in the folder, in UID order."""
    from mailboxes import store

    view = store.select_folder(account_id, folder)
    if not view.uids:
        return []
    rows = store.fetch_messages(account_id, view.id, [(view.uids[0], view.uids[-1])], content="full")
    return [row.data or b"" for row in rows]


def _field(data: bytes, name: bytes) -> tuple[bytes, bytes]:
    """(the first header field, with its folded lines; the rest); it must be `name`."""
    assert data.startswith(name + b": "), data[:80]
    field, rest = data.split(b"\r\n", 1)
    while rest[:1] in (b"\t", b" "):
        line, rest = rest.split(b"\r\n", 1)
        field += b"\r\n" + line
    return field, rest


def body_after_trace(stored: bytes) -> bytes:
    """The message as the client sent it: the stored bytes after the fields
    the server added (Return-Path, the MX's Authentication-Results, Received)."""
    _, rest = _field(stored, b"Return-Path")
    if rest.startswith(b"Authentication-Results: "):
        _, rest = _field(rest, b"Authentication-Results")
    _, rest = _field(rest, b"Received")
    return rest


# Transcript pieces (tests.transcript syntax) that many tests share.
ALICE = "alice@example.test"
GREETING = "220 {{\\S+}} ESMTP Mailhost"
HELO = "C: HELO client.test\nS: 250 {{\\S+}}\n"
EHLO_MX = "C: EHLO client.test\n" + "S: 250{{[- ].*}}\n" * 10
EHLO_SUBMISSION = "C: EHLO client.test\n" + "S: 250{{[- ].*}}\n" * 11


def ehlo_advertising(*last: str, size: str = "{{\\d+}}") -> str:
    """EHLO and its reply: the keywords every listener has, then `last`."""
    keywords = ["PIPELINING", f"SIZE {size}", "8BITMIME", "SMTPUTF8", "CHUNKING", "BINARYMIME", "DSN", *last]
    lines = ["{{\\S+}}", *keywords]
    return "C: EHLO client.test\n" + "".join(
        f"S: 250{'-' if n < len(lines) - 1 else ' '}{line}\n" for n, line in enumerate(lines)
    )


def envelope(recipients: tuple[str, ...] = (ALICE,), sender: str = "sender@remote.test") -> str:
    """MAIL and RCPT..., all accepted."""
    lines = [f"C: MAIL FROM:<{sender}>", "S: 250 2.1.0 Sender ok"]
    for rcpt in recipients:
        lines += [f"C: RCPT TO:<{rcpt}>", "S: 250 2.1.5 Recipient ok"]
    return "\n".join(lines) + "\n"


def open_data(recipients: tuple[str, ...] = (ALICE,), sender: str = "sender@remote.test") -> str:
    """envelope() and DATA: the transcript up to the 354."""
    return envelope(recipients, sender) + "C: DATA\nS: 354 {{.*}}\n"


def send_script(sender: str, recipients: list[str], body: str) -> str:
    """open_data(), the body (dot-stuffed) and '.', answered 250."""
    lines = [f"C: {'.' + line if line.startswith('.') else line}" for line in body.split("\r\n")]
    return open_data(tuple(recipients), sender) + "\n".join(
        lines + ["C: .", "S: 250 2.0.0 Ok: stored as {{[0-9a-f]+}}"]
    )


@pytest.fixture
def smtp_server_with(settings):  # type: ignore[no-untyped-def]
    """Start listeners with some settings changed: smtp_server_with(["smtp"], MAIL_MAX_RECIPIENTS=2)."""
    started: list[InProcessServer] = []

    def start(names: list[str], **overrides: object) -> InProcessServer:
        for name, value in overrides.items():
            setattr(settings, name, value)
        server = InProcessServer(names).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        if server._thread.is_alive():
            server.__exit__(None, None, None)


def plain_credentials(address: str, password: str) -> str:
    """The AUTH PLAIN initial response (RFC 4616)."""
    import base64

    return base64.b64encode(f"\0{address}\0{password}".encode()).decode()


AUTH_ALICE = f"C: AUTH PLAIN {plain_credentials(ALICE, PASSWORDS[ALICE])}\nS: 235 2.7.0 Authentication successful\n"
