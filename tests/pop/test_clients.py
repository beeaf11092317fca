"""POP3 with Python's poplib, and the behaviours around a session: dropped
connections, idle timeout, consistency with IMAP, the lock across worker
processes, a store that is down, shutdown, and non-loopback policy."""

from __future__ import annotations

import asyncio
import imaplib
import poplib
import signal
import time

import pytest

from mailboxes import store
from mailboxes.models import MaildropLock
from protocols import tls
from protocols.listener import Connection, serve
from protocols.pop3.session import Pop3Session
from tests.servers import InProcessServer, SubprocessServer
from tests.transcript import Transcript

from .conftest import (
    ALICE,
    ALICE_PW,
    CAPA_COMMON,
    MESSAGES,
    POP_FORMS,
    SIZES,
    USER_PASS,
    inbox_uids,
    insecure,
    login,
    wait_unlocked,
)


def _retrieved(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\r\n" for line in lines)


def test_poplib_round_trip_retrieves_exactly_the_listed_octets_and_deletes_at_quit(pop_server, maildrop):
    client = login(pop_server.ports["pop3"])
    assert client.stat() == (3, sum(SIZES))
    _, listing, _ = client.list()
    assert [int(line.split()[1]) for line in listing] == SIZES
    for n in (1, 2, 3):
        _, lines, octets = client.retr(n)
        assert _retrieved(lines) == POP_FORMS[n - 1]
        assert octets == SIZES[n - 1]  # poplib counts what it received, unstuffed
    _, uidls, _ = client.uidl()
    client.dele(1)
    client.dele(3)
    assert client.quit().startswith(b"+OK")
    client = login(pop_server.ports["pop3"])
    assert client.stat() == (1, SIZES[1])
    assert client.uidl()[1] == [b"1 " + uidls[1].split()[1]]  # the same UIDL in a new session
    client.quit()


def test_poplib_over_pop3s_and_over_stls(pop_server, maildrop):
    client = login(pop_server.ports["pop3s"], pop3s=True)
    assert _retrieved(client.retr(2)[1]) == POP_FORMS[1]
    client.quit()
    client = poplib.POP3("127.0.0.1", pop_server.ports["pop3"])
    assert "STLS" in client.capa()
    client.stls(insecure())
    assert "STLS" not in client.capa()
    client.user(ALICE)
    client.pass_(ALICE_PW)
    assert client.top(3, 1)[1] == [b"From: charlie@other.test", b"Subject: three", b"", b"line 1"]
    client.quit()


def test_poplib_apop(pop_server, maildrop):
    store.set_apop_secret(ALICE, "apop-only-secret")
    client = poplib.POP3("127.0.0.1", pop_server.ports["pop3"])
    assert client.apop(ALICE, "apop-only-secret").startswith(b"+OK")
    client.quit()


def test_dele_then_rset_keeps_every_message(pop_server, maildrop):
    client = login(pop_server.ports["pop3"])
    client.dele(1)
    client.dele(2)
    client.rset()
    client.quit()
    assert len(inbox_uids(maildrop)) == 3


def test_a_dropped_connection_deletes_nothing_and_frees_the_lock(pop_server, maildrop):
    client = login(pop_server.ports["pop3"])
    client.dele(1)
    client.retr(2)
    client.close()  # hang up without QUIT: no UPDATE state (RFC 1939 6)
    wait_unlocked(maildrop.id)
    assert len(inbox_uids(maildrop)) == 3
    view = store.select_folder(maildrop.id, "INBOX")
    assert all(not m.flags for m in store.fetch_messages(maildrop.id, view.id, [(1, 2**32)]))


def test_an_idle_session_is_closed_without_a_reply_and_deletes_nothing(pop_server, maildrop, settings):
    settings.MAIL_POP_IDLE_TIMEOUT = 1
    with Transcript("127.0.0.1", pop_server.ports["pop3"]) as t:
        t.run(
            USER_PASS
            + """
            S: +OK {{.*}}
            C: DELE 1
            S: +OK message 1 deleted
        """
        )
        t.expect("<closed>")  # RFC 1939 3: no response, no UPDATE
    wait_unlocked(maildrop.id)
    assert len(inbox_uids(maildrop)) == 3


def test_deletions_over_pop3_are_expunges_for_imap_and_imap_changes_show_at_the_nextlogin(pop_server, maildrop):
    view = store.select_folder(maildrop.id, "INBOX")
    client = login(pop_server.ports["pop3"])
    client.dele(2)
    client.quit()
    changes = store.changes_since(maildrop.id, view.id, view.highestmodseq)
    assert changes.expunged == [view.uids[1]]  # an IMAP session's EXPUNGE
    # Changes made while no POP3 session holds the lock are in the next snapshot.
    store.delete_messages(maildrop.id, view.id, [(view.uids[0], view.uids[0])])
    store.append(maildrop.id, "INBOX", MESSAGES[1])
    client = login(pop_server.ports["pop3"])
    assert client.stat() == (2, SIZES[2] + SIZES[1])
    assert _retrieved(client.retr(2)[1]) == POP_FORMS[1]
    client.quit()


def test_retr_of_a_message_expunged_over_imap_during_the_session_fails_cleanly(pop_server, maildrop):
    view = store.select_folder(maildrop.id, "INBOX")
    client = login(pop_server.ports["pop3"])
    store.delete_messages(maildrop.id, view.id, [(view.uids[0], view.uids[0])])
    with pytest.raises(poplib.error_proto, match="removed by another session"):
        client.retr(1)
    assert _retrieved(client.retr(2)[1]) == POP_FORMS[1]
    client.quit()


@pytest.fixture
def remote_pop3(pop_server):
    """The real POP3 session behind a listener whose peers look non-loopback,
    as they would behind a load balancer speaking the PROXY protocol."""
    context = tls.server_context()

    def factory(conn: Connection) -> Pop3Session:
        conn.peer_ip = "192.0.2.7"
        return Pop3Session(conn, context)

    listener = asyncio.run_coroutine_threadsafe(serve("pop3", "127.0.0.1", 0, factory), pop_server.loop).result(10)
    yield listener.addresses[0][1]
    asyncio.run_coroutine_threadsafe(listener.stop(1), pop_server.loop).result(10)


def test_without_tls_a_remote_client_is_offered_no_password_login(remote_pop3, maildrop, settings):
    settings.MAIL_ALLOW_PLAINTEXT_AUTH = False
    with Transcript("127.0.0.1", remote_pop3) as t:
        t.run(f"""
            S: +OK {{{{.*}}}}
            C: CAPA
            {CAPA_COMMON}
            S: STLS
            S: IMPLEMENTATION Mailhost
            S: .
            C: USER {ALICE}
            S: -ERR plaintext authentication is not allowed without TLS (use STLS)
            C: PASS {ALICE_PW}
            S: -ERR give USER first
            C: AUTH
            S: +OK SASL mechanisms follow
            S: .
            C: AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1zZWNyZXQ=
            S: -ERR plaintext authentication is not allowed without TLS (use STLS)
            C: STLS
            S: +OK Begin TLS negotiation
        """)
        t.starttls(insecure())
        t.run(f"""
            C: USER {ALICE}
            S: +OK send your password
            C: PASS {ALICE_PW}
            S: +OK maildrop has 3 messages ({sum(SIZES)} octets)
            C: QUIT
            S: +OK signing off (3 messages left)
        """)


def test_a_remote_client_may_use_apop_without_tls(remote_pop3, maildrop, settings):
    settings.MAIL_ALLOW_PLAINTEXT_AUTH = False
    store.set_apop_secret(ALICE, "apop-only-secret")
    client = poplib.POP3("127.0.0.1", remote_pop3)
    assert client.apop(ALICE, "apop-only-secret").startswith(b"+OK")
    client.quit()


def test_the_plaintext_setting_allows_passwords_from_remote_clients(remote_pop3, maildrop, settings):
    settings.MAIL_ALLOW_PLAINTEXT_AUTH = True
    client = poplib.POP3("127.0.0.1", remote_pop3)
    assert "USER" in client.capa()
    client.user(ALICE)
    assert client.pass_(ALICE_PW).startswith(b"+OK")
    client.quit()


@pytest.mark.slow
def test_an_unreachable_store_gets_sys_temp(maildrop):
    # A worker whose database is down (here: nothing listens on its port).
    with SubprocessServer("pop3", {"DATABASE_URL": "postgres://postgres@127.0.0.1:9/mailhost"}) as server:
        with Transcript("127.0.0.1", server.ports["pop3"]) as t:
            t.run(
                USER_PASS
                + """
                S: -ERR [SYS/TEMP] the mail store is temporarily unavailable, try again later
                C: QUIT
                S: +OK bye
            """
            )


@pytest.mark.slow
def test_shutdown_says_goodbye_and_deletes_nothing(maildrop):
    with SubprocessServer("pop3") as server:
        client = login(server.ports["pop3"])
        client.dele(1)
        server.send_signal(signal.SIGTERM)
        assert client.file.readline() == b"-ERR [SYS/TEMP] server shutting down, try again later\r\n"
        assert client.file.readline() == b""
        assert server.proc is not None and server.proc.wait(20) == 0
    assert len(inbox_uids(maildrop)) == 3


def test_an_imap_session_sees_pop3_deletions_as_expunge(pop_server, maildrop):
    with InProcessServer(["imap"]) as imap_server:
        imap = imaplib.IMAP4("127.0.0.1", imap_server.ports["imap"])
        imap.login(ALICE, ALICE_PW)
        assert imap.select("INBOX") == ("OK", [b"3"])
        client = login(pop_server.ports["pop3"])
        client.dele(1)
        client.quit()
        deadline = time.monotonic() + 10
        while True:  # the IMAP session learns of it on NOOP (or by the event bus)
            imap.noop()
            expunged = imap.untagged_responses.pop("EXPUNGE", [])
            if expunged or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert expunged == [b"1"]
        assert imap.search(None, "ALL") == ("OK", [b"1 2"])
        imap.logout()


def test_logins_are_recorded_per_protocol_for_the_dashboard(pop_server, maildrop):
    login(pop_server.ports["pop3s"], pop3s=True).quit()
    with Transcript("127.0.0.1", pop_server.ports["pop2"]) as t:
        t.run(f"S: + POP2 {{{{.*}}}}\nC: HELO {ALICE} {ALICE_PW}\nS: #3 {{{{.*}}}}\nC: QUIT\nS: + bye")
    assert sorted((r.protocol, r.ip) for r in store.last_logins(maildrop.id)) == [
        ("pop2", "127.0.0.1"),
        ("pop3", "127.0.0.1"),
    ]


def test_after_five_failures_even_the_right_password_is_refused_for_a_while(pop_server, maildrop):
    with Transcript("127.0.0.1", pop_server.ports["pop3"]) as t:
        t.run(f"""
            S: +OK {{{{.*}}}}
            C: USER {ALICE}
            S: +OK send your password
            C: PASS wrong-1
            S: -ERR [AUTH] authentication failed
            C: USER {ALICE}
            S: +OK send your password
            C: PASS wrong-2
            S: -ERR [AUTH] authentication failed
            C: APOP {ALICE} {"0" * 32}
            S: -ERR [AUTH] authentication failed
            S: <closed>
        """)
    with Transcript("127.0.0.1", pop_server.ports["pop2"]) as t:  # the count is per address, not per protocol
        t.run(
            f"S: + POP2 {{{{.*}}}}\nC: HELO {ALICE} wrong-4\nS: - [AUTH] bad login\n"
            f"C: HELO {ALICE} wrong-5\nS: - [AUTH] bad login"
        )
    with Transcript("127.0.0.1", pop_server.ports["pop3"]) as t:
        t.run(
            USER_PASS
            + """
            S: -ERR [AUTH] too many failed logins, try again later
        """
        )


def test_a_session_that_lost_its_lock_hangs_up_without_deleting(pop_server, maildrop, settings):
    settings.MAIL_POP_LOCK_LEASE = 2  # renewals every 2/3 s
    client = login(pop_server.ports["pop3"])
    client.dele(1)
    MaildropLock.objects.all().delete()  # as if it had lapsed and another session had come and gone
    store.acquire_maildrop_lock(maildrop.id, "another session", 60)
    assert client.file.readline() == b""  # the next renewal fails: the server hangs up
    store.release_maildrop_lock(maildrop.id, "another session")
    assert len(inbox_uids(maildrop)) == 3
