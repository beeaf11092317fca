"""SRS for forwarded mail (docs/DELIVERABILITY.md): a message our MX
forwards to another host leaves with a signed, dated SRS0 envelope sender
at MAIL_SRS_DOMAIN; the far side's bounce to it is accepted at our MX and
relayed back to the original sender; a forged or expired one is refused at
RCPT. Over real sockets: our MX, the relay, and aiosmtpd sinks for the far
sides."""

from __future__ import annotations

import smtplib
import time

import pytest

from mailboxes import srs, store
from mailboxes.models import Domain
from protocols.relay import deliver
from tests.relay.helpers import Sink

SECRET = b"test-secret"
NOW = 1_765_000_000.0


@pytest.mark.parametrize(
    "address", ["bob@sender.example", "SRS0=abcdefgh=ab=other.example=carol@fwd.example", "a.b+c@sub.sender.example"]
)
def test_a_rewritten_sender_reverses_to_the_original(address):
    rewritten = srs.forward(address, secret=SECRET, domain="mx.example.test", now=NOW)
    assert rewritten.startswith("SRS0=") and rewritten.endswith("@mx.example.test")
    assert srs.reverse(rewritten, secret=SECRET, now=NOW + 86400 * 3, max_age_days=21) == address
    assert srs.reverse(rewritten.upper(), secret=SECRET, now=NOW, max_age_days=21).lower() == address.lower()


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda a: a.replace("SRS0=", "SRS0=x", 1), "bad hash"),
        (
            lambda a: a.replace("@sender.example", "@evil.example").replace("=sender.example=", "=evil.example="),
            "bad hash",
        ),
        (lambda a: "SRS0=only=two@mx.example.test", "malformed"),
        (lambda a: "bob@mx.example.test", "not an SRS"),
    ],
)
def test_a_forged_srs_address_is_refused(change, reason):
    rewritten = srs.forward("bob@sender.example", secret=SECRET, domain="mx.example.test", now=NOW)
    with pytest.raises(srs.SrsError, match=reason):
        srs.reverse(change(rewritten), secret=SECRET, now=NOW, max_age_days=21)
    with pytest.raises(srs.SrsError, match="bad hash"):
        srs.reverse(rewritten, secret=b"another key", now=NOW, max_age_days=21)


def test_an_srs_address_expires_after_max_age_days():
    rewritten = srs.forward("bob@sender.example", secret=SECRET, domain="mx.example.test", now=NOW)
    assert srs.reverse(rewritten, secret=SECRET, now=NOW + 21 * 86400, max_age_days=21)
    with pytest.raises(srs.SrsError, match="expired"):
        srs.reverse(rewritten, secret=SECRET, now=NOW + 22 * 86400, max_age_days=21)


@pytest.fixture
def far_side(settings):  # type: ignore[no-untyped-def]
    sink = Sink()
    settings.MAIL_RELAY_MX_OVERRIDE = f"remote.test=127.0.0.1:{sink.port},sender.example=127.0.0.1:{sink.port}"
    settings.MAIL_SRS_DOMAIN = "mx.example.test"
    settings.MAIL_SRS_SECRET = "test-secret"
    yield sink
    sink.close()


def send(port: int, sender: str, recipient: str, body: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.ehlo("far.remote.test")
        client.sendmail(sender, [recipient], body)


@pytest.mark.parametrize("forward", ["alias", "account forwarding", "sieve redirect"])
def test_a_forward_leaves_with_an_srs_sender_and_its_bounce_returns_to_the_original(
    users, bob, smtp_ports, far_side, forward
):
    Domain.objects.filter(name="example.test").update(allow_external_forwards=True)
    if forward == "alias":
        store.create_alias("fwd@example.test", ["elsewhere@remote.test"])
        target = "fwd@example.test"
    elif forward == "account forwarding":
        store.save_preferences(bob.id, store.Preferences(forward_to="elsewhere@remote.test", forward_keep_copy=False))
        target = "bob@example.test"
    else:
        store.put_script(bob.id, "fwd", 'redirect "elsewhere@remote.test";')
        store.activate_script(bob.id, "fwd")
        target = "bob@example.test"
    send(
        smtp_ports["smtp"],
        "bob@sender.example",
        target,
        b"From: bob@sender.example\r\nTo: " + target.encode() + b"\r\nSubject: forwarded\r\n\r\nHi.\r\n",
    )
    deliver.run()
    [forwarded] = far_side.handler.to("elsewhere@remote.test")
    sender = forwarded.mail_from
    assert sender.startswith("SRS0=") and sender.endswith("=sender.example=bob@mx.example.test")

    # the far side gives up and bounces to the rewritten sender: back to bob at sender.example
    send(
        smtp_ports["smtp"],
        "",
        sender,
        b"From: MAILER-DAEMON@remote.test\r\nSubject: Undelivered Mail\r\n\r\nelsewhere@remote.test: mailbox full\r\n",
    )
    deliver.run()
    [bounce] = far_side.handler.to("bob@sender.example")
    assert bounce.mail_from == "<>" and b"mailbox full" in bounce.data


def test_our_own_users_mail_and_the_null_sender_are_not_rewritten(users):
    assert store.srs.forward_sender("alice@example.test", None) == "alice@example.test"
    assert store.srs.forward_sender("", None) == ""
    assert store.srs.forward_sender("someone@else.example", users["alice@example.test"].id) == "someone@else.example"


@pytest.mark.parametrize("tamper", ["forged", "expired"])
def test_a_bounce_to_a_forged_or_expired_srs_address_is_refused_at_rcpt(users, smtp_ports, far_side, tamper):
    when = time.time() - (30 * 86400 if tamper == "expired" else 0)
    address = srs.forward("victim@sender.example", secret=SECRET, domain="mx.example.test", now=when)
    if tamper == "forged":
        address = address.replace("=victim@", "=other@")
    with smtplib.SMTP("127.0.0.1", smtp_ports["smtp"]) as client:
        client.ehlo("far.remote.test")
        client.mail("")
        code, _ = client.rcpt(address)
    assert code == 550
