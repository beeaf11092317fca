"""The SMTP client side in this process: PIPELINING on the wire, opportunistic
STARTTLS, the smarthost with AUTH, connection failures and expiry."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import sample_message
from mailboxes import store
from protocols.relay import deliver, plan
from protocols.relay.client import ClientConfig, Session

from .conftest import dsn_parts, inbox_messages
from .helpers import Sink


class PipelineProbe:
    """A bare SMTP server that, after EHLO, waits to see MAIL, both RCPTs and
    DATA arrive before it answers any of them (RFC 2920)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.grouped: bool | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        conn.settimeout(5)
        reader = conn.makefile("rb")
        conn.sendall(b"220 probe ESMTP\r\n")
        reader.readline()
        conn.sendall(b"250-probe\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
        group = [reader.readline() for _ in range(4)]  # blocks unless all four were sent at once
        self.grouped = [line.split(b":")[0].split(b" ")[0].strip() for line in group] == [
            b"MAIL",
            b"RCPT",
            b"RCPT",
            b"DATA",
        ]
        conn.sendall(b"250 ok\r\n250 ok\r\n550 5.1.1 nope\r\n354 go\r\n")
        while reader.readline() not in (b".\r\n", b""):
            pass
        conn.sendall(b"250 2.0.0 queued\r\n")
        reader.readline()
        conn.sendall(b"221 bye\r\n")
        conn.close()


def test_mail_rcpt_and_data_go_in_one_pipelined_group_when_offered():
    probe = PipelineProbe()
    session = Session(plan.Target("probe", "127.0.0.1", probe.port), ClientConfig(helo_name="relay.test", timeout=5))
    assert session.pipelining
    result = session.send("a@example.test", ["b@remote.test", "c@remote.test"], b"Subject: x\r\n\r\nbody\r\n")
    session.close()
    assert probe.grouped is True
    assert result.replies["b@remote.test"].code == 250
    assert (result.replies["c@remote.test"].code, result.replies["c@remote.test"].text) == (550, "5.1.1 nope")


def test_starttls_is_used_when_the_server_offers_it():
    sink = Sink(tls=True)
    try:
        session = Session(plan.Target("sink", "127.0.0.1", sink.port), ClientConfig(helo_name="relay.test"))
        assert session.tls
        result = session.send("a@example.test", ["ok@remote.test"], b"Subject: secret\r\n\r\nbody\r\n")
        session.close()
    finally:
        sink.close()
    assert result.replies["ok@remote.test"].code == 250
    assert len(sink.handler.messages) == 1


@pytest.mark.parametrize("password, state", [("right", "sent"), ("wrong", "deferred")])
def test_the_smarthost_gets_everything_with_authentication_over_tls(settings, alice, password, state):
    from protocols.tls import certificate_paths

    sink = Sink(tls=True, logins={"relayuser": "right"})
    settings.MAIL_RELAY_SMARTHOST = f"127.0.0.1:{sink.port}"
    settings.MAIL_RELAY_SMARTHOST_CA = str(certificate_paths()[0])  # it is verified (issue #15 item 6)
    settings.MAIL_RELAY_SMARTHOST_USER = "relayuser"
    settings.MAIL_RELAY_SMARTHOST_PASSWORD = password
    try:
        store.deliver(
            sample_message(to="x@one.test"),
            ["x@one.test", "y@two.test"],
            "alice@example.test",
            sender_account_id=alice.id,
        )
        deliver.run()
    finally:
        sink.close()
    rows = store.outbound_recipients(address="x@one.test") + store.outbound_recipients(address="y@two.test")
    assert [r.state for r in rows] == [state, state]
    if state == "sent":
        assert sink.logins == ["relayuser"]
        [got] = sink.handler.messages
        assert sorted(got.rcpt_tos) == ["x@one.test", "y@two.test"]
    else:
        assert "authentication failed" in rows[0].last_error


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_refused_connection_defers_with_backoff(settings, alice):
    settings.MAIL_RELAY_MX_OVERRIDE = f"down.test=127.0.0.1:{_closed_port()}"
    store.deliver(sample_message(to="x@down.test"), ["x@down.test"], "alice@example.test", sender_account_id=alice.id)
    before = timezone.now()
    deliver.run()
    [row] = store.outbound_recipients(address="x@down.test")
    assert row.state == "deferred" and row.attempts == 1
    assert "Connection" in row.last_error or "refused" in row.last_error
    assert row.next_attempt >= before + timedelta(seconds=settings.MAIL_RELAY_BACKOFF[0])
    assert inbox_messages(alice.id) == []


def test_a_message_past_its_lifetime_bounces_as_expired(settings, alice):
    from mailboxes.models import OutboundMessage  # the test ages the message; the store never would

    settings.MAIL_RELAY_MX_OVERRIDE = f"down.test=127.0.0.1:{_closed_port()}"
    store.deliver(
        sample_message(subject="Too late", to="x@down.test"),
        ["x@down.test"],
        "alice@example.test",
        sender_account_id=alice.id,
    )
    OutboundMessage.objects.update(created=timezone.now() - timedelta(seconds=settings.MAIL_RELAY_LIFETIME + 1))
    deliver.run()
    [row] = store.outbound_recipients(address="x@down.test")
    assert row.state == "failed"
    [dsn] = inbox_messages(alice.id)
    status, _ = dsn_parts(dsn)
    assert "Status: 4.4.7" in status and "x@down.test" in status


def test_a_kick_for_one_message_carries_other_due_mail_for_its_domain_on_the_same_connection(
    settings, fresh_sink, alice
):
    settings.MAIL_RELAY_MX_OVERRIDE = f"remote.test=127.0.0.1:{fresh_sink.port}"
    for i in range(3):
        store.deliver(
            sample_message(subject=f"batch {i}", to="ok@remote.test"),
            [f"r{i}@remote.test"],
            "alice@example.test",
            sender_account_id=alice.id,
        )
    first = store.outbound_recipients(address="r0@remote.test")[0].message_id
    assert deliver.run(message_id=first) == 3
    assert sorted(m.rcpt_tos[0] for m in fresh_sink.handler.messages) == [
        "r0@remote.test",
        "r1@remote.test",
        "r2@remote.test",
    ]
    assert fresh_sink.handler.connections == 1
