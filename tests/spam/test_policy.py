"""Per-domain spam settings (dashboard) and per-account allow lists
(webmail), passed to rspamd with each message, over a real socket."""

from __future__ import annotations

import smtplib
import time
import uuid

from conftest import sample_message
from mailboxes import store

from .conftest import GTUBE_REJECT, folder, message
from .test_scan_at_data import LUNCH, send


def root() -> store.Actor:
    account = store.create_account(f"root-{uuid.uuid4().hex[:6]}@example.test", "root-secret", superuser=True)
    actor = store.admin_actor(account.id)
    assert actor is not None
    return actor


def set_policy(**changes: object) -> None:
    store.admin_set_spam_settings(root(), "example.test", store.SpamSettings(**changes))  # type: ignore[arg-type]


def fresh_sender() -> str:
    """Greylisting remembers senders in Redis across runs: a new one each time."""
    return f"s{uuid.uuid4().hex[:10]}@remote.test"


def test_greylisting_gives_451_then_accepts_the_retry_after_the_delay(scanning, smtp_ports, alice):
    set_policy(greylist_score=-100.0)  # every message is doubtful enough
    sender = fresh_sender()
    data = message(LUNCH + uuid.uuid4().hex, sender=sender)
    code, text = send(smtp_ports["smtp"], data, sender=sender)
    assert (code, text) == (451, b"4.7.1 Greylisted, try again later")
    assert send(smtp_ports["smtp"], data, sender=sender)[0] == 451  # too early
    time.sleep(2.5)  # the suite's rspamd greylists for two seconds
    assert send(smtp_ports["smtp"], data, sender=sender)[0] == 250
    assert len(folder(alice.id, "INBOX")) == 1


def test_a_domain_with_greylisting_off_is_not_greylisted(scanning, smtp_ports, alice):
    set_policy(greylist_score=-100.0, greylisting=False)
    sender = fresh_sender()
    assert send(smtp_ports["smtp"], message(LUNCH, sender=sender), sender=sender)[0] == 250


def test_a_past_correspondent_of_the_recipient_is_not_greylisted(scanning, smtp_ports, alice):
    set_policy(greylist_score=-100.0)
    sender = fresh_sender()
    store.append(alice.id, "Sent", sample_message("Our trip", sender="alice@example.test", to=sender), ["\\Seen"])
    assert send(smtp_ports["smtp"], message(LUNCH, sender=sender), sender=sender)[0] == 250


def test_a_sender_on_the_domains_allow_list_is_never_refused_and_others_are(scanning, smtp_ports, alice):
    set_policy(reject_score=-50.0, allow=("friends.test",))
    assert (
        send(smtp_ports["smtp"], message(LUNCH, sender="a@mail.friends.test"), sender="a@mail.friends.test")[0] == 250
    )
    assert send(smtp_ports["smtp"], message(LUNCH))[0] == 550
    [stored] = folder(alice.id, "INBOX")
    assert b"Return-Path: <a@mail.friends.test>" in stored and b"X-Spam-Status: No" in stored


def test_a_sender_on_the_domains_block_list_is_refused(scanning, smtp_ports, alice):
    set_policy(block=("pest@remote.test",))
    code, text = send(smtp_ports["smtp"], message(LUNCH, sender="pest@remote.test"), sender="pest@remote.test")
    assert (code, text) == (550, b"5.7.1 Message rejected as spam")
    assert folder(alice.id, "INBOX") == []


def test_a_recipients_never_junk_list_keeps_the_sender_in_the_inbox_for_that_recipient_only(
    scanning, smtp_ports, alice, bob
):
    set_policy(junk_score=-50.0, greylisting=False)  # every message is Junk, at once
    store.save_spam_allow_list(alice.id, ["remote.test"])
    with smtplib.SMTP("127.0.0.1", smtp_ports["smtp"], timeout=30) as smtp:
        smtp.sendmail("news@remote.test", ["alice@example.test", "bob@example.test"], message(LUNCH))
    assert len(folder(alice.id, "INBOX")) == 1 and folder(alice.id, "Junk") == []
    assert len(folder(bob.id, "Junk")) == 1 and folder(bob.id, "INBOX") == []


def test_a_domain_with_scanning_off_is_not_scanned(scanning, smtp_ports, alice):
    set_policy(enabled=False)
    assert send(smtp_ports["smtp"], message(GTUBE_REJECT))[0] == 250
    [stored] = folder(alice.id, "INBOX")
    assert b"X-Spam-" not in stored
