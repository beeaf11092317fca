"""SMTP transcripts over real sockets, one for each reply the issue names,
against the real listeners and PostgreSQL."""

from __future__ import annotations

import re

import pytest

from conftest import PASSWORDS
from mailboxes import store
from mailboxes.models import Account
from tests.transcript import Transcript

from .conftest import (
    ALICE,
    EHLO_MX,
    EHLO_SUBMISSION,
    GREETING,
    HELO,
    body_after_trace,
    ehlo_advertising,
    envelope,
    inbox,
    open_data,
    plain_credentials,
    send_script,
)

BOB = "bob@example.test"
AUTH_ALICE = f"C: AUTH PLAIN {plain_credentials(ALICE, PASSWORDS[ALICE])}\nS: 235 2.7.0 Authentication successful"


def test_mx_ehlo_advertises_the_extensions_and_no_auth(mx):
    mx.run(
        ehlo_advertising("ENHANCEDSTATUSCODES", "STARTTLS")
        + """
        C: AUTH PLAIN AGFsaWNlAHg=
        S: 503 5.5.1 Authentication not enabled on this port
        C: QUIT
        S: 221 2.0.0 Bye
        S: <closed>
    """
    )


def test_submission_on_loopback_offers_auth_plain_login_without_tls(submission):
    submission.run(ehlo_advertising("ENHANCEDSTATUSCODES", "STARTTLS", "AUTH PLAIN LOGIN"))


def test_help_lists_the_commands_and_vrfy_never_discloses_an_account(mx):
    mx.run("""
        C: HELP
        S: 214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY STARTTLS
        S: 214 2.0.0 HELP <command> gives its syntax
        C: HELP rcpt
        S: 214 2.0.0 Syntax: RCPT TO:<address> [NOTIFY=NEVER|SUCCESS,FAILURE,DELAY] [ORCPT=<type>;<xtext>]
        C: HELP AUTH
        S: 504 5.5.4 No help for that; commands: {{.*}}
        C: VRFY alice@example.test
        S: 252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery
        C: VRFY nobody@example.test
        S: 252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery
        C: VRFY
        S: 501 5.5.4 Syntax: VRFY <address>
    """)


def test_submission_help_works_before_auth_and_lists_auth(submission):
    submission.run("""
        C: HELP
        S: 214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY STARTTLS AUTH
        S: 214 2.0.0 HELP <command> gives its syntax
    """)


def test_several_recipients_of_one_data_get_one_copy_each_sharing_the_bytes(mx, alice, bob):
    mx.run(EHLO_MX)
    mx.run(send_script("sender@remote.test", [ALICE, BOB], "Subject: two\r\n\r\nfor both"))
    alice_mail, bob_mail = inbox(alice.id), inbox(bob.id)
    assert len(alice_mail) == len(bob_mail) == 1
    assert alice_mail == bob_mail
    assert body_after_trace(alice_mail[0]) == b"Subject: two\r\n\r\nfor both\r\n"
    view = store.select_folder(alice.id, "INBOX")
    bob_view = store.select_folder(bob.id, "INBOX")
    [a] = store.fetch_messages(alice.id, view.id, [(1, view.uidnext)])
    [b] = store.fetch_messages(bob.id, bob_view.id, [(1, bob_view.uidnext)])
    assert a.blob == b.blob


def test_aliases_and_the_catch_all_expand_to_their_accounts(mx, alice, bob):
    store.create_alias("team@example.test", [ALICE, BOB])
    store.create_alias("@example.test", [BOB])
    mx.run(HELO)
    mx.run(send_script("sender@remote.test", ["team@example.test"], "Subject: team"))
    mx.run(send_script("sender@remote.test", ["whoever@example.test"], "Subject: anyone"))
    assert [body_after_trace(m) for m in inbox(alice.id)] == [b"Subject: team\r\n"]
    assert [body_after_trace(m) for m in inbox(bob.id)] == [b"Subject: team\r\n", b"Subject: anyone\r\n"]


