"""Scanning at DATA, before the 250 (protocols/smtp/spam.py), over a real
socket against the suite's rspamd: its test patterns decide the action."""

from __future__ import annotations

import smtplib

import pytest

from mailboxes import store

from .conftest import GTUBE_ADD_HEADER, GTUBE_REJECT, GTUBE_REWRITE_SUBJECT, folder, free_port, message

LUNCH = "Shall we meet for lunch on Thursday at the usual place near the station, around half past twelve?"


def send(port: int, data: bytes, sender: str = "sender@remote.test") -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo("mx.remote.test")
        try:
            smtp.sendmail(sender, ["alice@example.test"], data)
        except smtplib.SMTPDataError as refused:
            return refused.smtp_code, refused.smtp_error
    return 250, b""


def test_the_reject_pattern_gets_550_with_rspamds_message_and_nothing_is_stored(scanning, smtp_ports, alice):
    code, text = send(smtp_ports["smtp"], message(GTUBE_REJECT))
    assert (code, text) == (550, b"5.7.1 Gtube pattern")
    assert folder(alice.id, "INBOX") == [] and folder(alice.id, "Junk") == []


@pytest.mark.parametrize("pattern", [GTUBE_ADD_HEADER, GTUBE_REWRITE_SUBJECT], ids=["add-header", "rewrite-subject"])
def test_a_message_rspamd_marks_as_spam_lands_in_junk_with_the_spam_fields(scanning, smtp_ports, alice, pattern):
    assert send(smtp_ports["smtp"], message(pattern))[0] == 250
    assert folder(alice.id, "INBOX") == []
    [stored] = folder(alice.id, "Junk")
    assert b"\r\nX-Spam-Flag: YES\r\n" in stored
    assert b"\r\nX-Spam-Status: Yes, score=" in stored
    assert b"X-Spam-Symbols: GTUBE\r\n" in stored


def test_a_clean_message_lands_in_the_inbox_with_its_score(scanning, smtp_ports, alice):
    assert send(smtp_ports["smtp"], message(LUNCH), sender="clean@remote.test")[0] == 250
    [stored] = folder(alice.id, "INBOX")
    assert stored.startswith(b"Return-Path: <clean@remote.test>\r\nX-Spam-Status: No, score=")
    assert b"\r\nX-Spam-Score: " in stored and b"X-Spam-Flag" not in stored


def test_spam_fields_that_arrive_from_outside_are_removed(scanning, smtp_ports, alice):
    forged = message(LUNCH, extra="X-Spam-Status: No, score=-100\r\nX-Spam-Flag:\r\n NO\r\n", sender="f@remote.test")
    assert send(smtp_ports["smtp"], forged, sender="f@remote.test")[0] == 250
    [stored] = folder(alice.id, "INBOX")
    assert stored.count(b"X-Spam-Status:") == 1 and b"-100" not in stored and b" NO\r\n" not in stored


def test_submission_is_scanned_too_and_a_reject_gets_550(scanning, smtp_ports, alice, bob):
    with smtplib.SMTP("127.0.0.1", smtp_ports["submission"], timeout=30) as smtp:
        smtp.login("bob@example.test", "bob-secret")
        with pytest.raises(smtplib.SMTPDataError) as refused:
            smtp.sendmail("bob@example.test", ["alice@example.test"], message(GTUBE_REJECT, sender="bob@example.test"))
    assert refused.value.smtp_code == 550
    assert folder(alice.id, "INBOX") == []


@pytest.fixture
def rspamd_down(scanning, settings):  # type: ignore[no-untyped-def]
    """A scanner URL nothing listens on: as if rspamd had stopped."""
    settings.MAIL_RSPAMD_URL = f"http://127.0.0.1:{free_port()}"


def test_with_rspamd_down_mail_is_accepted_and_marked_unchecked_by_default(rspamd_down, smtp_ports, alice):
    assert send(smtp_ports["smtp"], message(GTUBE_REJECT))[0] == 250
    [stored] = folder(alice.id, "INBOX")
    assert b"\r\nX-Spam-Status: unchecked\r\n" in stored


def test_with_rspamd_down_and_tempfail_set_mail_gets_451_and_nothing_is_stored(
    rspamd_down, settings, smtp_ports, alice
):
    settings.MAIL_RSPAMD_FAILURE = "tempfail"
    code, text = send(smtp_ports["smtp"], message(LUNCH))
    assert (code, text) == (451, b"4.7.1 Spam filter unavailable, try again later")
    assert folder(alice.id, "INBOX") == []


def test_without_a_scanner_url_nothing_is_scanned_or_added(settings, smtp_ports, alice):
    settings.MAIL_RSPAMD_URL = ""
    assert send(smtp_ports["smtp"], message(GTUBE_REJECT, extra="X-Spam-Flag: YES\r\n"))[0] == 250
    [stored] = folder(alice.id, "INBOX")
    assert stored.count(b"X-Spam-") == 1  # the sender's own, as sent: nothing to compare it with


def test_an_smtputf8_sender_and_recipient_are_scanned_like_any_other(scanning, smtp_ports, alice):
    store.create_alias("jörg@example.test", ["alice@example.test"])
    with smtplib.SMTP("127.0.0.1", smtp_ports["smtp"], timeout=30) as smtp:
        smtp.ehlo("mx.remote.test")
        smtp.sendmail(
            "δημήτρης@remote.test", ["jörg@example.test"], message(GTUBE_ADD_HEADER), mail_options=["SMTPUTF8"]
        )
    [stored] = folder(alice.id, "Junk")
    assert b"X-Spam-Flag: YES" in stored
