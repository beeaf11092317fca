"""Mail submitted by an authenticated client (issue #24 item 2): its envelope
recipients join the sender's address book as automatic contacts, named as
the To and Cc fields name them, the same way the webmail's sending adds
them; a full address book or an odd field never costs the submission its
250. Python's smtplib over real sockets on the submission (STARTTLS) and
SMTPS ports."""

from __future__ import annotations

import smtplib
import ssl

import pytest

from conftest import PASSWORDS
from mailboxes import store
from mailboxes.store import contacts

from .conftest import inbox

ALICE, BOB = "alice@example.test", "bob@example.test"
MESSAGE = (
    b"From: Alice <alice@example.test>\r\n"
    b"To: =?utf-8?q?Bob_Bj=C3=B6rk?= <BOB@example.test>, undisclosed-recipients:;\r\n"
    b'Cc: "Friend, Far" <friend@remote.test>, not an address\r\n'
    b"Subject: plans\r\n\r\nSee you.\r\n"
)


def submit(ports: dict[str, int], tls: ssl.SSLContext, listener: str, recipients: list[str], data: bytes) -> dict:
    """Log in as alice, send; smtplib's refused recipients (an exception for any other refusal)."""
    if listener == "smtps":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL("127.0.0.1", ports["smtps"], context=tls, timeout=30)
    else:
        smtp = smtplib.SMTP("127.0.0.1", ports["submission"], timeout=30)
        smtp.starttls(context=tls)
    with smtp:
        smtp.login(ALICE, PASSWORDS[ALICE])
        return smtp.sendmail(ALICE, recipients, data)


@pytest.mark.parametrize("listener", ["submission", "smtps"])
def test_the_people_a_submission_goes_to_become_contacts_named_by_the_header(
    smtp_ports, client_tls, alice, bob, listener
):
    refused = submit(smtp_ports, client_tls, listener, [BOB, "friend@remote.test", "hidden@remote.test"], MESSAGE)
    assert refused == {}
    assert len(inbox(bob.id)) == 1
    book = {c.addresses[0]: c for c in store.list_contacts(alice.id)}
    assert {a: (c.name, c.auto) for a, c in book.items()} == {
        "bob@example.test": ("Bob Björk", True),
        "friend@remote.test": ("Friend, Far", True),
        "hidden@remote.test": ("", True),  # Bcc: in no field, so no name
    }
    assert store.list_contacts(bob.id) == []  # the recipient's book is not the sender's


def test_a_known_address_keeps_its_contact_and_its_name(smtp_ports, client_tls, alice):
    store.save_contact(alice.id, None, name="Bobby", addresses=[BOB])
    submit(smtp_ports, client_tls, "submission", [BOB], MESSAGE)
    [bobby] = store.list_contacts(alice.id)
    assert bobby.name == "Bobby" and not bobby.auto


def test_a_full_address_book_still_gets_the_message_sent(smtp_ports, client_tls, alice, bob, monkeypatch):
    store.save_contact(alice.id, None, name="Only room for me", addresses=["me@x.test"])
    monkeypatch.setattr(contacts, "MAX_CONTACTS", 1)  # the server runs in this process
    assert submit(smtp_ports, client_tls, "submission", [BOB, "friend@remote.test"], MESSAGE) == {}
    assert len(inbox(bob.id)) == 1
    assert [c.name for c in store.list_contacts(alice.id)] == ["Only room for me"]


def test_mail_from_another_host_adds_no_contacts(mx, alice, bob):
    mx.run(
        """
        C: HELO client.test
        S: 250 {{\\S+}}
        C: MAIL FROM:<someone@remote.test>
        S: 250 2.1.0 Sender ok
        C: RCPT TO:<alice@example.test>
        S: 250 2.1.5 Recipient ok
        C: DATA
        S: 354 {{.*}}
        """
    )
    mx.send(b"From: someone@remote.test\r\nTo: alice@example.test, bob@example.test\r\nSubject: hi\r\n\r\nx\r\n.\r\n")
    assert mx.read_line().startswith(b"250 ")
    assert len(inbox(alice.id)) == 1
    assert store.list_contacts(alice.id) == [] and store.list_contacts(bob.id) == []
