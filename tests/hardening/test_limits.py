"""Connection limits per listener and slow clients (slowloris): every state
of every door times out a client that stops sending."""

from __future__ import annotations

import socket

import pytest

from tests.servers import SubprocessServer

pytestmark = pytest.mark.slow

ENV = {
    "MAIL_MAX_CONNECTIONS_PER_IP": "2",
    "MAIL_TRUST_LOOPBACK": "false",
    "MAIL_IMAP_IDLE_TIMEOUT": "1",
    "MAIL_POP_IDLE_TIMEOUT": "1",
    "MAIL_SMTP_IDLE_TIMEOUT": "1",
}
GREETING = {"imap": b"* OK", "pop3": b"+OK", "pop2": b"+ POP2", "submission": b"220 "}
TRY_LATER = {
    "imap": b"* BYE [UNAVAILABLE]",
    "pop3": b"-ERR [SYS/TEMP]",
    "pop2": b"- Too many",
    "submission": b"421 4.7.0",
}


@pytest.fixture(scope="module")
def limited(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with SubprocessServer("submission,imap,pop3,pop2", ENV) as server:
        yield server


def _connect(port: int) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    return sock, sock.makefile("rb").readline()


def _read_to_eof(sock: socket.socket) -> bytes:
    """Everything until the server hangs up (socket timeout 20 s: a server
    that never hangs up fails the test instead of hanging it)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


@pytest.mark.parametrize("listener", ["imap", "pop3", "pop2", "submission"])
def test_a_third_connection_from_one_ip_is_told_to_try_later(limited, listener):
    first, second = _connect(limited.ports[listener]), _connect(limited.ports[listener])
    assert first[1].startswith(GREETING[listener]) and second[1].startswith(GREETING[listener])
    third, line = _connect(limited.ports[listener])
    assert line.startswith(TRY_LATER[listener]) and _read_to_eof(third) == b""
    first[0].close()
    for _ in range(50):  # the server notices the close when it next reads
        fourth, line = _connect(limited.ports[listener])
        if line.startswith(GREETING[listener]):
            break
        fourth.close()
    assert line.startswith(GREETING[listener])
    for sock in (second[0], third, fourth):
        sock.close()


SLOW = [  # (listener, what the slow client sends before it stops)
    ("imap", b""),
    ("imap", b"a LOG"),
    ("imap", b"a LOGIN {5}\r\nroo"),
    ("imap", b"a CAPABILITY\r\nb NOOP"),
    ("pop3", b""),
    ("pop3", b"USE"),
    ("pop3", b"USER x\r\nPA"),
    ("pop2", b""),
    ("pop2", b"HEL"),
    ("submission", b""),
    ("submission", b"EHL"),
    ("submission", b"EHLO a\r\nMAIL FROM:<a@example.test>\r\nRC"),
]


@pytest.mark.parametrize("listener,sent", SLOW)
def test_a_client_that_stops_sending_is_disconnected(limited, listener, sent):
    sock, greeting = _connect(limited.ports[listener])
    assert greeting.startswith(GREETING[listener])
    sock.sendall(sent)
    _read_to_eof(sock)  # returns: the server hung up
    sock.close()


@pytest.mark.parametrize("listener", ["smtp", "smtps"])
def test_a_connection_over_the_total_limit_of_an_smtp_listener_gets_421(users, settings, listener):
    import ssl

    from tests.servers import InProcessServer

    settings.MAIL_MAX_CONNECTIONS = 2  # read when a client connects; loopback is exempt only per IP
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE

    def connect(port: int) -> tuple[socket.socket, bytes]:
        sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        if listener == "smtps":
            sock = context.wrap_socket(sock)
        return sock, sock.makefile("rb").readline()

    with InProcessServer([listener]) as server:
        port = server.ports[listener]
        first, second = connect(port), connect(port)
        assert first[1].startswith(b"220 ") and second[1].startswith(b"220 ")
        third, line = connect(port)
        assert line.startswith(b"421 4.7.0") and _read_to_eof(third) == b""
        for sock in (first[0], second[0], third):
            sock.close()
