"""The maildrop lock across `runmailserver` worker processes: one POP3
session per maildrop whichever worker serves it, renewed while the session
lives, lapsing after a short lease when its worker dies."""

from __future__ import annotations

import poplib
import signal
import socket
import time
from collections.abc import Iterator

import pytest

from tests.servers import SubprocessServer

from .conftest import ALICE, ALICE_PW, inbox_uids, login

pytestmark = pytest.mark.slow

LEASE = {"MAIL_POP_LOCK_LEASE": "2"}


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker) -> Iterator[list[SubprocessServer]]:  # type: ignore[no-untyped-def]
    """Two POP3 workers on the test database, with a 2-second lease."""
    with SubprocessServer("pop3", LEASE) as one, SubprocessServer("pop3", LEASE) as two:
        yield [one, two]


def pass_reply(port: int) -> bytes:
    """The reply to PASS on a fresh connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(f"USER {ALICE}\r\nPASS {ALICE_PW}\r\n".encode())
        reader.readline()
        return reader.readline()


def test_the_maildrop_lock_holds_across_two_worker_processes(workers, maildrop):
    first = login(workers[0].ports["pop3"])
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
        login(workers[1].ports["pop3"])
    first.dele(1)
    first.quit()
    second = login(workers[1].ports["pop3"])
    assert second.stat()[0] == 2
    second.quit()


def test_a_live_session_keeps_its_lock_past_the_lease_by_renewing_it(workers, maildrop):
    client = login(workers[0].ports["pop3"])
    time.sleep(3)  # longer than one lease: only renewals keep it
    assert pass_reply(workers[1].ports["pop3"]).startswith(b"-ERR [IN-USE]")
    client.dele(1)
    client.quit()
    assert len(inbox_uids(maildrop)) == 2


def test_a_killed_workers_lock_lapses_after_its_lease_and_nothing_is_deleted(workers, maildrop):
    with SubprocessServer("pop3", LEASE) as doomed:
        victim = login(doomed.ports["pop3"])
        victim.dele(1)
        doomed.stop(signal.SIGKILL)
    survivor = workers[1].ports["pop3"]
    assert pass_reply(survivor).startswith(b"-ERR [IN-USE]")
    deadline = time.monotonic() + 30
    while pass_reply(survivor).startswith(b"-ERR [IN-USE]"):
        assert time.monotonic() < deadline, "the dead worker's lock never lapsed"
        time.sleep(0.5)
    assert len(inbox_uids(maildrop)) == 3
