"""A user's forwarding and mail loops (issue #15 item 8), over real sockets:
forwarding to another host happens only while the account's domain allows
external forwards, checked at delivery too; a message with more than 50
Received: fields is refused with 554 5.4.6 (RFC 5321 6.3) on the MX and on
submission, so a loop through another host ends."""

from __future__ import annotations

import pytest

from mailboxes import store
from mailboxes.models import Domain, OutboundRecipient
from tests.transcript import Transcript

from .conftest import ALICE, AUTH_ALICE, EHLO_SUBMISSION, GREETING, HELO, inbox, open_data, send_script

BOB = "bob@example.test"
LOOP = "554 5.4.6 Too many Received: fields, probably a mail loop (RFC 5321 6.3)"


def hops(n: int) -> bytes:
    return b"".join(
        b"Received: from hop%d.test by hop%d.test; Mon, 30 Nov 2026 07:00:00 +0000\r\n" % (i, i + 1) for i in range(n)
    )


def test_a_forward_saved_before_the_domain_said_no_is_not_followed_at_delivery(mx, bob):
    Domain.objects.filter(name="example.test").update(allow_external_forwards=True)
    store.save_preferences(bob.id, store.Preferences(forward_to="elsewhere@remote.test", forward_keep_copy=False))
    Domain.objects.filter(name="example.test").update(allow_external_forwards=False)
    mx.run(HELO + send_script("sender@remote.test", [BOB], "Subject: stays"))
    assert not OutboundRecipient.objects.exists()
    assert len(inbox(bob.id)) == 2  # the message, and the notice that the forward (a Sieve redirect) failed


def test_a_forward_to_another_host_is_followed_where_the_domain_allows_it(mx, bob):
    Domain.objects.filter(name="example.test").update(allow_external_forwards=True)
    store.save_preferences(bob.id, store.Preferences(forward_to="elsewhere@remote.test", forward_keep_copy=False))
    mx.run(HELO + send_script("sender@remote.test", [BOB], "Subject: goes"))
    assert list(OutboundRecipient.objects.values_list("address", flat=True)) == ["elsewhere@remote.test"]
    assert inbox(bob.id) == []


@pytest.mark.parametrize("count, stored", [(50, True), (51, False), (300, False)])
def test_the_mx_refuses_a_message_with_more_than_50_received_fields(mx, alice, count, stored):
    mx.run(HELO + open_data())
    mx.send(hops(count) + b"Subject: around and around\r\n\r\nbody\r\n.\r\n")
    if stored:
        mx.expect("250 2.0.0 Ok: stored as {{[0-9a-f]+}}")
    else:
        mx.expect(LOOP)
    assert len(inbox(alice.id)) == (1 if stored else 0)
    mx.run(send_script("sender@remote.test", [ALICE], "Subject: the session goes on"))


def test_received_fields_in_the_body_do_not_count(mx, alice):
    mx.run(HELO + open_data())
    mx.send(b"Subject: quoting\r\n\r\n" + hops(60) + b".\r\n")
    mx.expect("250 2.0.0 Ok: stored as {{[0-9a-f]+}}")


def test_submission_refuses_a_looping_message_too(smtp_ports, users):
    with Transcript("127.0.0.1", smtp_ports["submission"]) as t:
        t.expect(GREETING)
        t.run(EHLO_SUBMISSION + AUTH_ALICE + open_data(("far@remote.test",), ALICE))
        t.send(hops(51) + b"From: alice@example.test\r\nSubject: loop\r\n\r\nbody\r\n.\r\n")
        t.expect(LOOP)
    assert not OutboundRecipient.objects.exists()
