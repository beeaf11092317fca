"""runmailserver --workers N (protocols/workers.py): N processes accept on one
set of sockets, each one really serves, a worker that dies is replaced, and
SIGTERM/SIGHUP reach every worker."""

from __future__ import annotations

import imaplib
import os
import signal
import smtplib
import time
from pathlib import Path

import pytest

from conftest import PASSWORDS
from tests.servers import SubprocessServer

from .conftest import LineClient

pytestmark = pytest.mark.slow


def children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def wait_for(predicate, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def greeting_from(port: int) -> bytes:
    client = LineClient(port)
    try:
        return client.line()
    finally:
        client.close()


@pytest.fixture
def two_workers(users):  # type: ignore[no-untyped-def]
    server = SubprocessServer("smtp,imap", {"MAIL_WORKERS": "2"}).start()
    assert server.proc is not None
    wait_for(lambda: "worker 0 serving" in server.output() and "worker 1 serving" in server.output())
    assert len(children(server.proc.pid)) == 2
    yield server
    server.stop()


def test_every_worker_serves_the_shared_sockets(two_workers, alice):
    """Stop one worker: the other answers every connection; then the other way round."""
    first, second = children(two_workers.proc.pid)
    for stopped, running in ((first, second), (second, first)):
        os.kill(stopped, signal.SIGSTOP)
        try:
            assert greeting_from(two_workers.ports["imap"]).startswith(b"* OK")
            with smtplib.SMTP("127.0.0.1", two_workers.ports["smtp"], timeout=10) as smtp:
                smtp.sendmail(
                    "bob@example.test", ["alice@example.test"], f"Subject: via {running}\r\n\r\nhello\r\n".encode()
                )
        finally:
            os.kill(stopped, signal.SIGCONT)
    imap = imaplib.IMAP4("127.0.0.1", two_workers.ports["imap"])
    imap.login("alice@example.test", PASSWORDS["alice@example.test"])
    typ, data = imap.select("INBOX")
    assert (typ, data) == ("OK", [b"2"])
    imap.logout()


def test_a_dead_worker_is_replaced(two_workers, alice):
    first, second = children(two_workers.proc.pid)
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: first not in children(two_workers.proc.pid) and len(children(two_workers.proc.pid)) == 2)
    os.kill(second, signal.SIGSTOP)  # only the new worker can answer now
    try:
        assert greeting_from(two_workers.ports["imap"]).startswith(b"* OK")
    finally:
        os.kill(second, signal.SIGCONT)
    assert "worker 0" in two_workers.output() and "starting another" in two_workers.output()


def test_sigterm_says_goodbye_in_every_worker_and_stops_them_all(two_workers, alice):
    pids = children(two_workers.proc.pid)
    sessions = []
    for _ in range(6):  # spread over both workers as the kernel likes
        client = LineClient(two_workers.ports["imap"])
        assert client.line().startswith(b"* OK")
        sessions.append(client)
    assert two_workers.stop() == 0
    for client in sessions:
        assert client.until(b"* BYE")[-1].startswith(b"* BYE")
        client.close()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_sighup_reaches_every_worker(two_workers):
    pids = children(two_workers.proc.pid)
    two_workers.send_signal(signal.SIGHUP)
    wait_for(lambda: two_workers.output().count("TLS certificate reloaded") == 2, timeout=30)
    assert children(two_workers.proc.pid) == pids  # reloaded, not restarted
    assert greeting_from(two_workers.ports["imap"]).startswith(b"* OK")


def test_bad_worker_counts_are_refused():
    import subprocess
    import sys

    from tests.servers import ROOT

    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "runmailserver", "--workers", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "--workers 0: must be between 1 and 256" in result.stderr
