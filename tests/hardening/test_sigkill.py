"""A worker killed with SIGKILL under load: SMTP DATA from several clients
and IMAP APPEND in flight. Afterwards every message that got 250 / OK is
stored exactly once, and every stored message is whole (no partial message
is visible): RFC 5321 4.1.1.4 and RFC 3501 6.3.11 promise nothing less."""

from __future__ import annotations

import imaplib
import re
import signal
import smtplib
import threading

import pytest

from conftest import PASSWORDS
from tests.servers import SubprocessServer

pytestmark = pytest.mark.slow

ALICE = "alice@example.test"
SMTP_CLIENTS, IMAP_CLIENTS = 4, 2
ACKED_BEFORE_KILL = 12  # kill once this many were acknowledged, with more in flight
BODY_LINES = 2_000  # ~150 KB: long enough for the kill to land in the middle of one


def message(marker: str) -> bytes:
    body = b"".join(
        b"%s line %05d of a message long enough to be cut in the middle\r\n" % (marker.encode(), n)
        for n in range(BODY_LINES)
    )
    return (
        f"From: bob@example.test\r\nTo: {ALICE}\r\nSubject: {marker}\r\n\r\n".encode()
        + body
        + f"END {marker}\r\n".encode()
    )


class Load:
    def __init__(self, server: SubprocessServer) -> None:
        self.server = server
        self.acked: list[str] = []
        self.lock = threading.Lock()
        self.enough = threading.Event()
        self.killed = threading.Event()
        self.unexpected: list[BaseException] = []
        self.cut = 0  # transfers the kill interrupted

    def ack(self, marker: str) -> None:
        with self.lock:
            self.acked.append(marker)
            if len(self.acked) >= ACKED_BEFORE_KILL:
                self.enough.set()

    def smtp(self, client: int) -> None:
        for n in range(10_000):
            marker = f"smtp-{client}-{n}"
            try:
                with smtplib.SMTP("127.0.0.1", self.server.ports["smtp"], timeout=30) as smtp:
                    smtp.sendmail("bob@example.test", [ALICE], message(marker))
            except (OSError, smtplib.SMTPException) as exc:
                self.failed(exc)
                return
            self.ack(marker)

    def imap(self, client: int) -> None:
        try:
            imap = imaplib.IMAP4("127.0.0.1", self.server.ports["imap"], timeout=30)
            imap.login(ALICE, PASSWORDS[ALICE])
            for n in range(10_000):
                marker = f"imap-{client}-{n}"
                status, _ = imap.append("INBOX", None, None, message(marker))
                if status != "OK":
                    raise imaplib.IMAP4.error(status)
                self.ack(marker)
        except (OSError, imaplib.IMAP4.error, imaplib.IMAP4.abort) as exc:
            self.failed(exc)

    def failed(self, exc: BaseException) -> None:
        with self.lock:
            if self.killed.is_set():
                self.cut += 1
            else:
                self.unexpected.append(exc)


def test_a_worker_killed_under_load_loses_no_acknowledged_message_and_shows_no_partial_one(users):
    with SubprocessServer("smtp,imap") as server:
        load = Load(server)
        threads = [threading.Thread(target=load.smtp, args=(n,)) for n in range(SMTP_CLIENTS)]
        threads += [threading.Thread(target=load.imap, args=(n,)) for n in range(IMAP_CLIENTS)]
        for thread in threads:
            thread.start()
        assert load.enough.wait(300), "the load never got going"  # a hang detector, not a timing
        load.killed.set()
        server.send_signal(signal.SIGKILL)
        assert server.proc is not None and server.proc.wait(30) == -signal.SIGKILL
        for thread in threads:
            thread.join(60)
        assert not load.unexpected, load.unexpected
        with load.lock:
            acked = list(load.acked)

    with SubprocessServer("imap") as server:
        imap = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=60)
        imap.login(ALICE, PASSWORDS[ALICE])
        status, data = imap.select("INBOX")
        assert status == "OK"
        count = int(data[0])
        stored: list[str] = []
        for n in range(1, count + 1):
            status, data = imap.fetch(str(n), "(BODY.PEEK[])")
            assert status == "OK"
            raw = data[0][1]
            subject = re.search(rb"^Subject: (\S+)\r$", raw, re.M)
            assert subject is not None, raw[:300]
            marker = subject.group(1).decode()
            assert raw.endswith(message(marker).split(b"\r\n\r\n", 1)[1]), f"{marker} is cut short"
            stored.append(marker)
        imap.logout()

    print(
        f"\nSIGKILL: {len(acked)} acknowledged, {load.cut} transfers cut by the kill, {len(stored)} stored "
        f"({len(stored) - len(acked)} finished but not acknowledged), {SMTP_CLIENTS + IMAP_CLIENTS} clients"
    )
    assert load.cut >= 1, "the kill interrupted nothing"
    assert len(stored) == len(set(stored)), "a message is stored twice"
    missing = set(acked) - set(stored)
    assert not missing, f"acknowledged and lost: {sorted(missing)}"
