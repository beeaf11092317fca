"""POP2 (RFC 937) sessions over a real socket against the real server:
HELO, FOLD, READ, RETR, ACKS, ACKD, NACK, QUIT, their states and replies."""

from __future__ import annotations

import time

import pytest

from mailboxes import store
from tests.transcript import Transcript

from .conftest import ALICE, ALICE_PW, MESSAGES, POP_FORMS, SIZES, inbox_uids, wait_unlocked

GREETING = "+ POP2 {{\\S+}} server ready"


def pop2(server) -> Transcript:
    t = Transcript("127.0.0.1", server.ports["pop2"])
    t.expect(GREETING)
    return t


def test_a_pop2_session_reads_keeps_deletes_and_quits(pop_server, maildrop):
    uids = inbox_uids(maildrop)
    with pop2(pop_server) as t:
        t.run(f"""
            C: HELO {ALICE} {ALICE_PW}
            S: #3 messages in INBOX
            C: READ
            S: ={SIZES[0]} characters in message 1
            C: RETR
        """)
        assert t.read_exact(SIZES[0]) == POP_FORMS[0]
        t.run(f"""
            C: NACK
            S: ={SIZES[0]} characters in message 1
            C: RETR
        """)
        assert t.read_exact(SIZES[0]) == POP_FORMS[0]
        t.run(f"""
            C: ACKS
            S: ={SIZES[1]} characters in message 2
            C: RETR
        """)
        # Exactly the octets announced: CRLF lines, no stuffing, no terminator.
        assert t.read_exact(SIZES[1]) == POP_FORMS[1]
        t.run(f"""
            C: ACKD
            S: ={SIZES[2]} characters in message 3
            C: READ 2
            S: =0 no message 2
            C: READ 9
            S: =0 no message 9
            C: READ 3
            S: ={SIZES[2]} characters in message 3
            C: RETR
        """)
        assert t.read_exact(SIZES[2]) == POP_FORMS[2]
        t.run("""
            C: ACKS
            S: =0 no message 4
            C: QUIT
            S: + bye
            S: <closed>
        """)
    assert inbox_uids(maildrop) == [uids[0], uids[2]]
    flags = {
        m.uid: m.flags
        for m in store.fetch_messages(maildrop.id, store.select_folder(maildrop.id, "INBOX").id, [(1, 2**32)])
    }
    assert flags == {uids[0]: frozenset({"\\Seen"}), uids[2]: frozenset({"\\Seen"})}


def test_fold_selects_another_folder_and_applies_the_deletions_of_the_last(pop_server, maildrop):
    archive = store.append(maildrop.id, "Archive", MESSAGES[2])
    with pop2(pop_server) as t:
        t.run(f"""
            C: HELO {ALICE} {ALICE_PW}
            S: #3 messages in INBOX
            C: READ 1
            S: ={SIZES[0]} characters in message 1
            C: RETR
        """)
        t.read_exact(SIZES[0])
        t.run(f"""
            C: ACKD
            S: ={SIZES[1]} characters in message 2
            C: FOLD Nowhere
            S: - no such folder
            C: FOLD Archive
            S: #1 messages in Archive
            C: READ
            S: ={SIZES[2]} characters in message 1
            C: FOLD INBOX
            S: #2 messages in INBOX
            C: QUIT
            S: + bye
        """)
    assert len(inbox_uids(maildrop)) == 2
    assert store.select_folder(maildrop.id, "Archive").uids == [archive.uid]


def test_pop2_commands_out_of_sequence_are_refused(pop_server, maildrop):
    with pop2(pop_server) as t:
        t.run(f"""
            C: READ
            S: - READ is out of sequence here
            C: FOLD INBOX
            S: - FOLD is out of sequence here
            C: HELO {ALICE}
            S: - HELO needs a user name and a password
            C: HELO {ALICE} wrong
            S: - [AUTH] bad login
            C: HELO {ALICE} {ALICE_PW}
            S: #3 messages in INBOX
            C: HELO {ALICE} {ALICE_PW}
            S: - HELO is out of sequence here
            C: RETR
            S: - RETR is out of sequence here
            C: ACKS
            S: - ACKS is out of sequence here
            C: READ 1
            S: ={SIZES[0]} characters in message 1
            C: RETR
        """)
        t.read_exact(SIZES[0])
        t.run("""
            C: QUIT
            S: - QUIT is out of sequence here
            C: READ
            S: - READ is out of sequence here
            C: XYZZY
            S: - unknown command
            C: NACK
            S: ={{\\d+}} characters in message 1
            C: QUIT
            S: + bye
        """)
    assert len(inbox_uids(maildrop)) == 3


def test_three_bad_pop2_logins_hang_up(pop_server, maildrop):
    with pop2(pop_server) as t:
        t.run(f"""
            C: HELO {ALICE} one
            S: - [AUTH] bad login
            C: HELO {ALICE} two
            S: - [AUTH] bad login
            C: HELO nobody@example.test three
            S: - [AUTH] bad login
            S: <closed>
        """)


