"""What the live fuzz harness (tests/fuzz) found, pinned down as plain tests:
each input gets the protocol's error, nothing is logged as a crash, and the
server answers the next session."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

from tests.servers import InProcessServer

pytestmark = pytest.mark.slow


def crashes(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    """Errors our servers logged (not asyncio's notes on another test's
    leftover tasks, which the garbage collector may print at any moment)."""
    return [
        r for r in records if r.levelno >= logging.ERROR and r.name.startswith(("protocols", "mailboxes", "django"))
    ]


@pytest.fixture(scope="module")
def listeners() -> Iterator[InProcessServer]:
    with InProcessServer(["smtp", "submission", "pop3"]) as server:
        yield server


def _session(port: int, lines: list[bytes]) -> list[bytes]:
    """Greeting, then one reply line per line sent (the last reply lines)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        reader = sock.makefile("rb")
        replies = [reader.readline()]
        for line in lines:
            sock.sendall(line + b"\r\n")
            reply = reader.readline()
            while reply[3:4] == b"-":  # a multiline SMTP reply
                reply = reader.readline()
            replies.append(reply)
        return replies


@pytest.mark.parametrize("command", [b"MAIL FROM:<", b"MAIL FROM:<<", b"MAIL FROM: <"])
def test_a_lone_angle_bracket_in_mail_from_is_refused_as_malformed_not_a_crash(users, listeners, caplog, command):
    with caplog.at_level(logging.INFO):
        replies = _session(listeners.ports["smtp"], [b"EHLO fuzz.test", command, b"NOOP"])
    assert replies[2][:3] in (b"501", b"553"), replies  # RFC 5321 4.2.2 (aiosmtpd says 553 5.1.3)
    assert replies[3].startswith(b"250"), replies
    assert not crashes(caplog.records)


def test_a_failed_pop3_stls_handshake_closes_the_session_without_a_crash(users, listeners, caplog):
    with caplog.at_level(logging.INFO):
        with socket.create_connection(("127.0.0.1", listeners.ports["pop3"]), timeout=20) as sock:
            reader = sock.makefile("rb")
            assert reader.readline().startswith(b"+OK")
            sock.sendall(b"STLS\r\n")
            assert reader.readline().startswith(b"+OK")
            sock.sendall(b"this is not a TLS ClientHello\r\n" * 4)
            while sock.recv(65536):  # a TLS alert perhaps, then the server hangs up
                pass
        with socket.create_connection(("127.0.0.1", listeners.ports["pop3"]), timeout=20) as sock:
            assert sock.makefile("rb").readline().startswith(b"+OK")
    assert not crashes(caplog.records)


@pytest.mark.parametrize(
    "lines",
    [
        [b"APOP al\xffice@example.test 0123456789abcdef0123456789abcdef"],
        [b"USER alice\xc3\x28@example.test", b"PASS x"],
        [b"USER alice@example.test", b"PASS secr\xfe\xff"],
    ],
    ids=["apop-name", "user-name", "password"],
)
def test_a_pop3_login_with_bytes_that_are_not_utf8_is_an_ordinary_failure(users, listeners, caplog, lines):
    with caplog.at_level(logging.INFO):
        replies = _session(listeners.ports["pop3"], lines)
    assert replies[-1].startswith(b"-ERR [AUTH]"), replies
    assert not crashes(caplog.records)


@pytest.mark.parametrize(
    "listener,lines",
    [
        ("smtp", [b"EHLO fuzz.test", b"MAIL FROM:<bob@example.test>", b"RCPT TO:<al\xffice@example.test>"]),
        (
            "submission",
            [
                b"EHLO fuzz.test",
                b"AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1zZWNyZXQ=",
                b"MAIL FROM:<al\xffice@example.test>",
            ],
        ),
    ],
    ids=["rcpt", "submission-mail"],
)
def test_an_smtp_address_with_bytes_that_are_not_utf8_is_refused_not_a_crash(users, listeners, caplog, listener, lines):
    with caplog.at_level(logging.INFO):
        replies = _session(listeners.ports[listener], lines)
    assert replies[-2].startswith(b"2"), replies
    assert replies[-1][:1] == b"5", replies
    assert not crashes(caplog.records)
