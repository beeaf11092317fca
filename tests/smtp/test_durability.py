"""What SMTP promises about durability, against `runmailserver` in a child
process: 250 only after commit, 451 4.3.0 while the database cannot be
reached (and the retry succeeds), nothing lost and nothing partial when the
worker is killed, 421 4.3.2 on SIGTERM after the reply in flight."""

from __future__ import annotations

import signal
import smtplib
import threading
import time
from collections.abc import Iterator

import pytest

from tests.servers import SubprocessServer, database_url
from tests.tcpproxy import TcpProxy
from tests.transcript import Transcript

from .conftest import ALICE, GREETING, HELO, body_after_trace, inbox, open_data

pytestmark = pytest.mark.slow


@pytest.fixture
def child_env(dns_server) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"MAIL_DNS_NAMESERVERS": f"127.0.0.1:{dns_server.port}", "MAIL_LOG_LEVEL": "WARNING"}


@pytest.fixture
def db_proxy() -> Iterator[TcpProxy]:
    from urllib.parse import urlsplit

    target = urlsplit(database_url())
    with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        yield proxy


def connect(port: int, timeout: float = 10) -> Transcript:
    """A session to the MX, greeted and past HELO."""
    t = Transcript("127.0.0.1", port, timeout=timeout)
    t.run("S: " + GREETING + "\n" + HELO)
    return t


@pytest.mark.parametrize("pool", ["true", "false"], ids=["pooled", "unpooled"])
def test_an_unreachable_database_gives_451_and_the_retry_succeeds(alice, db_proxy, child_env, pool):
    env = {
        **child_env,
        "DATABASE_URL": db_proxy.url_for(database_url()),
        "MAIL_DB_POOL": pool,
        "MAIL_DB_POOL_TIMEOUT": "2",
    }
    with SubprocessServer("smtp", extra_env=env) as server, connect(server.ports["smtp"], 30) as t:
        t.run(
            open_data()
            + """
            C: Subject: first try
            C: .
        """
        )
        db_proxy.cut()  # between RCPT and the end of DATA
        t.run("""
            S: 451 4.3.0 Mail store temporarily unavailable, try again later
            C: MAIL FROM:<sender@remote.test>
            S: 250 2.1.0 Sender ok
            C: RCPT TO:<alice@example.test>
            S: 451 4.3.0 Mail store temporarily unavailable, try again later
            C: RSET
            S: 250 2.0.0 OK
        """)
        db_proxy.restore()
        # The client's retry: a connection the pool held across the cut may
        # fail once more, the next attempt gets a fresh one.
        for _ in range(12):
            t.send_line("MAIL FROM:<sender@remote.test>")
            t.expect("250 2.1.0 Sender ok")
            t.send_line(f"RCPT TO:<{ALICE}>")
            [rcpt] = t.expect("{{.*}}")
            if rcpt.startswith("250"):
                break
            assert rcpt == "451 4.3.0 Mail store temporarily unavailable, try again later"
            t.send_line("RSET")
            t.expect("250 2.0.0 OK")
        t.run("""
            C: DATA
            S: 354 {{.*}}
            C: Subject: first try
            C: .
            S: 250 2.0.0 Ok: stored as {{\\w+}}
        """)
    assert [body_after_trace(m) for m in inbox(alice.id)] == [b"Subject: first try\r\n"]


def test_sigkill_mid_data_loses_nothing_acknowledged_and_leaves_nothing_partial(alice, child_env):
    server = SubprocessServer("smtp", extra_env=child_env).start()
    try:
        port = server.ports["smtp"]
        with connect(port) as t:
            t.run(
                open_data()
                + """
                C: Subject: acknowledged
                C:
                C: body of acknowledged
                C: .
                S: 250 2.0.0 Ok: stored as {{\\w+}}
            """
            )
        # Several clients sending in a loop while the worker dies: some are in
        # the middle of DATA, some waiting for the store's commit.
        acknowledged: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def client(n: int) -> None:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                    for i in range(10_000):
                        if stop.is_set():
                            return
                        subject = f"c{n}-m{i}"
                        body = f"Subject: {subject}\r\n\r\n" + f"{subject} line\r\n" * 400
                        smtp.sendmail("sender@remote.test", [ALICE], body.encode())
                        with lock:
                            acknowledged.append(subject)
            except (smtplib.SMTPException, OSError):
                return

        threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        # Half a DATA on one more connection, then the kill.
        half = connect(port)
        half.run(
            open_data()
            + """
            C: Subject: partial
            C:
            C: never finished
        """
        )
        server.send_signal(signal.SIGKILL)
        assert server.proc is not None and server.proc.wait(10) == -signal.SIGKILL
        stop.set()
        for thread in threads:
            thread.join(30)
        half.close()
    finally:
        server.stop()
    with lock:
        acked = ["acknowledged"] + acknowledged
    stored = {}
    for message in inbox(alice.id):
        body = body_after_trace(message)
        subject = body.split(b"\r\n", 1)[0].removeprefix(b"Subject: ").decode()
        assert subject not in stored, f"{subject} stored twice"
        stored[subject] = body
    assert len(acked) >= 9
    assert set(acked) <= set(stored), "a message that got 250 is missing"
    assert "partial" not in stored
    for subject, body in stored.items():
        if subject == "acknowledged":
            assert body == b"Subject: acknowledged\r\n\r\nbody of acknowledged\r\n"
        else:  # complete, byte for byte: stored ones not yet acknowledged too
            assert body == (f"Subject: {subject}\r\n\r\n" + f"{subject} line\r\n" * 400).encode()


def test_sigterm_lets_the_reply_in_flight_out_then_says_421_to_every_session(alice, child_env):
    with SubprocessServer("smtp", extra_env=child_env) as server:
        port = server.ports["smtp"]
        idle = Transcript("127.0.0.1", port)
        idle.expect(GREETING)
        busy = connect(port)
        busy.run(open_data())
        busy.send(b"Subject: in flight\r\n\r\n" + b"x" * 500 + b"\r\n.\r\n")
        server.send_signal(signal.SIGTERM)
        replies = [busy.read_line() for _ in range(3)]
        idle.expect("421 4.3.2 Service shutting down, closing transmission channel")
        idle.expect("<closed>")
        assert server.proc is not None and server.proc.wait(20) == 0
    stored = [body_after_trace(m) for m in inbox(alice.id)]
    if replies[0].startswith(b"250 2.0.0 Ok: stored as "):
        # The delivery won the race: its 250 first, then goodbye, and it is stored.
        assert replies[1:] == [b"421 4.3.2 Service shutting down, closing transmission channel\r\n", b""]
        assert stored == [b"Subject: in flight\r\n\r\n" + b"x" * 500 + b"\r\n"]
    else:
        # The signal won: goodbye before the end of DATA was read, nothing stored.
        assert replies == [b"421 4.3.2 Service shutting down, closing transmission channel\r\n", b"", b""]
        assert stored == []
