"""SMTPUTF8 (RFC 6531, 6532) at the MX: UTF-8 addresses only when MAIL said
SMTPUTF8 (553 5.6.7 otherwise), delivered to our (ASCII) accounts, the
message stored byte for byte and read back so over IMAP, by a client that
enabled UTF8=ACCEPT (RFC 6855: its ENVELOPE keeps the UTF-8) and by one
that did not (an ASCII ENVELOPE, the octets the same)."""

from __future__ import annotations

import imaplib

from conftest import PASSWORDS
from mailboxes import store
from tests.transcript import Transcript

from .conftest import ALICE, EHLO_MX, GREETING, body_after_trace, inbox

UTF8_MESSAGE = (
    "From: Jörg <jörg@bücher.test>\r\nTo: Jörg <jörg@example.test>\r\nSubject: Grüße aus Köln ✓\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\nΓειά σου, 日本語\r\n"
).encode()


def test_utf8_addresses_without_smtputf8_on_mail_get_553_5_6_7(mx, alice):
    store.create_alias("jörg@example.test", [ALICE])
    mx.run(
        EHLO_MX
        + """
        C: MAIL FROM:<jörg@bücher.test>
        S: 553 5.6.7 A non-ASCII sender address needs MAIL FROM ... SMTPUTF8
        C: MAIL FROM:<sender@remote.test>
        S: 250 2.1.0 Sender ok
        C: RCPT TO:<jörg@example.test>
        S: 553 5.6.7 A non-ASCII recipient address needs MAIL FROM ... SMTPUTF8
        C: RCPT TO:<alice@example.test>
        S: 250 2.1.5 Recipient ok
    """
    )


def test_a_smtputf8_message_to_a_utf8_alias_is_stored_byte_exact_and_fetched_so_over_imap(smtp_server_with, alice):
    store.create_alias("jörg@example.test", [ALICE])
    server = smtp_server_with(["smtp", "imap"])
    with Transcript("127.0.0.1", server.ports["smtp"]) as t:
        t.run(
            "S: "
            + GREETING
            + "\n"
            + EHLO_MX
            + """
            C: MAIL FROM:<jörg@bücher.test> SMTPUTF8 BODY=8BITMIME
            S: 250 2.1.0 Sender ok
            C: RCPT TO:<jörg@example.test>
            S: 250 2.1.5 Recipient ok
        """
        )
        t.send(f"BDAT {len(UTF8_MESSAGE)} LAST\r\n".encode() + UTF8_MESSAGE)
        t.expect("250 2.0.0 Ok: stored as {{[0-9a-f]+}}")
    [stored] = inbox(alice.id)
    assert body_after_trace(stored) == UTF8_MESSAGE
    assert stored.startswith("Return-Path: <jörg@bücher.test>\r\n".encode())
    for utf8 in (False, True):
        imap = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
        try:
            imap.login(ALICE, PASSWORDS[ALICE])
            if utf8:
                assert imap.enable("UTF8=ACCEPT")[0] == "OK"
            imap.select("INBOX", readonly=True)
            status, data = imap.fetch("1", "(BODY.PEEK[] ENVELOPE)")
            assert status == "OK"
            assert data[0][1] == stored
            # the envelope (after the body's literal) keeps the UTF-8 subject only for a client that enabled it
            envelope = b"".join(part if isinstance(part, bytes) else b"".join(part) for part in data[1:])
            assert b"ENVELOPE" in envelope and ("Grüße aus Köln ✓".encode() in envelope) is utf8
        finally:
            imap.logout()