def _deactivate_bob() -> None:
    store.update_account(BOB, active=False)


@pytest.mark.parametrize(
    "setup, recipient, reply",
    [
        (None, "nobody@example.test", "550 5.1.1 No such user here"),
        (None, "NOBODY@EXAMPLE.TEST", "550 5.1.1 No such user here"),
        (_deactivate_bob, BOB, "550 5.2.1 Mailbox disabled"),
        (None, "someone@remote.test", "554 5.7.1 Relay access denied"),
        (None, "@example.test:someone@remote.test", "554 5.7.1 Relay access denied"),
        (None, "alice%remote.test@example.test", "550 5.1.1 No such user here"),
        (None, "charlie@other.test", "250 2.1.5 Recipient ok"),
        (None, "not-an-address", "553 5.1.3 Bad recipient address syntax"),
    ],
    ids=[
        "unknown",
        "unknown-upper-case",
        "inactive",
        "remote",
        "source-route",
        "percent-hack",
        "second-local-domain",
        "bad-syntax",
    ],
)
def test_rcpt_answers_from_the_store(mx, users, setup, recipient, reply):
    if setup:
        setup()
    mx.run(
        HELO
        + f"""
        C: MAIL FROM:<sender@remote.test>
        S: 250 2.1.0 Sender ok
        C: RCPT TO:<{recipient}>
        S: {reply}
    """
    )


def test_postmaster_is_accepted_with_and_without_a_domain(mx, users, settings):
    """RFC 5321 4.5.1: <Postmaster> (any case, no domain) MUST be accepted; so is
    postmaster@ each of our domains (RFC 2142), with no account of that name:
    both reach MAIL_POSTMASTER, or the first superuser when it is unset."""
    settings.MAIL_POSTMASTER = "bob@example.test"
    mx.run(
        HELO
        + """
        C: MAIL FROM:<sender@remote.test>
        S: 250 2.1.0 Sender ok
        C: RCPT TO:<Postmaster>
        S: 250 2.1.5 Recipient ok
        C: RCPT TO:<POSTMASTER@other.test>
        S: 250 2.1.5 Recipient ok
        C: RCPT TO:<postmaster@remote.test>
        S: 554 5.7.1 Relay access denied
        C: RCPT TO:<webmaster>
        S: 553 5.1.3 Bad recipient address syntax
        C: DATA
        S: 354 {{.*}}
        C: Subject: hello postmaster
        C: .
        S: 250 2.0.0 Ok: stored as {{\\w+}}
    """
    )
    [stored] = inbox(users[BOB].id)  # one copy for the two names
    assert body_after_trace(stored) == b"Subject: hello postmaster\r\n"
    settings.MAIL_POSTMASTER = ""
    Account.objects.filter(address=ALICE).update(is_superuser=True)
    mx.run("""
        C: RSET
        S: 250 2.0.0 OK
        C: MAIL FROM:<>
        S: 250 2.1.0 Sender ok
        C: RCPT TO:<postmaster>
        S: 250 2.1.5 Recipient ok
        C: DATA
        S: 354 {{.*}}
        C: Subject: bounce
        C: .
        S: 250 2.0.0 Ok: stored as {{\\w+}}
    """)
    assert [body_after_trace(m) for m in inbox(users[ALICE].id)] == [b"Subject: bounce\r\n"]


def test_relay_is_denied_whatever_helo_and_mail_from_claim(mx, alice):
    mx.run(
        EHLO_MX.replace("client.test", "localhost")
        + """
        C: MAIL FROM:<alice@example.test>
        S: 250 2.1.0 Sender ok
        C: RCPT TO:<victim@remote.test>
        S: 554 5.7.1 Relay access denied
        C: RCPT TO:<alice@example.test>
        S: 250 2.1.5 Recipient ok
        C: DATA
        S: 354 {{.*}}
        C: Subject: only alice
        C: .
        S: 250 2.0.0 Ok: stored as {{\\w+}}
    """
    )
    assert len(inbox(alice.id)) == 1


