"""Bounces for our outbound mail (docs/DELIVERABILITY.md, "Bounces"): the
relay sends our users' mail with a VERP return path naming the queue entry;
a DSN (RFC 3464) the far side sends back to it through our MX still reaches
the sender's mailbox, is read onto the queue entry and shown on the
dashboard's queue page, where addresses that failed hard again and again
are listed. Over real sockets: our MX, the relay, an aiosmtpd sink."""

from __future__ import annotations

import smtplib

import pytest
from django.test import Client

from mailboxes import store, verp
from mailboxes.models import Account
from mailboxes.store.admin_types import Actor
from protocols.relay import deliver
from tests.relay.helpers import Sink

from .conftest import inbox


@pytest.fixture
def far_side(settings):  # type: ignore[no-untyped-def]
    sink = Sink()
    settings.MAIL_RELAY_MX_OVERRIDE = f"remote.test=127.0.0.1:{sink.port}"
    yield sink
    sink.close()


def postfix_style_dsn(to: str, recipient: str, status: str = "5.1.1", action: str = "failed") -> bytes:
    return (
        f"From: MAILER-DAEMON@mx.remote.test (Mail Delivery System)\r\nTo: {to}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.remote.test\r\nArrival-Date: Mon, 7 Dec 2026 20:00:00 +0000\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\nStatus: {status}\r\nRemote-MTA: dns; mx.remote.test\r\n"
        f"Diagnostic-Code: smtp; 550 {status} <{recipient}>: Recipient address rejected\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: alice@example.test\r\nSubject: Hello\r\n\r\n"
        "--B--\r\n"
    ).encode()


def bounce_back(port: int, return_path: str, recipient: str, **kwargs: str) -> None:
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.ehlo("mx.remote.test")
        client.sendmail("", [return_path], postfix_style_dsn(return_path, recipient, **kwargs))


def relayed(alice, far_side, to: str) -> str:  # type: ignore[no-untyped-def]
    store.deliver(
        b"From: alice@example.test\r\nTo: " + to.encode() + b"\r\nSubject: Hello\r\n\r\nHi.\r\n",
        [to],
        "alice@example.test",
        sender_account_id=alice.id,
    )
    deliver.run()
    return far_side.handler.to(to)[-1].mail_from


def root() -> Actor:
    return Actor(0, "root@example.test", True)


def test_a_bounce_to_the_verp_return_path_lands_on_the_queue_entry_and_in_the_inbox(
    alice, smtp_ports, far_side, settings
):
    return_path = relayed(alice, far_side, "gone@remote.test")
    assert return_path.startswith("alice+bnc-") and return_path.endswith("@example.test")
    bounce_back(smtp_ports["smtp"], return_path, "gone@remote.test")
    assert any(b"Undelivered Mail Returned to Sender" in m for m in inbox(alice.id))  # RFC 5233: alice's
    [row] = store.admin_list_queue(root(), state="sent").items
    assert row.address == "gone@remote.test"
    assert row.bounce == "5.1.1 550 5.1.1 <gone@remote.test>: Recipient address rejected"


def test_an_address_that_bounces_hard_twice_is_listed_on_the_queue_page(alice, smtp_ports, far_side, settings):
    for _ in range(2):
        bounce_back(smtp_ports["smtp"], relayed(alice, far_side, "gone@remote.test"), "gone@remote.test")
    bounce_back(
        smtp_ports["smtp"],
        relayed(alice, far_side, "full@remote.test"),
        "full@remote.test",
        status="4.2.2",
        action="delayed",
    )
    bounce_back(smtp_ports["smtp"], relayed(alice, far_side, "once@remote.test"), "once@remote.test")
    [listed] = store.admin_repeated_bounces(root())
    assert (listed.address, listed.count, listed.status) == ("gone@remote.test", 2, "5.1.1")
    root_account = store.create_account("root@example.test", "root-secret", superuser=True)
    client = Client()
    client.force_login(Account.objects.get(pk=root_account.id))
    page = client.get("/manage/queue/?state=sent").content.decode()
    assert 'id="repeated-bounces"' in page and "gone@remote.test</td><td class=\"num\">2<" in page
    assert page.count("bounced</span>") == 4


def test_a_forged_return_path_reaches_the_sender_but_not_the_queue(alice, smtp_ports, far_side, settings):
    return_path = relayed(alice, far_side, "gone@remote.test")
    message_id = verp.message_of(return_path, secret=store.srs.secret())
    assert message_id is not None
    forged = return_path.replace(f"bnc-{message_id}-", f"bnc-{message_id + 1}-")
    bounce_back(smtp_ports["smtp"], forged, "gone@remote.test")
    assert any(b"Undelivered Mail Returned to Sender" in m for m in inbox(alice.id))
    assert store.admin_list_queue(root(), state="sent").items[0].bounce == ""
