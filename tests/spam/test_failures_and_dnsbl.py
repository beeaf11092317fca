"""rspamd stopped or silent, and a DNS blocklist hit, over real sockets: the
failure setting decides and nothing is lost; rspamd's RBL module asks the
suite's loopback DNS server."""

from __future__ import annotations

import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from mailboxes import store
from mailhost import rspamd_server
from tests.markers import forbid_in_fast_run

from .conftest import PASSWORD, folder, free_port, message
from .test_policy import root
from .test_scan_at_data import LUNCH, send


def unavailable_count() -> float:
    return REGISTRY.get_sample_value("mailhost_spam_scans_total", {"listener": "smtp", "outcome": "unavailable"}) or 0


@pytest.fixture
def own_rspamd(rspamd, tmp_path: Path, settings, loopback_dns) -> Iterator[subprocess.Popen]:  # type: ignore[no-untyped-def]
    """An rspamd of this test's own (the scanner), which the test may stop."""
    instance = rspamd_server.Instance(
        tmp_path / "rspamd",
        free_port(),
        free_port(),
        PASSWORD,
        nameservers=(f"127.0.0.1:{loopback_dns.port}",),
        test_mode=True,
    )
    instance.directory.mkdir()
    forbid_in_fast_run("an rspamd subprocess")
    proc = rspamd_server.start(instance)
    settings.MAIL_RSPAMD_URL = instance.url
    yield proc
    rspamd_server.stop(proc)


def test_stopping_rspamd_gives_the_configured_behaviour_and_loses_nothing(own_rspamd, settings, smtp_ports, alice):
    assert send(smtp_ports["smtp"], message(LUNCH, subject="before"))[0] == 250
    rspamd_server.stop(own_rspamd)  # SIGTERM: rspamd stops its workers and exits
    before = unavailable_count()
    assert send(smtp_ports["smtp"], message(LUNCH, subject="while down"))[0] == 250  # accept, the default
    settings.MAIL_RSPAMD_FAILURE = "tempfail"
    assert send(smtp_ports["smtp"], message(LUNCH, subject="deferred"))[0] == 451
    stored = folder(alice.id, "INBOX")
    assert [b"Subject: before" in m for m in stored] == [True, False]
    assert b"X-Spam-Status: No, score=" in stored[0] and b"X-Spam-Status: unchecked\r\n" in stored[1]
    assert unavailable_count() == before + 2


@pytest.fixture
def silent_scanner(scanning, settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """A scanner that accepts the connection and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    settings.MAIL_RSPAMD_URL = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings.MAIL_RSPAMD_TIMEOUT = 1
    yield
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    listener.close()


def test_a_scanner_that_does_not_answer_within_the_timeout_counts_as_down(silent_scanner, smtp_ports, alice):
    assert send(smtp_ports["smtp"], message(LUNCH))[0] == 250
    [stored] = folder(alice.id, "INBOX")
    assert b"X-Spam-Status: unchecked\r\n" in stored


def send_from(port: int, client_ip: str, data: bytes, sender: str) -> bytes:
    """One transaction behind a PROXY header (as HAProxy sends it) naming client_ip."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(f"PROXY TCP4 {client_ip} 127.0.0.1 40000 25\r\n".encode())
        replies = conn.makefile("rb")

        def ask(line: bytes) -> bytes:
            if line:
                conn.sendall(line)
            answer = replies.readline()
            while answer[3:4] == b"-":
                answer = replies.readline()
            return answer

        ask(b"")  # greeting
        for line in (
            b"EHLO mx.remote.test\r\n",
            f"MAIL FROM:<{sender}>\r\n".encode(),
            b"RCPT TO:<alice@example.test>\r\n",
            b"DATA\r\n",
        ):
            ask(line)
        final = ask(data + b".\r\n")
        ask(b"QUIT\r\n")
        return final


def test_a_client_on_a_dns_blocklist_in_the_suites_dns_zone_scores_for_it(
    scanning, settings, smtp_ports, loopback_dns, alice
):
    settings.MAIL_PROXY_TRUSTED = ["127.0.0.1"]
    store.admin_set_spam_settings(root(), "example.test", store.SpamSettings(greylisting=False))
    listed = "203.0.113.77"
    loopback_dns.zone["77.113.0.203.zen.spamhaus.org"] = [("A", "127.0.0.2")]
    try:
        sender = f"s{uuid.uuid4().hex[:8]}@remote.test"
        assert send_from(smtp_ports["smtp"], listed, message(LUNCH, sender=sender), sender).startswith(b"250 ")
        assert send_from(smtp_ports["smtp"], "203.0.113.78", message(LUNCH, sender=sender), sender).startswith(b"250 ")
    finally:
        del loopback_dns.zone["77.113.0.203.zen.spamhaus.org"]
    # A public address without reverse DNS scores enough for Junk either way; the listing adds its symbol.
    hit, clean = sorted(folder(alice.id, "INBOX") + folder(alice.id, "Junk"), key=lambda m: b"SPAMHAUS" not in m)
    assert b"RECEIVED_SPAMHAUS_SBL" in hit and b"SPAMHAUS" not in clean
