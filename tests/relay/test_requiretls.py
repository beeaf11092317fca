"""REQUIRETLS (RFC 8689 4.2) in the relay: a message that asked for it goes
only over TLS whose certificate was verified (MTA-STS, DANE, the smarthost)
to a host that offers REQUIRETLS, passing the parameter on; otherwise it
bounces with 5.7.10."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import PASSWORDS
from mailboxes import store
from mailboxes.models import OutboundMessage
from protocols.relay import deliver
from tests.servers import InProcessServer

from .conftest import dsn_parts, inbox_messages
from .helpers import Sink
from .test_extensions import Probe

ALICE = "alice@example.test"
MESSAGE = b"From: alice@example.test\r\nSubject: secret\r\n\r\nonly over verified TLS\r\n"


def queue(alice, recipient: str = "friend@remote.test") -> None:  # type: ignore[no-untyped-def]
    store.deliver_final(
        MESSAGE, [recipient], ALICE, sender_account_id=alice.id, parameters=store.EnvelopeParameters(require_tls=True)
    )


def smarthost(settings, port: int) -> None:  # type: ignore[no-untyped-def]
    from protocols.tls import certificate_paths

    settings.MAIL_RELAY_SMARTHOST = f"127.0.0.1:{port}"
    settings.MAIL_RELAY_SMARTHOST_CA = str(certificate_paths()[0])  # verified TLS
    settings.MAIL_RELAY_SMARTHOST_USER = ALICE
    settings.MAIL_RELAY_SMARTHOST_PASSWORD = PASSWORDS[ALICE]


def bounced_with_5_7_10(alice, text: str) -> None:  # type: ignore[no-untyped-def]
    [row] = store.outbound_recipients(address="friend@remote.test")
    assert row.state == "failed" and text in row.last_error
    [bounce] = inbox_messages(alice.id)
    report, _ = dsn_parts(bounce)
    assert "Status: 5.7.10" in report and "Action: failed" in report


def test_an_mx_without_a_verified_tls_policy_gets_nothing_and_the_sender_a_bounce(settings, alice):
    probe = Probe("PIPELINING", "REQUIRETLS")  # it offers REQUIRETLS, but neither TLS nor MTA-STS nor DANE
    settings.MAIL_RELAY_MX_OVERRIDE = f"remote.test=127.0.0.1:{probe.port}"
    queue(alice)
    deliver.run()
    probe.thread.join(10)
    assert probe.sent(b"MAIL") == []
    bounced_with_5_7_10(alice, "no verified TLS")


def test_a_verified_smarthost_that_does_not_offer_requiretls_gets_nothing(settings, alice):
    sink = Sink(tls=True, logins={ALICE: PASSWORDS[ALICE]})
    try:
        smarthost(settings, sink.port)
        queue(alice)
        deliver.run()
    finally:
        sink.close()
    assert sink.handler.messages == []
    bounced_with_5_7_10(alice, "does not offer REQUIRETLS")


@pytest.fixture
def our_submission() -> Iterator[int]:
    with InProcessServer(["submission"]) as server:
        yield server.ports["submission"]


def test_a_verified_host_offering_requiretls_gets_the_message_with_the_parameter(settings, alice, our_submission):
    # Our own submission listener as the smarthost: it offers REQUIRETLS after
    # STARTTLS, and queues what it takes with the parameter it was given.
    smarthost(settings, our_submission)
    queue(alice)
    first = OutboundMessage.objects.get()
    deliver.run(message_id=first.pk)
    [row] = store.outbound_recipients(message_id=first.pk)
    assert row.state == "sent", row.last_error
    again = OutboundMessage.objects.exclude(pk=first.pk).get()
    assert again.require_tls is True and bytes(again.blob.data).endswith(MESSAGE)
    assert inbox_messages(alice.id) == []
