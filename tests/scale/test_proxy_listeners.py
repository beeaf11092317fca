"""PROXY protocol on the real listeners, in process: the client address in
the header becomes Connection.peer_ip (recorded at login, and deciding
whether plaintext passwords are allowed); a peer outside MAIL_PROXY_TRUSTED,
or a trusted one without a valid header, gets no greeting."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import PASSWORDS
from mailboxes import store
from tests.scale.conftest import LineClient, v1
from tests.servers import InProcessServer


@pytest.fixture(scope="module")
def listeners() -> Iterator[InProcessServer]:
    with InProcessServer(["imap", "pop3", "submission"]) as server:
        yield server


@pytest.fixture
def behind_proxy(settings):  # type: ignore[no-untyped-def]
    settings.MAIL_PROXY_TRUSTED = ["127.0.0.1"]
    settings.MAIL_PROXY_TIMEOUT = 3
    return settings


def last_ip(account_id: int, protocol: str) -> str:
    return next(r.ip for r in store.last_logins(account_id) if r.protocol == protocol)


def test_imap_login_is_recorded_with_the_address_from_the_header(alice, listeners, behind_proxy) -> None:
    client = LineClient(listeners.ports["imap"], v1("127.0.0.23"))
    assert client.line().startswith(b"* OK")
    assert client.send(f"a LOGIN alice@example.test {PASSWORDS['alice@example.test']}").startswith(b"a OK")
    client.close()
    assert last_ip(alice.id, "imap") == "127.0.0.23"


def test_imap_refuses_plaintext_login_when_the_real_client_is_remote(alice, listeners, behind_proxy) -> None:
    client = LineClient(listeners.ports["imap"], v1("203.0.113.7"))
    client.line()
    client.sock.sendall(b"a CAPABILITY\r\n")
    capabilities = b"".join(client.until(b"a OK"))
    refused = client.send(f"b LOGIN alice@example.test {PASSWORDS['alice@example.test']}")
    client.close()
    assert b"LOGINDISABLED" in capabilities
    assert refused.startswith(b"b NO")


def test_pop3_login_is_recorded_with_the_address_from_a_v2_header(alice, listeners, behind_proxy) -> None:
    import socket
    import struct

    body = socket.inet_aton("127.0.0.42") + socket.inet_aton("127.0.0.1") + struct.pack("!HH", 40001, 110)
    header = b"\r\n\r\n\x00\r\nQUIT\n\x21\x11" + struct.pack("!H", len(body)) + body
    client = LineClient(listeners.ports["pop3"], header)
    assert client.line().startswith(b"+OK")
    assert client.send("USER alice@example.test").startswith(b"+OK")
    assert client.send(f"PASS {PASSWORDS['alice@example.test']}").startswith(b"+OK")
    client.send("QUIT")
    client.close()
    assert last_ip(alice.id, "pop3") == "127.0.0.42"


@pytest.mark.parametrize("source, offered", [("127.0.0.9", True), ("203.0.113.7", False)])
def test_submission_offers_auth_by_the_real_client_address(listeners, behind_proxy, source, offered) -> None:
    client = LineClient(listeners.ports["submission"], v1(source))
    assert client.line().startswith(b"220")
    client.sock.sendall(b"EHLO client.test\r\n")
    ehlo = b"".join(client.until(b"250 "))
    client.close()
    assert (b"AUTH" in ehlo) is offered


@pytest.mark.parametrize("listener", ["imap", "pop3", "submission"])
def test_a_peer_that_is_not_trusted_gets_no_greeting(listeners, settings, listener) -> None:
    settings.MAIL_PROXY_TRUSTED = ["192.0.2.1"]
    client = LineClient(listeners.ports[listener], v1("127.0.0.5"))
    assert client.first_line_or_nothing() == b""
    client.close()


@pytest.mark.parametrize("listener", ["imap", "pop3", "submission"])
def test_a_trusted_peer_without_a_header_gets_no_greeting(listeners, behind_proxy, listener) -> None:
    client = LineClient(listeners.ports[listener], b"HELLO there, no header\r\n")
    assert client.first_line_or_nothing() == b""
    client.close()
