"""CHUNKING/BDAT and BINARYMIME (RFC 3030) on every listener, over real
sockets against the real listeners and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.transcript import Transcript

from .conftest import (
    ALICE,
    AUTH_ALICE,
    EHLO_MX,
    EHLO_SUBMISSION,
    GREETING,
    body_after_trace,
    ehlo_advertising,
    envelope,
    inbox,
)

MESSAGE = b"Subject: chunked\r\n\r\nfirst line\r\n.a leading dot stays\r\n.\r\nlast line\r\n"
STORED = "S: 250 2.0.0 Ok: stored as {{[0-9a-f]+}}"


def bdat(chunk: bytes, *, last: bool = False) -> bytes:
    return f"BDAT {len(chunk)}{' LAST' if last else ''}\r\n".encode() + chunk


@pytest.mark.parametrize(
    "cuts",
    [
        [],  # one BDAT ... LAST
        [len(MESSAGE)],  # all of it, then an empty LAST chunk
        [1, 2, 17, 18],  # chunks that split a CRLF and a header line
        list(range(1, len(MESSAGE))),  # one octet a chunk
    ],
    ids=["one-last-chunk", "empty-last", "split-crlf", "octet-chunks"],
)
def test_chunks_of_any_size_make_the_message_byte_for_byte_without_dot_unstuffing(mx, alice, cuts):
    mx.run(EHLO_MX + envelope())
    bounds = [0, *cuts, len(MESSAGE)]
    chunks = [MESSAGE[a:b] for a, b in zip(bounds, bounds[1:])]
    for chunk in chunks[:-1]:
        mx.send(bdat(chunk))
        mx.expect(f"250 2.0.0 {len(chunk)} octets received")
    mx.send(bdat(chunks[-1], last=True))
    mx.run(STORED)
    [stored] = inbox(alice.id)
    assert body_after_trace(stored) == MESSAGE


def test_pipelined_bdat_chunks_are_answered_in_order_and_the_session_goes_on(mx, alice):
    mx.send(
        b"EHLO client.test\r\nMAIL FROM:<sender@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
        + bdat(MESSAGE[:20])
        + bdat(MESSAGE[20:], last=True)
        + b"NOOP\r\n"
    )
    mx.run(
        "S: 250{{[- ].*}}\n" * 10
        + """
        S: 250 2.1.0 Sender ok
        S: 250 2.1.5 Recipient ok
        S: 250 2.0.0 20 octets received
    """
        + STORED
        + """
        S: 250 2.0.0 OK
    """
    )
    assert [body_after_trace(m) for m in inbox(alice.id)] == [MESSAGE]


def test_bdat_and_data_are_never_mixed_in_one_transaction(mx, alice):
    mx.run(EHLO_MX + envelope())
    mx.send(bdat(MESSAGE[:10]))
    mx.run("""
        S: 250 2.0.0 10 octets received
        C: DATA
        S: 503 5.5.1 DATA may not follow BDAT in one transaction
    """)
    mx.send(bdat(MESSAGE[10:], last=True))
    mx.run(STORED)
    # BODY=BINARYMIME asks for BDAT: DATA is refused, BDAT then goes through.
    mx.run("""
        C: MAIL FROM:<sender@remote.test> BODY=BINARYMIME
        S: 250 2.1.0 Sender ok
        C: RCPT TO:<alice@example.test>
        S: 250 2.1.5 Recipient ok
        C: DATA
        S: 503 5.5.1 BODY=BINARYMIME needs BDAT, not DATA
    """)
    mx.send(bdat(MESSAGE, last=True))
    mx.run(STORED)
    assert [body_after_trace(m) for m in inbox(alice.id)] == [MESSAGE, MESSAGE]


def test_bdat_without_a_recipient_is_drained_and_refused(mx, alice):
    # The chunk holds a command line: read as data, never as a command.
    mx.run(EHLO_MX)
    mx.send(bdat(b"RSET\r\n", last=True) + b"NOOP\r\n")
    mx.run("""
        S: 503 5.5.1 Error: need RCPT command
        S: 250 2.0.0 OK
        C: MAIL FROM:<sender@remote.test>
        S: 250 2.1.0 Sender ok
    """)
    mx.send(bdat(b"QUIT\r\n", last=True) + b"NOOP\r\n")
    mx.run("""
        S: 503 5.5.1 Error: need RCPT command
        S: 250 2.0.0 OK
    """)
    assert inbox(alice.id) == []


@pytest.mark.parametrize("argument", ["", "abc", "-1 LAST", "10 FIRST", "1" * 21])
def test_a_bdat_whose_size_cannot_be_read_is_refused_and_the_connection_closed(mx, argument):
    # Where such a chunk ends is unknown: its octets must not be read as commands.
    mx.run(
        EHLO_MX
        + f"""
        C: BDAT {argument}
        S: 421 4.5.4 Syntax: BDAT <octets> [LAST]; the chunk cannot be found, closing
        S: <closed>
    """
    )


def test_chunks_past_the_size_limit_are_drained_refused_and_nothing_is_stored(smtp_server_with, users):
    server = smtp_server_with(["smtp"], MAIL_MAX_MESSAGE_SIZE=10_000)
    with Transcript("127.0.0.1", server.ports["smtp"]) as t:
        t.run("S: " + GREETING + "\n" + ehlo_advertising("ENHANCEDSTATUSCODES", "STARTTLS", size="10000") + envelope())
        t.send(bdat(b"Subject: big\r\n\r\n" + b"z" * 5984))
        t.expect("250 2.0.0 6000 octets received")
        # 6000 + 6000 > 10000: refused before it is read, drained, the transaction over.
        t.send(bdat(b"z" * 5998 + b"\r\n") + b"NOOP\r\n")
        t.run("""
            S: 552 5.3.4 Message size exceeds fixed maximum message size
            S: 250 2.0.0 OK
        """)
        t.send(bdat(b"", last=True))
        t.expect("503 5.5.1 Error: need RCPT command")
        # One chunk larger than the limit: the same, and the session goes on.
        t.run(envelope())
        t.send(bdat(b"y" * 20_000, last=True) + b"NOOP\r\n")
        t.run("""
            S: 552 5.3.4 Message size exceeds fixed maximum message size
            S: 250 2.0.0 OK
        """)
        # A message of exactly the limit fits.
        t.run(envelope())
        fits = b"Subject: fits\r\n\r\n" + b"x" * (10_000 - 19) + b"\r\n"
        t.send(bdat(fits, last=True))
        t.run(STORED)
    assert [body_after_trace(m) for m in inbox(users[ALICE].id)] == [fits]


def test_binarymime_content_is_stored_byte_exact_and_plain_bdat_keeps_the_line_ending_rule(mx, alice):
    binary = b"Subject: binary\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\n\r\xff\r\n.\n"
    mx.run(EHLO_MX + envelope())
    mx.send(bdat(binary, last=True))
    mx.run("S: 554 5.6.0 Bare CR or LF in message data (RFC 5321 2.3.8)")
    mx.run("""
        C: MAIL FROM:<sender@remote.test> SIZE=100 BODY=BINARYMIME
        S: 250 2.1.0 Sender ok
        C: RCPT TO:<alice@example.test>
        S: 250 2.1.5 Recipient ok
    """)
    mx.send(bdat(binary[:30]) + bdat(binary[30:], last=True))
    mx.run("S: 250 2.0.0 30 octets received\n" + STORED)
    assert [body_after_trace(m) for m in inbox(alice.id)] == [binary]


@pytest.mark.parametrize("listener", ["submission", "smtps"])
def test_submission_and_smtps_offer_chunking_and_deliver_by_bdat(smtp_ports, client_tls, alice, bob, listener):
    tls = client_tls if listener == "smtps" else None
    with Transcript("127.0.0.1", smtp_ports[listener], tls=tls) as t:
        t.expect(GREETING)
        t.run(
            ehlo_advertising(
                "ENHANCEDSTATUSCODES",
                *(["STARTTLS"] if tls is None else []),
                "AUTH PLAIN LOGIN",
                *([] if tls is None else ["REQUIRETLS"]),
            )
            + AUTH_ALICE
            + envelope(("bob@example.test",), ALICE)
        )
        message = b"From: alice@example.test\r\nSubject: by bdat\r\n\r\nhello\r\n"
        t.send(bdat(message[:25]) + bdat(message[25:]) + bdat(b"", last=True))
        t.run(
            f"""
            S: 250 2.0.0 25 octets received
            S: 250 2.0.0 {len(message) - 25} octets received
        """
            + STORED
        )
    [stored] = inbox(bob.id)
    assert stored.endswith(message)


def test_binarymime_mail_for_another_host_is_queued_marked_binary(submission, alice):
    from mailboxes.models import OutboundMessage

    binary = b"From: alice@example.test\r\nSubject: bin\r\n\r\n\x00\n\r\xff\r\n"
    submission.run(
        EHLO_SUBMISSION
        + AUTH_ALICE
        + f"""
        C: MAIL FROM:<{ALICE}> BODY=BINARYMIME
        S: 250 2.1.0 Sender ok
        C: RCPT TO:<friend@remote.test>
        S: 250 2.1.5 Recipient ok
        C: MAIL FROM:<{ALICE}>
        S: 503 5.5.1 Error: nested MAIL command
    """
    )  # a refused nested MAIL leaves the transaction (and its BINARYMIME) as it was
    submission.send(bdat(binary, last=True))
    submission.run(STORED)
    [queued] = OutboundMessage.objects.all()
    assert queued.binarymime and bytes(queued.blob.data).endswith(binary)
