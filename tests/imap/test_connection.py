"""The connection's I/O rules over real sockets: TLS, the plaintext-password
policy, limits, the autologout timer and goodbye at shutdown."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from conftest import PASSWORDS
from protocols.imap.server import start
from tests.servers import InProcessServer

from .client import RawClient

ALICE = "alice@example.test"


def test_starttls_upgrades_discards_pipelined_commands_and_stops_offering_itself(imap_port: int) -> None:
    with RawClient(imap_port) as raw:
        assert b"STARTTLS" in raw.greeting()
        # A command pipelined behind STARTTLS must not run (RFC 3501 6.2.1).
        raw.send(b"a1 STARTTLS\r\na2 LOGIN alice@example.test alice-secret\r\n")
        assert raw.line() == b"a1 OK Begin TLS negotiation now\r\n"
        raw.starttls()
        untagged, done = raw.command("CAPABILITY")
        assert b"STARTTLS" not in untagged[0] and b"AUTH=PLAIN" in untagged[0]
        assert done.endswith(b"OK CAPABILITY completed\r\n")
        raw.ok(f'LOGIN {ALICE} {PASSWORDS[ALICE]}')
        assert raw.command("STARTTLS")[1].split(b" ")[1] == b"BAD"


def test_imaps_speaks_tls_from_the_first_byte(imap_server: InProcessServer) -> None:
    with RawClient(imap_server.ports["imaps"], tls=True) as raw:
        greeting = raw.greeting()
        assert greeting.startswith(b"* OK [CAPABILITY IMAP4rev1 ") and b"STARTTLS" not in greeting
        assert b"AUTH=PLAIN" in greeting
        raw.ok(f'LOGIN {ALICE} {PASSWORDS[ALICE]}')


def _public_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent for UDP connect
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_passwords_are_refused_without_tls_from_a_non_loopback_client(imap_server: InProcessServer) -> None:
    address = _public_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address")
    listener = asyncio.run_coroutine_threadsafe(start("imap", address, 0), imap_server.loop).result(10)
    try:
        with RawClient(listener.addresses[0][1], host=address) as raw:
            greeting = raw.greeting()
            assert b"LOGINDISABLED" in greeting and b"AUTH=PLAIN" not in greeting
            _, done = raw.command(f"LOGIN {ALICE} {PASSWORDS[ALICE]}")
            assert done.endswith(b"NO [PRIVACYREQUIRED] Use STARTTLS before logging in\r\n")
            _, done = raw.command("AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1zZWNyZXQ=")
            assert b"NO [PRIVACYREQUIRED]" in done
            raw.send(b"a1 STARTTLS\r\n")
            assert raw.line() == b"a1 OK Begin TLS negotiation now\r\n"
            raw.starttls()
            untagged, _ = raw.command("CAPABILITY")
            assert b"AUTH=PLAIN" in untagged[0] and b"LOGINDISABLED" not in untagged[0]
            raw.ok(f"LOGIN {ALICE} {PASSWORDS[ALICE]}")
    finally:
        asyncio.run_coroutine_threadsafe(listener.stop(1), imap_server.loop).result(10)


def test_a_command_sent_one_byte_at_a_time_is_parsed_once_complete(imap_port: int) -> None:
    with RawClient(imap_port) as raw:
        raw.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        raw.greeting()
        raw.ok(f"LOGIN {ALICE} {PASSWORDS[ALICE]}")
        message = b"Subject: slow\r\n\r\nbyte by byte\r\n"
        for byte in b"a1 APPEND INBOX (\\Seen) {%d+}\r\n" % len(message) + message + b"\r\n":
            raw.send(bytes([byte]))
        assert raw.line().startswith(b"a1 OK [APPENDUID ")
        raw.ok("SELECT INBOX")
        untagged = raw.ok("FETCH 1 BODY.PEEK[]")
        assert untagged == [b"* 1 FETCH (BODY[] {%d}\r\n" % len(message) + message + b")\r\n"]


def test_a_large_append_is_stored_and_read_back_byte_exact(client: RawClient) -> None:
    body = b"".join(b"line %07d with some text to fill it up\r\n" % i for i in range(60_000))
    message = b"From: bob@example.test\r\nSubject: big\r\n\r\n" + body
    assert len(message) > 2_000_000
    client.send(b"a1 APPEND INBOX {%d}\r\n" % len(message))
    assert client.line() == b"+ Ready\r\n"
    client.send(message + b"\r\n")
    assert client.line().startswith(b"a1 OK [APPENDUID ")
    client.ok("SELECT INBOX")
    (response,) = client.ok("FETCH 1 (RFC822.SIZE BODY[])")
    assert (
        response
        == b"* 1 FETCH (RFC822.SIZE %d BODY[] {%d}\r\n" % (len(message), len(message))
        + message
        + b" FLAGS (\\Seen \\Recent))\r\n"
    )


def test_an_overlong_command_line_is_refused_and_the_connection_closed(client: RawClient) -> None:
    client.send(b"a1 NOOP " + b"x" * 70_000)
    assert client.line() == b"a1 BAD Command line too long\r\n"
    assert client.line() == b"* BYE Command line too long\r\n"
    assert client.line() == b""


def _chain_literals(client: RawClient, size: int, count: int) -> bytes:
    """Send ``a1 ID ("k" {size} "k" {size} ...`` one synchronizing literal
    at a time, waiting for each "+"; the first other reply ends the chain."""
    client.send(b'a1 ID ("k" {%d}\r\n' % size)
    for _ in range(count):
        line = client.line()
        if not line.startswith(b"+ "):
            return line
        client.send(b"v" * size + b' "k" {%d}\r\n' % size)
    return client.line()


def test_literals_chained_before_login_stop_at_64_kib_in_all_with_no_toobig(imap_port: int) -> None:
    # Issue 15 item 5: eight 8 KiB literals may be one command's, the ninth
    # is refused before any of its octets is sent (RFC 7888 5, RFC 4469 TOOBIG).
    with RawClient(imap_port) as raw:
        raw.greeting()
        assert _chain_literals(raw, 8192, 20) == b"a1 NO [TOOBIG] Literal too big\r\n"
        assert raw.command("NOOP")[1].endswith(b"OK NOOP completed\r\n")


def test_non_synchronizing_literals_chained_before_login_past_64_kib_end_the_connection(imap_port: int) -> None:
    # RFC 7888 4: their octets are already on the way and cannot be told from commands.
    with RawClient(imap_port) as raw:
        raw.greeting()
        raw.send(b'a1 ID ("k" {8192+}\r\n' + (b"v" * 8192 + b' "k" {8192+}\r\n') * 8)
        assert raw.line() == b"a1 BAD [TOOBIG] Literal too big\r\n"
        assert raw.line() == b"* BYE Literal too big\r\n"


def test_after_login_one_command_carries_at_most_the_message_size_in_literals(settings, imap_port: int) -> None:  # type: ignore[no-untyped-def]
    settings.MAIL_MAX_MESSAGE_SIZE = 3000
    with RawClient(imap_port) as raw:
        raw.login(ALICE, PASSWORDS[ALICE])
        assert _chain_literals(raw, 1000, 5) == b"a1 NO [TOOBIG] Literal too big\r\n"
        raw.ok("SELECT INBOX")


def test_twenty_syntax_errors_in_a_row_end_the_connection(client: RawClient) -> None:
    for _ in range(19):
        assert client.command("FROB")[1].endswith(b"BAD Unknown command\r\n")
    client.send(b"last FROB\r\n")
    assert client.line() == b"last BAD Unknown command\r\n"
    assert client.line() == b"* BYE Too many invalid commands\r\n"


def test_bare_lf_line_ends_are_accepted(client: RawClient) -> None:
    client.send(b"a1 NOOP\na2 NOOP\n")
    assert client.line() == b"a1 OK NOOP completed\r\n"
    assert client.line() == b"a2 OK NOOP completed\r\n"


def test_a_silent_client_is_logged_out_with_bye(settings, imap_port: int) -> None:  # type: ignore[no-untyped-def]
    settings.MAIL_IMAP_IDLE_TIMEOUT = 1
    with RawClient(imap_port) as raw:
        raw.login(ALICE, PASSWORDS[ALICE])
        raw.ok("SELECT INBOX")
        raw.send(b"a1 IDLE\r\n")
        assert raw.line() == b"+ idling\r\n"
        started = time.monotonic()
        assert raw.line() == b"* BYE Autologout; idle for too long\r\n"
        assert raw.line() == b""
        assert time.monotonic() - started >= 1


def test_shutdown_says_bye_to_waiting_and_idling_sessions(users) -> None:  # type: ignore[no-untyped-def]
    server = InProcessServer(["imap"]).__enter__()
    try:
        waiting, idling = RawClient(server.ports["imap"]), RawClient(server.ports["imap"])
        waiting.login(ALICE, PASSWORDS[ALICE])
        idling.login(ALICE, PASSWORDS[ALICE])
        idling.ok("SELECT INBOX")
        idling.send(b"i1 IDLE\r\n")
        assert idling.line() == b"+ idling\r\n"
    finally:
        server.__exit__(None, None, None)
    for raw in (waiting, idling):
        assert raw.line() == b"* BYE Server shutting down\r\n"
        assert raw.line() == b""
        raw.close()