@pytest.mark.parametrize(
    "size, reply",
    [
        (1500, "452 4.2.2 Mailbox full, try again later"),
        (5000, "552 5.2.2 Message exceeds the mailbox quota"),
        (100, "250 2.1.5 Recipient ok"),
    ],
    ids=["full-for-now", "never-fits", "fits"],
)
def test_rcpt_checks_the_quota_for_the_declared_size(mx, alice, size, reply):
    store.update_account(ALICE, quota=2000)
    store.deliver(b"Subject: filler\r\n\r\n" + b"x" * 600, [ALICE])
    mx.run(
        EHLO_MX
        + f"""
        C: MAIL FROM:<sender@remote.test> SIZE={size}
        S: 250 2.1.0 Sender ok
        C: RCPT TO:<alice@example.test>
        S: {reply}
    """
    )


@pytest.mark.parametrize(
    "body_size, reply",
    [
        (1500, "452 4.2.2 Mailbox full, try again later"),
        (3000, "552 5.2.2 Message exceeds the mailbox quota"),
    ],
    ids=["full-for-now", "never-fits"],
)
def test_data_without_declared_size_is_checked_against_the_quota(mx, alice, body_size, reply):
    store.update_account(ALICE, quota=2000)
    store.deliver(b"Subject: filler\r\n\r\n" + b"x" * 300, [ALICE])
    mx.run(HELO + open_data())
    mx.send(b"Subject: big\r\n\r\n" + (b"y" * 98 + b"\r\n") * (body_size // 100) + b".\r\n")
    mx.expect(reply)
    assert len(inbox(alice.id)) == 1
    mx.run(send_script("sender@remote.test", [ALICE], "Subject: small"))
    assert len(inbox(alice.id)) == 2


def test_a_message_larger_than_size_is_refused_at_mail_and_at_data(smtp_server_with, users):
    server = smtp_server_with(["smtp"], MAIL_MAX_MESSAGE_SIZE=10_000)
    with Transcript("127.0.0.1", server.ports["smtp"]) as t:
        t.run(
            "S: "
            + GREETING
            + "\n"
            + ehlo_advertising("ENHANCEDSTATUSCODES", "STARTTLS", size="10000")
            + """
            C: MAIL FROM:<sender@remote.test> SIZE=10001
            S: 552 5.3.4 Message size exceeds fixed maximum message size
        """
            + open_data()
        )
        t.send((b"z" * 998 + b"\r\n") * 11 + b".\r\n")
        t.expect("552 5.3.4 Message size exceeds fixed maximum message size")
        t.run(send_script("sender@remote.test", [ALICE], "Subject: fits"))
    assert [body_after_trace(m) for m in inbox(users[ALICE].id)] == [b"Subject: fits\r\n"]


def test_more_recipients_than_the_limit_get_452(smtp_server_with, users):
    server = smtp_server_with(["smtp"], MAIL_MAX_RECIPIENTS=2)
    with Transcript("127.0.0.1", server.ports["smtp"]) as t:
        t.run(
            "S: "
            + GREETING
            + "\n"
            + HELO
            + envelope((ALICE, BOB))
            + """
            C: RCPT TO:<charlie@other.test>
            S: 452 4.5.3 Too many recipients
        """
        )


def test_submission_wants_auth_before_mail(submission):
    submission.run(
        EHLO_SUBMISSION
        + """
        C: MAIL FROM:<alice@example.test>
        S: 530 5.7.0 Authentication required
        C: RCPT TO:<bob@example.test>
        S: 530 5.7.0 Authentication required
    """
    )


@pytest.mark.parametrize(
    "sender, reply",
    [
        (ALICE, "250 2.1.0 Sender ok"),
        ("Alice@Example.Test", "250 2.1.0 Sender ok"),
        ("sales@example.test", "250 2.1.0 Sender ok"),
        ("", "250 2.1.0 Sender ok"),
        (BOB, "553 5.7.1 Sender address not owned by the authenticated user"),
        ("team@example.test", "553 5.7.1 Sender address not owned by the authenticated user"),
        ("alice@remote.test", "553 5.7.1 Sender address not owned by the authenticated user"),
    ],
    ids=["own", "own-other-case", "own-alias", "null", "someone-else", "alias-of-someone-else", "remote"],
)
def test_submission_lets_a_user_send_only_as_their_addresses(submission, users, sender, reply):
    store.create_alias("sales@example.test", [ALICE])
    store.create_alias("team@example.test", [BOB])
    submission.run(
        EHLO_SUBMISSION
        + AUTH_ALICE
        + f"""
        C: MAIL FROM:<{sender}>
        S: {reply}
    """
    )


def test_submission_delivers_local_recipients_and_queues_remote_ones_without_a_sent_copy(submission, alice, bob):
    from mailboxes.models import OutboundRecipient

    submission.run(EHLO_SUBMISSION + AUTH_ALICE)
    submission.run(send_script(ALICE, [BOB, "friend@remote.test"], "Subject: out\r\n\r\nhello"))
    [local] = inbox(bob.id)
    assert local.startswith(b"Return-Path: <alice@example.test>\r\nReceived: from client.test ([127.0.0.1])\r\n")
    assert b" with ESMTPA id " in local.split(b"\r\n\r\n")[0]
    queued = OutboundRecipient.objects.select_related("message__blob").get(address="friend@remote.test")
    relayed = bytes(queued.message.blob.data)
    assert relayed.startswith(b"Received: from client.test ([127.0.0.1])\r\n")
    assert body_after_trace(b"Return-Path: <x>\r\n" + relayed) == b"Subject: out\r\n\r\nhello\r\n"
    assert queued.message.mail_from == ALICE
    assert inbox(alice.id, "Sent") == [] and inbox(alice.id) == []


def test_auth_refuses_bad_credentials_and_closes_after_three_tries(submission, users):
    bad = plain_credentials(ALICE, "wrong")
    submission.run(
        EHLO_SUBMISSION
        + f"""
        C: AUTH PLAIN {bad}
        S: 535 5.7.8 Authentication credentials invalid
        C: AUTH LOGIN {plain_credentials(BOB, "x")[:8]}
        S: 334 UGFzc3dvcmQA
        C: d3Jvbmc=
        S: 535 5.7.8 Authentication credentials invalid
        C: AUTH PLAIN {bad}
        S: 535 5.7.8 Authentication credentials invalid
        C: AUTH PLAIN {bad}
        S: 421 4.7.0 AUTH sent too many times
        S: <closed>
    """
    )


def test_auth_login_with_challenges_then_a_second_auth_is_refused(submission, users):
    import base64

    user = base64.b64encode(ALICE.encode()).decode()
    password = base64.b64encode(PASSWORDS[ALICE].encode()).decode()
    submission.run(
        EHLO_SUBMISSION
        + f"""
        C: AUTH LOGIN
        S: 334 VXNlciBOYW1lAA==
        C: {user}
        S: 334 UGFzc3dvcmQA
        C: {password}
        S: 235 2.7.0 Authentication successful
        C: AUTH PLAIN {plain_credentials(ALICE, PASSWORDS[ALICE])}
        S: 503 5.5.1 Already authenticated
        C: AUTH LOGIN
        S: 503 5.5.1 Already authenticated
    """
    )


def test_auth_can_be_cancelled_with_a_star(submission):
    submission.run(
        EHLO_SUBMISSION
        + """
        C: AUTH PLAIN
        S: 334 
        C: *
        S: 501 5.7.0 Auth aborted
        C: AUTH PLAIN !!!
        S: 501 5.5.2 Can't decode base64
    """
    )


@pytest.mark.parametrize(
    "command, reply",
    [
        ("RCPT TO:<alice@example.test>", "503 5.5.1 Error: need MAIL command"),
        ("DATA", "503 5.5.1 Error: need RCPT command"),
        ("MAIL TO:<alice@example.test>", "501 5.5.4 Syntax: MAIL FROM: <address> [SP <mail-parameters>]"),
        ("MAIL FROM:<sender@remote.test> FOO=1", "555 5.5.4 MAIL FROM parameters not recognized or not implemented"),
        ("MAIL FROM:<sender@remote.test> BODY=9BIT", "501 5.5.4 Error: BODY can only be one of 7BIT, 8BITMIME"),
        ("MAIL FROM:<a@b@c>", "553 5.1.3 Error: malformed address"),
        ("NOOP", "250 2.0.0 OK"),
        ("RSET", "250 2.0.0 OK"),
        ("RSET now", "501 5.5.4 Syntax: RSET"),
        ("EXPN staff", "502 5.5.1 EXPN not implemented"),
        ("FROB", '500 5.5.2 Error: command "FROB" not recognized'),
        ("STARTTLS now", "501 5.5.4 Syntax: STARTTLS"),
    ],
    ids=lambda v: v.split(" ")[0] if isinstance(v, str) and v[:1].isalpha() else None,
)
def test_bad_commands_get_the_right_5xx_and_the_session_goes_on(mx, command, reply):
    mx.run(
        EHLO_MX
        + f"""
        C: {command}
        S: {reply}
        C: NOOP
        S: 250 2.0.0 OK
    """
    )


def test_a_nested_mail_command_is_refused(mx):
    mx.run("""
        C: HELO client.test
        S: 250 {{\\S+}}
        C: MAIL FROM:<sender@remote.test>
        S: 250 2.1.0 Sender ok
        C: MAIL FROM:<sender@remote.test>
        S: 503 5.5.1 Error: nested MAIL command
        C: MAIL FROM:<>
        S: 503 5.5.1 Error: nested MAIL command
    """)


def test_mail_before_helo_is_refused(mx):
    mx.run("""
        C: MAIL FROM:<sender@remote.test>
        S: 503 5.5.1 Error: send HELO first
    """)


def test_too_many_unknown_commands_close_the_connection(mx):
    mx.run("""
        C: ONE
        S: 500 5.5.2 Error: command "ONE" not recognized
        C: TWO
        S: 500 5.5.2 Error: command "TWO" not recognized
        C: THREE
        S: 500 5.5.2 Error: command "THREE" not recognized
        C: FOUR
        S: 500 5.5.2 Error: command "FOUR" not recognized
        C: FIVE
        S: 502 5.5.1 Too many unrecognized commands, goodbye.
        S: <closed>
    """)


def test_overlong_lines_are_refused_without_crashing(mx, alice):
    mx.send(b"NOOP " + b"x" * 5000 + b"\r\n")
    mx.expect("500 5.5.2 Command line too long")
    mx.send(b"HELO " + b"x" * 600 + b"\r\n")
    mx.expect("500 5.5.2 Command line too long")
    mx.run(HELO + open_data())
    mx.send(b"Subject: long\r\n\r\n" + b"a" * 1200 + b"\r\n.\r\n")
    mx.expect("500 5.5.6 Line too long (RFC 5321 4.5.3.1.6)")
    mx.run(send_script("sender@remote.test", [ALICE], "Subject: after\r\n\r\n" + "b" * 998))
    assert [body_after_trace(m) for m in inbox(alice.id)] == [b"Subject: after\r\n\r\n" + b"b" * 998 + b"\r\n"]


SMUGGLING = {
    "lf-dot-lf": b"\n.\n",
    "lf-dot-crlf": b"\n.\r\n",
    "crlf-dot-lf": b"\r\n.\n",
    "cr-dot-cr": b"\r.\r",
    "cr-dot-crlf": b"\r.\r\n",
}


@pytest.mark.parametrize("fake_end", SMUGGLING.values(), ids=SMUGGLING.keys())
def test_bare_cr_or_lf_before_a_dot_never_ends_data_and_is_refused(mx, alice, bob, fake_end):
    mx.run(HELO + open_data())
    smuggled = b"MAIL FROM:<admin@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: smuggled\r\n"
    mx.send(b"Subject: cover\r\n\r\ncover" + fake_end + smuggled + b"\r\n.\r\n")
    mx.run("""
        S: 554 5.6.0 Bare CR or LF in message data (RFC 5321 2.3.8)
        C: NOOP
        S: 250 2.0.0 OK
    """)
    assert inbox(alice.id) == [] and inbox(bob.id) == []


def test_pipelined_commands_are_answered_in_order(mx, alice, bob):
    mx.send(
        b"EHLO client.test\r\nMAIL FROM:<sender@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
        b"RCPT TO:<nobody@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
    )
    mx.run(
        "S: 250{{[- ].*}}\n" * 10
        + """
        S: 250 2.1.0 Sender ok
        S: 250 2.1.5 Recipient ok
        S: 550 5.1.1 No such user here
        S: 250 2.1.5 Recipient ok
        S: 354 {{.*}}
    """
    )
    mx.send(b"Subject: piped\r\n\r\n..dot\r\n.\r\nQUIT\r\n")
    mx.run("""
        S: 250 2.0.0 Ok: stored as {{\\w+}}
        S: 221 2.0.0 Bye
        S: <closed>
    """)
    assert body_after_trace(inbox(alice.id)[0]) == b"Subject: piped\r\n\r\n.dot\r\n"
    assert len(inbox(bob.id)) == 1


def test_trace_fields_record_helo_address_protocol_and_the_single_recipient(mx, alice):
    *_, trace_id = mx.run(
        EHLO_MX
        + open_data(("Alice@Example.Test",), "")
        + """
        C: Subject: bounce
        C: .
        S: 250 2.0.0 Ok: stored as {{\\w+}}
    """
    )
    [stored] = inbox(alice.id)
    head = stored.split(b"\r\nSubject: bounce")[0].decode()
    assert re.fullmatch(
        r"Return-Path: <>\r\n"
        r"Authentication-Results: \S+;(?:\r\n\t[^\r\n]+)+\r\n"
        r"Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n"
        rf"\tby \S+ with ESMTP id {trace_id}\r\n"
        r"\tfor <Alice@Example\.Test>; \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}",
        head,
    ), head


def test_the_mx_marks_mail_with_authentication_results_and_refuses_dmarc_p_reject_failures(mx, alice):
    mx.run(HELO + send_script("sender@remote.test", [ALICE], "From: sender@remote.test\r\nSubject: hi"))
    [stored] = inbox(alice.id)
    assert re.match(
        rb"Return-Path: <sender@remote\.test>\r\nAuthentication-Results: \S+;\r\n\t"
        rb"spf=none smtp\.mailfrom=sender@remote\.test;\r\n\t.*dmarc=none.*\r\n"
        rb"Received: from client\.test ",
        stored,
        re.DOTALL,
    ), stored
    assert body_after_trace(stored) == b"From: sender@remote.test\r\nSubject: hi\r\n"
    mx.run("""
        C: MAIL FROM:<ceo@strict.test>
        S: 250 2.1.0 Sender ok
        C: RCPT TO:<alice@example.test>
        S: 250 2.1.5 Recipient ok
        C: DATA
        S: 354 {{.*}}
        C: From: ceo@strict.test
        C: Subject: wire the money
        C: .
        S: 550 5.7.1 Message rejected by the sender domain's DMARC policy
    """)
    assert len(inbox(alice.id)) == 1


def test_starttls_upgrades_discards_pipelined_plaintext_and_is_offered_once(mx, client_tls):
    mx.run(EHLO_MX)
    mx.send(b"STARTTLS\r\nNOOP\r\n")
    mx.expect("220 2.0.0 Ready to start TLS")
    mx.starttls(client_tls)
    mx.run(
        ehlo_advertising("ENHANCEDSTATUSCODES", "REQUIRETLS")
        + """
        C: STARTTLS
        S: 503 5.5.1 TLS already active
    """
    )


def test_an_internal_error_is_answered_without_its_text(submission, caplog):
    submission.run(
        EHLO_SUBMISSION
        + """
        C: AUTH LOGIN
        S: 334 VXNlciBOYW1lAA==
    """
    )
    submission.send(b"A" * 5000 + b"\r\n")
    [reply] = submission.run("S: {{.*}}")
    assert reply == "451 4.3.0 Local error in processing, try again later"
    submission.run("""
        C: NOOP
        S: 250 2.0.0 OK
    """)


def test_an_idle_client_is_told_421_and_one_that_keeps_sending_is_not(smtp_server_with, users):
    import time

    server = smtp_server_with(["smtp"], MAIL_SMTP_IDLE_TIMEOUT=1)
    with Transcript("127.0.0.1", server.ports["smtp"]) as idle, Transcript("127.0.0.1", server.ports["smtp"]) as slow:
        slow.run("S: " + GREETING + "\n" + HELO + open_data())
        for chunk in (b"Subject: slow\r\n", b"\r\n", b"one ", b"byte ", b"at a ", b"time\r\n"):
            slow.send(chunk)
            time.sleep(0.5)
        slow.send(b".\r\n")
        slow.expect("250 2.0.0 Ok: stored as {{\\w+}}")
        idle.run(
            "S: "
            + GREETING
            + """
            S: 421 4.4.2 Idle timeout exceeded, closing transmission channel
            S: <closed>
        """
        )
    assert [body_after_trace(m) for m in inbox(users[ALICE].id)] == [b"Subject: slow\r\n\r\none byte at a time\r\n"]


def test_stopping_the_listener_says_421_to_open_sessions(smtp_server_with):
    server = smtp_server_with(["smtp", "submission"])
    with (
        Transcript("127.0.0.1", server.ports["smtp"]) as mx,
        Transcript("127.0.0.1", server.ports["submission"]) as sub,
    ):
        mx.run("S: " + GREETING + "\n" + HELO)
        sub.expect(GREETING)
        server.__exit__(None, None, None)
        for t in (mx, sub):
            t.run("""
                S: 421 4.3.2 Service shutting down, closing transmission channel
                S: <closed>
            """)


def test_a_command_used_more_often_than_the_limit_ends_the_session(smtp_server_with):
    server = smtp_server_with(["smtp"], MAIL_SMTP_COMMAND_LIMIT=10)
    with Transcript("127.0.0.1", server.ports["smtp"]) as t:
        t.run(
            "S: "
            + GREETING
            + "\n"
            + "C: NOOP\nS: 250 2.0.0 OK\n" * 10
            + """
            C: NOOP
            S: 421 4.7.0 NOOP sent too many times
            S: <closed>
        """
        )


def test_smtputf8_addresses_are_accepted_and_named_in_the_trace(mx, alice):
    [stored_as] = mx.run(
        EHLO_MX
        + """
        C: MAIL FROM:<jörg@bücher.test> SMTPUTF8
        S: 250 2.1.0 Sender ok
        C: RCPT TO:<jörg@example.test>
        S: 550 5.1.1 No such user here
        C: RCPT TO:<alice@example.test>
        S: 250 2.1.5 Recipient ok
        C: DATA
        S: 354 {{.*}}
        C: From: Jörg <jörg@bücher.test>
        C: Subject: Grüße
        C: .
        S: 250 2.0.0 Ok: stored as {{\\w+}}
    """
    )[-1:]
    [stored] = inbox(alice.id)
    assert stored.startswith("Return-Path: <jörg@bücher.test>\r\n".encode())
    assert f" with UTF8SMTP id {stored_as}\r\n".encode() in stored
    assert body_after_trace(stored) == "From: Jörg <jörg@bücher.test>\r\nSubject: Grüße\r\n".encode()
