"""POP3 transcripts: every command, state and response code, replayed byte
for byte over a real socket against the real server and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
from string import Template

import pytest

from mailboxes import store
from tests.transcript import Transcript

from .conftest import ALICE, ALICE_PW, CAPA_COMMON, SIZES, inbox_uids, insecure

GREETING = r"S: +OK {{\S+}} POP3 server ready <{{[^>]+}}>"
LOGIN = """
    $greeting
    C: USER $alice
    S: +OK send your password
    C: PASS $pw
    S: +OK maildrop has 3 messages ($total octets)
"""
# CAPA under TLS, before login: passwords welcome, no STLS.
TLS_CAPA = (
    CAPA_COMMON
    + """
    S: USER
    S: SASL PLAIN
    S: IMPLEMENTATION Mailhost
    S: .
"""
)

VALUES = {
    "pw": ALICE_PW,
    "s1": SIZES[0],
    "s2": SIZES[1],
    "s3": SIZES[2],
    "total": sum(SIZES),
    "plain": base64.b64encode(f"\0{ALICE}\0{ALICE_PW}".encode()).decode(),
    "badplain": base64.b64encode(f"\0{ALICE}\0wrong".encode()).decode(),
    "proxyplain": base64.b64encode(f"bob@example.test\0{ALICE}\0{ALICE_PW}".encode()).decode(),
    "alice": ALICE,
    "greeting": GREETING,
    "capa": CAPA_COMMON,
    "tlscapa": TLS_CAPA,
    "long": "X" * 2000,
}


def play(t: Transcript, script: str, **extra: object) -> list[str]:
    """Run a transcript with $names filled in from VALUES and extra."""
    return t.run(Template(script).substitute(VALUES, **extra))


TRANSCRIPTS = {
    "capa before login lists user, sasl plain and stls": """
        $greeting
        C: CAPA
        $capa
        S: USER
        S: SASL PLAIN
        S: STLS
        S: IMPLEMENTATION Mailhost
        S: .
        C: QUIT
        S: +OK bye
        S: <closed>
    """,
    "capa after login lists no login methods": LOGIN
    + """
        C: CAPA
        $capa
        S: IMPLEMENTATION Mailhost
        S: .
        C: QUIT
        S: +OK signing off (3 messages left)
    """,
    "stat list and uidl describe the maildrop": LOGIN
    + """
        C: STAT
        S: +OK 3 $total
        C: LIST
        S: +OK 3 messages ($total octets)
        S: 1 $s1
        S: 2 $s2
        S: 3 $s3
        S: .
        C: LIST 2
        S: +OK 2 $s2
        C: LIST 4
        S: -ERR no such message
        C: UIDL
        S: +OK unique-id listing follows
        S: 1 {{\\d+}}.1
        S: 2 {{\\d+}}.2
        S: 3 {{\\d+}}.3
        S: .
        C: UIDL 3
        S: +OK 3 {{\\d+}}.3
        C: UIDL 0
        S: -ERR no such message
        C: NOOP
        S: +OK
        C: QUIT
        S: +OK signing off (3 messages left)
        S: <closed>
    """,
    "retr normalises line ends and stuffs dots": LOGIN
    + """
        C: RETR 2
        S: +OK $s2 octets
        S: From: bob@example.test
        S: Subject: two
        S:
        S: ..hidden line
        S: second line
        S: ...double
        S: last line, no newline
        S: .
        C: RETR 1
        S: +OK $s1 octets
        S: From: bob@example.test
        S: To: alice@example.test
        S: Subject: one
        S:
        S: Hello Alice.
        S: .
        C: RETR 9
        S: -ERR no such message
        C: QUIT
        S: +OK signing off (3 messages left)
    """,
    "top sends the header and the first lines of the body": LOGIN
    + """
        C: TOP 3 1
        S: +OK top of message follows
        S: From: charlie@other.test
        S: Subject: three
        S:
        S: line 1
        S: .
        C: TOP 3 0
        S: +OK top of message follows
        S: From: charlie@other.test
        S: Subject: three
        S:
        S: .
        C: TOP 2 99
        S: +OK top of message follows
        S: From: bob@example.test
        S: Subject: two
        S:
        S: ..hidden line
        S: second line
        S: ...double
        S: last line, no newline
        S: .
        C: TOP 1
        S: -ERR wrong number of arguments
        C: QUIT
        S: +OK signing off (3 messages left)
    """,
    "dele marks and rset unmarks": LOGIN
    + """
        C: DELE 1
        S: +OK message 1 deleted
        C: DELE 1
        S: -ERR message 1 already deleted
        C: RETR 1
        S: -ERR message 1 already deleted
        C: LIST 1
        S: -ERR message 1 already deleted
        C: STAT
        S: +OK 2 {{\\d+}}
        C: LIST
        S: +OK 2 messages ({{\\d+}} octets)
        S: 2 $s2
        S: 3 $s3
        S: .
        C: RSET
        S: +OK maildrop has 3 messages ($total octets)
        C: STAT
        S: +OK 3 $total
        C: QUIT
        S: +OK signing off (3 messages left)
    """,
    "quit after dele enters update and removes the message": LOGIN
    + """
        C: DELE 2
        S: +OK message 2 deleted
        C: QUIT
        S: +OK signing off (2 messages left)
        S: <closed>
    """,
    "commands outside their state are refused": """
        $greeting
        C: STAT
        S: -ERR STAT is not valid in the AUTHORIZATION state
        C: RETR 1
        S: -ERR RETR is not valid in the AUTHORIZATION state
        C: NOOP
        S: -ERR NOOP is not valid in the AUTHORIZATION state
        C: PASS $pw
        S: -ERR give USER first
        C: USER $alice
        S: +OK send your password
        C: NOOP
        S: -ERR NOOP is not valid in the AUTHORIZATION state
        C: PASS $pw
        S: -ERR give USER first
        C: USER $alice
        S: +OK send your password
        C: PASS $pw
        S: +OK maildrop has 3 messages ($total octets)
        C: USER $alice
        S: -ERR USER is not valid in the TRANSACTION state
        C: APOP $alice 0123456789abcdef0123456789abcdef
        S: -ERR APOP is not valid in the TRANSACTION state
        C: AUTH PLAIN
        S: -ERR AUTH is not valid in the TRANSACTION state
        C: STLS
        S: -ERR STLS is not valid in the TRANSACTION state
        C: QUIT
        S: +OK signing off (3 messages left)
    """,
    "bad syntax and unknown commands get errors": """
        $greeting
        C: HELO there
        S: -ERR unknown command
        C: USER
        S: -ERR wrong number of arguments
        C: USER $alice
        S: +OK send your password
        C: PASS $pw
        S: +OK maildrop has 3 messages ($total octets)
        C: RETR one
        S: -ERR invalid number
        C: LIST 1 2
        S: -ERR wrong number of arguments
        C: DELE -1
        S: -ERR invalid number
        C: TOP 1 x
        S: -ERR invalid number
        C: STAT now
        S: -ERR wrong number of arguments
        C: $long
        S: -ERR line too long
        C: stat
        S: +OK 3 $total
        C: QUIT
        S: +OK signing off (3 messages left)
    """,
    "bad credentials get the auth response code and three failures hang up": """
        $greeting
        C: USER $alice
        S: +OK send your password
        C: PASS wrong
        S: -ERR [AUTH] authentication failed
        C: USER nobody@example.test
        S: +OK send your password
        C: PASS $pw
        S: -ERR [AUTH] authentication failed
        C: AUTH PLAIN $badplain
        S: -ERR [AUTH] authentication failed
        S: <closed>
    """,
    "auth plain with an initial response logs in": """
        $greeting
        C: AUTH PLAIN $plain
        S: +OK maildrop has 3 messages ($total octets)
        C: QUIT
        S: +OK signing off (3 messages left)
    """,
    "auth plain with a continuation logs in": """
        $greeting
        C: AUTH
        S: +OK SASL mechanisms follow
        S: PLAIN
        S: .
        C: AUTH CRAM-MD5
        S: -ERR unsupported authentication mechanism
        C: AUTH PLAIN
        S: +{{ ?}}
        C: *
        S: -ERR authentication cancelled
        C: AUTH PLAIN
        S: +{{ ?}}
        C: $long
        S: -ERR line too long
        C: AUTH PLAIN
        S: +{{ ?}}
        C: not base64!
        S: -ERR invalid base64
        C: AUTH PLAIN $proxyplain
        S: -ERR [AUTH] authentication failed
        C: AUTH PLAIN
        S: +{{ ?}}
        C: $plain
        S: +OK maildrop has 3 messages ($total octets)
        C: QUIT
        S: +OK signing off (3 messages left)
    """,
    "quit before login says goodbye": """
        $greeting
        C: QUIT
        S: +OK bye
        S: <closed>
    """,
}


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_pop3_transcript(pop_server, maildrop, name):
    with Transcript("127.0.0.1", pop_server.ports["pop3"]) as t:
        play(t, TRANSCRIPTS[name])


def test_quit_after_dele_removes_exactly_the_deleted_message(pop_server, maildrop):
    uids = inbox_uids(maildrop)
    with Transcript("127.0.0.1", pop_server.ports["pop3"]) as t:
        play(t, TRANSCRIPTS["quit after dele enters update and removes the message"])
    assert inbox_uids(maildrop) == [uids[0], uids[2]]


def test_a_second_login_to_a_locked_maildrop_gets_in_use(pop_server, maildrop):
    port = pop_server.ports["pop3"]
    with Transcript("127.0.0.1", port) as first, Transcript("127.0.0.1", port) as second:
        play(first, LOGIN)
        play(
            second,
            """
            $greeting
            C: USER $alice
            S: +OK send your password
            C: PASS $pw
            S: -ERR [IN-USE] maildrop is locked by another session
            C: AUTH PLAIN $plain
            S: -ERR [IN-USE] maildrop is locked by another session
        """,
        )
        play(first, "C: QUIT\nS: +OK signing off (3 messages left)")
        play(
            second,
            """
            C: AUTH PLAIN $plain
            S: +OK maildrop has 3 messages ($total octets)
            C: QUIT
            S: +OK signing off (3 messages left)
        """,
        )


def test_apop_logs_in_with_the_digest_of_the_greeting_timestamp(pop_server, maildrop):
    store.set_apop_secret(ALICE, "tanstaaf")
    with Transcript("127.0.0.1", pop_server.ports["pop3"]) as t:
        _, banner = t.run(GREETING)
        digest = hashlib.md5(f"<{banner}>tanstaaf".encode()).hexdigest()
        play(
            t,
            """
            C: APOP $alice $zeros
            S: -ERR [AUTH] authentication failed
            C: APOP $alice $digest
            S: +OK maildrop has 3 messages ($total octets)
            C: QUIT
            S: +OK signing off (3 messages left)
        """,
            zeros="0" * 32,
            digest=digest,
        )


def test_apop_is_refused_for_an_account_without_a_secret(pop_server, maildrop):
    with Transcript("127.0.0.1", pop_server.ports["pop3"]) as t:
        _, banner = t.run(GREETING)
        digest = hashlib.md5(f"<{banner}>".encode()).hexdigest()
        play(
            t,
            """
            C: APOP $alice $digest
            S: -ERR [AUTH] authentication failed
        """,
            digest=digest,
        )


def test_stls_upgrades_and_capa_then_omits_stls(pop_server, maildrop):
    with Transcript("127.0.0.1", pop_server.ports["pop3"]) as t:
        play(
            t,
            """
            $greeting
            C: STLS
            S: +OK Begin TLS negotiation
        """,
        )
        t.starttls(insecure())
        assert t.sock.version() in ("TLSv1.2", "TLSv1.3")
        play(
            t,
            """
            C: CAPA
            $tlscapa
            C: STLS
            S: -ERR TLS is already active
            C: USER $alice
            S: +OK send your password
            C: PASS $pw
            S: +OK maildrop has 3 messages ($total octets)
            C: RETR 1
            S: +OK $s1 octets
            S: From: bob@example.test
            S: To: alice@example.test
            S: Subject: one
            S:
            S: Hello Alice.
            S: .
            C: QUIT
            S: +OK signing off (3 messages left)
        """,
        )


def test_stls_discards_commands_pipelined_before_the_handshake(pop_server, maildrop):
    with Transcript("127.0.0.1", pop_server.ports["pop3"]) as t:
        t.run(GREETING)
        t.send(f"STLS\r\nUSER {ALICE}\r\nPASS {ALICE_PW}\r\n".encode())
        t.expect("+OK Begin TLS negotiation")
        t.starttls(insecure())
        play(
            t,
            """
            C: STAT
            S: -ERR STAT is not valid in the AUTHORIZATION state
            C: QUIT
            S: +OK bye
        """,
        )


def test_pop3s_speaks_tls_from_the_start_and_offers_no_stls(pop_server, maildrop):
    with Transcript("127.0.0.1", pop_server.ports["pop3s"], tls=insecure()) as t:
        play(
            t,
            """
            $greeting
            C: CAPA
            $tlscapa
            C: STLS
            S: -ERR TLS is already active
            C: AUTH PLAIN $plain
            S: +OK maildrop has 3 messages ($total octets)
            C: QUIT
            S: +OK signing off (3 messages left)
        """,
        )


def test_pipelined_commands_are_answered_in_order(pop_server, maildrop):
    with Transcript("127.0.0.1", pop_server.ports["pop3"]) as t:
        t.run(GREETING)
        t.send(f"USER {ALICE}\r\nPASS {ALICE_PW}\r\nSTAT\r\nLIST 1\r\nUIDL 2\r\nDELE 3\r\nQUIT\r\n".encode())
        play(
            t,
            """
            S: +OK send your password
            S: +OK maildrop has 3 messages ($total octets)
            S: +OK 3 $total
            S: +OK 1 $s1
            S: +OK 2 {{\\d+}}.2
            S: +OK message 3 deleted
            S: +OK signing off (2 messages left)
            S: <closed>
        """,
        )


def test_too_many_bad_commands_end_the_session(pop_server, maildrop):
    with Transcript("127.0.0.1", pop_server.ports["pop3"]) as t:
        t.run(GREETING)
        t.send(b"BOGUS\r\n" * 20)
        t.run("\n".join(["S: -ERR unknown command"] * 20) + "\nS: -ERR too many bad commands, closing\nS: <closed>")
