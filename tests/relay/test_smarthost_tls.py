"""The smarthost's certificate and name are verified before the relay logs
in (issue #15 item 6): a real aiosmtpd smarthost on 127.0.0.1 with a
self-signed certificate for "localhost" is refused without the CA that
signed it, accepted with it (MAIL_RELAY_SMARTHOST_CA), and refused under a
name its certificate does not carry. MX hosts stay opportunistic (RFC 7435)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import sample_message
from mailboxes import store
from protocols.relay import deliver

from .helpers import Sink, self_signed


@pytest.fixture(params=["starttls", "tls"])
def smarthost(request, tmp_path, settings) -> Iterator[tuple[Sink, str]]:  # type: ignore[no-untyped-def]
    """The smarthost, with STARTTLS on 587 or implicit TLS on 465 (MAIL_RELAY_SMARTHOST_TLS)."""
    context, ca = self_signed(tmp_path, "localhost")
    settings.MAIL_RELAY_SMARTHOST_TLS = request.param
    sink = Sink(logins={"relayuser": "right"}, tls_context=context, implicit_tls=request.param == "tls")
    yield sink, str(ca)
    sink.close()


def relay_through(settings, alice, sink: Sink, *, host: str, ca: str) -> store.OutboundRecipientInfo:  # type: ignore[no-untyped-def]
    settings.MAIL_RELAY_SMARTHOST = f"{host}:{sink.port}"
    settings.MAIL_RELAY_SMARTHOST_USER = "relayuser"
    settings.MAIL_RELAY_SMARTHOST_PASSWORD = "right"
    settings.MAIL_RELAY_SMARTHOST_CA = ca
    store.deliver(
        sample_message(sender="alice@example.test", to="x@one.test"),
        ["x@one.test"],
        "alice@example.test",
        sender_account_id=alice.id,
    )
    deliver.run()
    [row] = store.outbound_recipients(address="x@one.test")
    return row


def test_a_smarthost_whose_certificate_no_trusted_ca_signed_is_refused_before_the_login(settings, alice, smarthost):
    sink, _ca = smarthost
    row = relay_through(settings, alice, sink, host="localhost", ca="")
    assert row.state == "deferred"
    assert "self-signed certificate" in row.last_error  # our words (STARTTLS) or OpenSSL's (implicit TLS)
    assert sink.logins == [] and sink.handler.messages == []


def test_a_smarthost_is_accepted_with_the_ca_that_signed_its_certificate(settings, alice, smarthost):
    sink, ca = smarthost
    row = relay_through(settings, alice, sink, host="localhost", ca=ca)
    assert row.state == "sent"
    assert sink.logins == ["relayuser"] and len(sink.handler.messages) == 1


def test_a_smarthost_reached_under_a_name_its_certificate_does_not_carry_is_refused(settings, alice, smarthost):
    sink, ca = smarthost
    row = relay_through(settings, alice, sink, host="127.0.0.1", ca=ca)
    assert row.state == "deferred"
    assert "mismatch" in row.last_error
    assert sink.logins == [] and sink.handler.messages == []


def test_starttls_to_an_mx_host_stays_opportunistic_and_unverified(settings, alice, tmp_path):
    context, _ca = self_signed(tmp_path, "localhost")
    sink = Sink(tls_context=context)
    settings.MAIL_RELAY_MX_OVERRIDE = f"one.test=127.0.0.1:{sink.port}"
    try:
        store.deliver(
            sample_message(sender="alice@example.test", to="x@one.test"),
            ["x@one.test"],
            "alice@example.test",
            sender_account_id=alice.id,
        )
        deliver.run()
    finally:
        sink.close()
    [row] = store.outbound_recipients(address="x@one.test")
    assert row.state == "sent" and len(sink.handler.messages) == 1