def test_pop2_and_pop3_share_the_maildrop_lock(pop_server, maildrop):
    with pop2(pop_server) as t2, Transcript("127.0.0.1", pop_server.ports["pop3"]) as t3:
        t2.run(f"C: HELO {ALICE} {ALICE_PW}\nS: #3 messages in INBOX")
        t3.run(f"""
            S: +OK {{{{.*}}}}
            C: USER {ALICE}
            S: +OK send your password
            C: PASS {ALICE_PW}
            S: -ERR [IN-USE] maildrop is locked by another session
        """)
        t2.run(f"C: HELO {ALICE} {ALICE_PW}\nS: - HELO is out of sequence here")
    wait_unlocked(maildrop.id)
    with pop2(pop_server) as t2b:
        t2b.run(f"C: HELO {ALICE} {ALICE_PW}\nS: #3 messages in INBOX\nC: QUIT\nS: + bye")


@pytest.mark.parametrize("ack", ["ACKD", "ACKS"])
def test_a_dropped_pop2_connection_deletes_nothing(pop_server, maildrop, ack):
    with pop2(pop_server) as t:
        t.run(f"C: HELO {ALICE} {ALICE_PW}\nS: #3 messages in INBOX\nC: READ 1\nS: ={{{{\\d+}}}} {{{{.*}}}}\nC: RETR")
        t.read_exact(SIZES[0])
        t.run(f"C: {ack}\nS: ={{{{\\d+}}}} {{{{.*}}}}")
    wait_unlocked(maildrop.id)  # released on disconnect
    with pop2(pop_server) as t:
        t.run(f"C: HELO {ALICE} {ALICE_PW}\nS: #3 messages in INBOX\nC: QUIT\nS: + bye")
    assert len(inbox_uids(maildrop)) == 3


LIMIT_REPLY = "- [IN-USE] too many sessions for this account, try again later"


def test_pop2_sessions_count_toward_the_account_session_limit(pop_server, maildrop, settings):
    """MAIL_MAX_SESSIONS_PER_ACCOUNT holds IMAP, POP3 and POP2 together: a
    POP2 session fills a place, a HELO past the limit gets RFC 937's "-"
    (not a failed login: four in a row do not hang up), and the place is
    free again once the session ends."""
    settings.MAIL_MAX_SESSIONS_PER_ACCOUNT = 1  # the server runs in this process
    with pop2(pop_server) as first, pop2(pop_server) as second:
        first.run(f"C: HELO {ALICE} {ALICE_PW}\nS: #3 messages in INBOX")
        second.run("\n".join(f"C: HELO {ALICE} {ALICE_PW}\nS: {LIMIT_REPLY}" for _ in range(4)))
        with Transcript("127.0.0.1", pop_server.ports["pop3"]) as t3:
            t3.run(f"""
                S: +OK {{{{.*}}}}
                C: USER {ALICE}
                S: +OK send your password
                C: PASS {ALICE_PW}
                S: -ERR [IN-USE] too many sessions for this account, try again later
            """)
        first.run("C: QUIT\nS: + bye")
        for _ in range(100):  # the place is freed just after the session ends
            second.send_line(f"HELO {ALICE} {ALICE_PW}")
            reply = second.read_line()
            if reply != LIMIT_REPLY.encode() + b"\r\n":
                break
            time.sleep(0.05)
        assert reply == b"#3 messages in INBOX\r\n", reply
        second.run("C: QUIT\nS: + bye")


def test_a_pop2_helo_refused_for_a_locked_maildrop_gives_its_place_back(pop_server, maildrop, settings):
    settings.MAIL_MAX_SESSIONS_PER_ACCOUNT = 2
    with pop2(pop_server) as first, pop2(pop_server) as second, pop2(pop_server) as third:
        first.run(f"C: HELO {ALICE} {ALICE_PW}\nS: #3 messages in INBOX")
        for _ in range(3):  # each refusal releases the place it claimed, so none is ever "too many"
            second.run(f"C: HELO {ALICE} {ALICE_PW}\nS: - [IN-USE] maildrop is locked by another session")
        third.run(f"C: HELO {ALICE} {ALICE_PW}\nS: - [IN-USE] maildrop is locked by another session")


def test_too_many_bad_commands_end_a_pop2_session(pop_server, users):
    """The line protocols' budget (protocols/lines.py): an overlong line and
    a command out of sequence count as bad commands too."""
    with pop2(pop_server) as t:
        t.send(b"X" * 2000 + b"\r\nREAD\r\n" + b"XYZZY\r\n" * 18)
        t.run(
            "S: - line too long\nS: - READ is out of sequence here\n"
            + "\n".join(["S: - unknown command"] * 18)
            + "\nS: - too many bad commands, closing\nS: <closed>"
        )
