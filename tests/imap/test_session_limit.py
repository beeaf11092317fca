"""The per-account concurrent-session limit (MAIL_MAX_SESSIONS_PER_ACCOUNT)
on IMAP: a login past it gets NO [LIMIT] and the connection stays usable;
other accounts are not affected; a session that ends frees its place."""

from __future__ import annotations

import time

from conftest import PASSWORDS

from .client import RawClient

ALICE, BOB = "alice@example.test", "bob@example.test"


def login(client: RawClient, address: str) -> bytes:
    _lines, status = client.command(f'LOGIN "{address}" "{PASSWORDS[address]}"')
    return status


def test_a_login_past_the_account_session_limit_gets_no_limit_until_a_session_ends(imap_port, settings):
    settings.MAIL_MAX_SESSIONS_PER_ACCOUNT = 2  # the server runs in this process
    with RawClient(imap_port) as one, RawClient(imap_port) as two, RawClient(imap_port) as three:
        for c in (one, two, three):
            c.greeting()
        assert b" OK " in login(one, ALICE) and b" OK " in login(two, ALICE)
        status = login(three, ALICE)
        assert b" NO [LIMIT] " in status, status
        with RawClient(imap_port) as other:
            other.greeting()
            assert b" OK " in login(other, BOB)
        one.command("LOGOUT")
        for _ in range(100):  # the place is freed just after the session ends
            status = login(three, ALICE)
            if b" OK " in status:
                break
            time.sleep(0.05)
        assert b" OK " in status, status
        three.ok("SELECT INBOX")


def test_pop3_sessions_count_toward_the_same_limit_and_get_err_in_use(imap_port, settings):
    from tests.servers import InProcessServer
    from tests.transcript import Transcript

    settings.MAIL_MAX_SESSIONS_PER_ACCOUNT = 1
    with InProcessServer(["pop3"]) as pop, RawClient(imap_port) as imap:
        imap.greeting()
        assert b" OK " in login(imap, ALICE)
        with Transcript("127.0.0.1", pop.ports["pop3"]) as t:
            t.run(f"""
                S: +OK {{{{.*}}}}
                C: USER {ALICE}
                S: +OK {{{{.*}}}}
                C: PASS {PASSWORDS[ALICE]}
                S: -ERR [IN-USE] too many sessions for this account, try again later
                C: QUIT
                S: +OK {{{{.*}}}}
            """)
