"""DSN (RFC 3461) end to end: parameters given at submission, kept in the
queue, passed on by the relay to a next hop that offers DSN (a local
aiosmtpd), and honoured by our own notices to one that does not: each
notice parsed with the email package and checked as RFC 3464 requires."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from email.message import Message

import pytest
from aiosmtpd.smtp import SMTP

from conftest import PASSWORDS
from mailboxes import store
from protocols.relay import deliver
from tests.servers import InProcessServer
from tests.smtp.conftest import plain_credentials
from tests.transcript import Transcript

from .conftest import inbox_messages
from .helpers import Sink

ALICE = "alice@example.test"
STORED = "250 2.0.0 Ok: stored as {{[0-9a-f]+}}"


class DsnSMTP(SMTP):
    """aiosmtpd (which knows no DSN) offering DSN and recording the
    parameters it is given (aiosmtpd would refuse them with 555)."""

    seen: list[str]

    async def smtp_MAIL(self, arg: str | None) -> None:
        await super().smtp_MAIL(self._record(arg, ("RET=", "ENVID=")))

    async def smtp_RCPT(self, arg: str | None) -> None:
        await super().smtp_RCPT(self._record(arg, ("NOTIFY=", "ORCPT=")))

    def _record(self, arg: str | None, names: tuple[str, ...]) -> str | None:
        words = (arg or "").split(" ")
        self.seen.extend(w for w in words if w.upper().startswith(names))
        return " ".join(w for w in words if not w.upper().startswith(names)) or arg


class DsnHandler:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
        session.host_name = hostname
        return responses[:-1] + ["250-DSN"] + responses[-1:]

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(envelope.original_content)
        return "250 2.0.0 OK"


class DsnSink:
    def __init__(self) -> None:
        self.handler = DsnHandler()
        self.seen: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        def factory() -> SMTP:
            smtp = DsnSMTP(self.handler, hostname="mx.dsn.test", loop=self.loop)
            smtp.seen = self.seen
            return smtp

        self.server = asyncio.run_coroutine_threadsafe(
            self.loop.create_server(factory, "127.0.0.1", 0), self.loop
        ).result(10)
        self.port = self.server.sockets[0].getsockname()[1]

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def submission_port() -> Iterator[int]:
    with InProcessServer(["submission"]) as server:
        yield server.ports["submission"]


def submit(port: int, mail_params: str, rcpts: list[tuple[str, str]], body: str = "Subject: dsn\r\n\r\nhi") -> None:
    """alice sends over submission with these DSN parameters."""
    with Transcript("127.0.0.1", port) as t:
        t.run("""
            S: 220 {{\\S+}} ESMTP Mailhost
            C: EHLO client.test
        """)
        while not t.expect("250{{[- ]}}{{.*}}")[0] == " ":
            pass
        t.run(f"""
            C: AUTH PLAIN {plain_credentials(ALICE, PASSWORDS[ALICE])}
            S: 235 2.7.0 Authentication successful
            C: MAIL FROM:<{ALICE}>{mail_params}
            S: 250 2.1.0 Sender ok
        """)
        for address, params in rcpts:
            t.run(f"C: RCPT TO:<{address}>{params}\nS: 250 2.1.5 Recipient ok")
        t.run(
            "C: DATA\nS: 354 {{.*}}\n" + "".join(f"C: {line}\n" for line in body.split("\r\n")) + f"C: .\nS: {STORED}"
        )


def report(message: Message) -> tuple[Message, list[Message], Message]:
    """RFC 3464 2: a multipart/report of delivery-status whose first part is
    human-readable, second message/delivery-status (per-message fields, then
    per-recipient groups), third the returned message or its headers."""
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    parts = message.get_payload()
    assert isinstance(parts, list) and len(parts) == 3
    assert parts[0].get_content_type() == "text/plain"
    assert parts[1].get_content_type() == "message/delivery-status"
    groups = parts[1].get_payload()
    assert isinstance(groups, list) and len(groups) >= 2
    per_message, recipients = groups[0], groups[1:]
    assert per_message["Reporting-MTA"].startswith("dns;")
    for group in recipients:  # RFC 3464 2.3: each names its recipient, action and status
        assert group["Final-Recipient"].startswith("rfc822;")
        assert group["Action"] in ("failed", "delayed", "delivered", "relayed", "expanded")
        assert group["Status"][0] in "245" and group["Status"].count(".") == 2
    return per_message, recipients, parts[2]


def test_a_next_hop_offering_dsn_gets_the_parameters_and_we_send_no_success_notice(settings, alice, submission_port):
    sink = DsnSink()
    try:
        settings.MAIL_RELAY_MX_OVERRIDE = f"remote.test=127.0.0.1:{sink.port}"
        submit(
            submission_port,
            " RET=HDRS ENVID=QQ+2B7",
            [("bob@remote.test", " NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+40remote.test")],
        )
        deliver.run()
    finally:
        sink.close()
    [row] = store.outbound_recipients(address="bob@remote.test")
    assert row.state == "sent" and len(sink.handler.messages) == 1
    # The same xtext values (RFC 3461 4): "@" needs no escape, "+" does.
    assert sink.seen == ["RET=HDRS", "ENVID=QQ+2B7", "NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;Bob@remote.test"]
    assert inbox_messages(alice.id) == []  # the next hop reports success itself (RFC 3461 5.2.2)


def test_a_next_hop_without_dsn_makes_us_send_the_relayed_notice_with_envid_and_orcpt(settings, alice, submission_port):
    sink = Sink()
    try:
        settings.MAIL_RELAY_MX_OVERRIDE = f"remote.test=127.0.0.1:{sink.port}"
        submit(
            submission_port,
            " ENVID=env-1",
            [("bob@remote.test", " NOTIFY=SUCCESS ORCPT=rfc822;bob+40remote.test"), ("carol@remote.test", "")],
        )
        deliver.run()
    finally:
        sink.close()
    assert [r.state for r in store.outbound_recipients(message_id=None, address="bob@remote.test")] == ["sent"]
    [notice] = inbox_messages(alice.id)  # for bob only: carol asked nothing, and success is not reported by default
    per_message, [bob], returned = report(notice)
    assert per_message["Original-Envelope-Id"] == "env-1"
    assert bob["Original-Recipient"] == "rfc822;bob@remote.test"
    assert bob["Final-Recipient"] == "rfc822; bob@remote.test"
    assert (bob["Action"], bob["Status"]) == ("relayed", "2.0.0")
    assert returned.get_content_type() == "text/rfc822-headers"
    assert "Subject: dsn" in returned.get_payload()


@pytest.mark.parametrize(
    "notify, ret, notice",
    [
        (" NOTIFY=NEVER", "", None),
        (" NOTIFY=SUCCESS", "", None),
        (" NOTIFY=FAILURE", " RET=FULL", "message/rfc822"),
        ("", "", "text/rfc822-headers"),
    ],
    ids=["never", "success-only", "failure-ret-full", "default"],
)
def test_our_failure_notice_honours_notify_and_ret(settings, alice, submission_port, notify, ret, notice):
    sink = Sink()
    try:
        settings.MAIL_RELAY_MX_OVERRIDE = f"remote.test=127.0.0.1:{sink.port}"
        submit(
            submission_port,
            ret + " ENVID=e2",
            [("nobody@remote.test", notify + " ORCPT=rfc822;nobody+40remote.test")],
            body="Subject: refused\r\n\r\nthe whole body",
        )
        deliver.run()
    finally:
        sink.close()
    [row] = store.outbound_recipients(address="nobody@remote.test")
    assert row.state == "failed"
    notices = inbox_messages(alice.id)
    if notice is None:
        assert notices == []
        return
    [bounce] = notices
    per_message, [nobody], returned = report(bounce)
    assert per_message["Original-Envelope-Id"] == "e2"
    assert nobody["Original-Recipient"] == "rfc822;nobody@remote.test"
    assert (nobody["Action"], nobody["Status"]) == ("failed", "5.1.1")
    assert nobody["Diagnostic-Code"] == "smtp; 550 5.1.1 No such user here"
    assert returned.get_content_type() == notice
    if notice == "message/rfc822":
        [original] = returned.get_payload()
        assert original["Subject"] == "refused" and original.get_payload().rstrip() == "the whole body"


def test_a_success_notice_for_local_delivery_says_delivered(alice, bob, submission_port):
    submit(submission_port, " ENVID=local-1", [("bob@example.test", " NOTIFY=SUCCESS ORCPT=rfc822;bob+40example.test")])
    assert len(inbox_messages(bob.id)) == 1
    [notice] = inbox_messages(alice.id)
    assert notice["To"] == f"<{ALICE}>" and notice["Auto-Submitted"] == "auto-replied"
    per_message, [delivered], _ = report(notice)
    assert per_message["Original-Envelope-Id"] == "local-1"
    assert (delivered["Action"], delivered["Status"]) == ("delivered", "2.0.0")
    assert delivered["Original-Recipient"] == "rfc822;bob@example.test"


def test_a_success_notice_for_an_alias_of_several_recipients_says_expanded(alice, bob, submission_port):
    store.create_alias("team@example.test", ["bob@example.test", "carol@remote.test"])
    store.create_alias("solo@example.test", ["bob@example.test"])
    submit(
        submission_port,
        " ENVID=local-2",
        [
            ("team@example.test", " NOTIFY=SUCCESS"),
            ("solo@example.test", " NOTIFY=SUCCESS ORCPT=rfc822;solo+40example.test"),
        ],
    )
    notices = {n["Subject"]: n for n in inbox_messages(alice.id)}
    # RFC 3461 6.2.7.3: an alias that passes the message on to several recipients reports "expanded"
    # (not a terminal state); one that stands for a single mailbox is its delivery.
    assert set(notices) == {"Successful Mail Delivery Report", "Successful Mail Delivery Report (expanded)"}
    _, [expanded], _ = report(notices["Successful Mail Delivery Report (expanded)"])
    assert (expanded["Final-Recipient"], expanded["Action"]) == ("rfc822; team@example.test", "expanded")
    _, [delivered], _ = report(notices["Successful Mail Delivery Report"])
    assert (delivered["Final-Recipient"], delivered["Action"]) == ("rfc822; solo@example.test", "delivered")
    assert delivered["Original-Recipient"] == "rfc822;solo@example.test"


@pytest.mark.parametrize("notify, warned", [(" NOTIFY=FAILURE", False), (" NOTIFY=DELAY,FAILURE", True), ("", True)])
def test_our_delay_notice_goes_only_where_notify_asks_for_it(settings, alice, submission_port, notify, warned):
    from datetime import timedelta

    from django.utils import timezone

    from mailboxes.models import OutboundMessage  # the test ages the message; the store never would

    sink = Sink()
    try:
        settings.MAIL_RELAY_MX_OVERRIDE = f"remote.test=127.0.0.1:{sink.port}"
        submit(submission_port, "", [("later@remote.test", notify + " ORCPT=rfc822;later+40remote.test")])
        OutboundMessage.objects.update(
            created=timezone.now() - timedelta(seconds=settings.MAIL_RELAY_DELAY_WARNING + 60)
        )
        deliver.run()
    finally:
        sink.close()
    [row] = store.outbound_recipients(address="later@remote.test")
    assert row.state == "deferred"
    notices = inbox_messages(alice.id)
    assert len(notices) == int(warned)
    if warned:
        _, [later], _ = report(notices[0])
        assert (later["Action"], later["Status"]) == ("delayed", "4.3.0")
        assert later["Original-Recipient"] == "rfc822;later@remote.test" and later["Will-Retry-Until"]
