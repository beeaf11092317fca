"""Two sessions in two different worker processes (runmailserver twice,
joined by the Redis event bus): IDLE wake-up and the EXPUNGE reporting
rules of RFC 3501 5.5 across processes, \\Recent claimed by exactly one
session across processes (RFC 3501 2.3.2), and BYE at SIGTERM."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator

import pytest
from django.conf import settings

from conftest import PASSWORDS
from tests.markers import needs_redis
from tests.servers import SubprocessServer

from .client import RawClient

ALICE = "alice@example.test"
pytestmark = [pytest.mark.slow, needs_redis]  # the event bus between workers


# A poll interval far longer than the client's patience: whatever arrives in
# time was pushed by the event bus, not found by polling.
ENV = {"REDIS_URL": settings.REDIS_URL or "", "MAIL_POLL_INTERVAL": "3600"}


@pytest.fixture(scope="module")
def worker_pair(django_db_setup) -> Iterator[tuple[SubprocessServer, SubprocessServer]]:  # type: ignore[no-untyped-def]
    """Two runmailserver processes on the test database, shared by the module."""
    with SubprocessServer("imap", ENV) as first, SubprocessServer("imap", ENV) as second:
        yield first, second


@pytest.fixture
def workers(users, worker_pair):  # type: ignore[no-untyped-def]
    return worker_pair


def _session(worker: SubprocessServer) -> RawClient:
    raw = RawClient(worker.ports["imap"], timeout=15)
    raw.login(ALICE, PASSWORDS[ALICE])
    raw.ok("SELECT INBOX")
    return raw


def test_idle_in_one_worker_hears_of_an_append_flag_change_and_expunge_in_another(workers) -> None:  # type: ignore[no-untyped-def]
    first, second = workers
    with _session(first) as idler, _session(second) as writer:
        idler.send(b"i1 IDLE\r\n")
        assert idler.line() == b"+ idling\r\n"
        appended = writer.ok(b"APPEND INBOX {19+}\r\nSubject: pushed\r\n\r\n")
        # Whichever session learns of the message first has it as \Recent; never both.
        assert appended in ([b"* 1 EXISTS\r\n"], [b"* 1 EXISTS\r\n", b"* 1 RECENT\r\n"])
        idler_first = len(appended) == 1
        assert idler.line() == b"* 1 EXISTS\r\n"
        if idler_first:
            assert idler.line() == b"* 1 RECENT\r\n"
        writer.ok("STORE 1 +FLAGS (\\Deleted)")
        flags = b"\\Deleted \\Recent" if idler_first else b"\\Deleted"
        assert idler.line() == b"* 1 FETCH (UID 1 FLAGS (%s))\r\n" % flags
        writer.ok("EXPUNGE")
        assert idler.line() == b"* 1 EXPUNGE\r\n"
        if idler_first:
            assert idler.line() == b"* 0 RECENT\r\n"
        idler.send(b"DONE\r\n")
        assert idler.line() == b"i1 OK IDLE terminated\r\n"


def test_an_expunge_in_another_worker_waits_for_a_command_that_may_report_it(workers) -> None:  # type: ignore[no-untyped-def]
    first, second = workers
    from conftest import sample_message
    from mailboxes import store

    for subject in ("one", "two", "three"):
        store.deliver(sample_message(subject=subject), [ALICE])
    with _session(first) as reader, _session(second) as writer:
        writer.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        assert writer.ok("EXPUNGE") == [b"* 2 EXPUNGE\r\n"]
        # FETCH, STORE and SEARCH by number keep the numbers the client knows.
        assert reader.ok("FETCH 1:3 UID") == [b"* 1 FETCH (UID 1)\r\n", b"* 3 FETCH (UID 3)\r\n"]
        # The reader selected first, so the three are \Recent in its session only.
        assert reader.ok("STORE 3 +FLAGS (\\Seen)") == [b"* 3 FETCH (FLAGS (\\Seen \\Recent))\r\n"]
        assert reader.ok("SEARCH ALL") == [b"* SEARCH 1 3\r\n"]
        # NOOP may, and does.
        assert reader.ok("NOOP") == [b"* 2 EXPUNGE\r\n", b"* 2 RECENT\r\n"]
        assert reader.ok("FETCH 1:* UID") == [b"* 1 FETCH (UID 1)\r\n", b"* 2 FETCH (UID 3)\r\n"]


def _finish(raw: RawClient, tag: bytes) -> list[bytes]:
    """The untagged responses up to ``tag``'s OK, for a command already sent."""
    untagged = []
    while not (response := raw.response()).startswith(tag + b" "):
        assert response, "server closed the connection"
        untagged.append(response)
    assert response.startswith(tag + b" OK"), response
    return untagged


def _recent_uids(raw: RawClient) -> list[int]:
    fetched = raw.ok("UID FETCH 1:* FLAGS")
    return [
        int(re.search(rb"UID (\d+)", line).group(1))  # type: ignore[union-attr]
        for line in fetched
        if b" FETCH " in line and b"\\Recent" in line
    ]


def _all_at_once(sessions: list[RawClient], command: bytes) -> list[list[bytes]]:
    """Send ``command`` on every session before reading any answer, so the
    workers serve them concurrently."""
    for raw in sessions:
        raw.send(b"r1 " + command + b"\r\n")
    return [_finish(raw, b"r1") for raw in sessions]


def test_sessions_in_two_workers_racing_each_message_is_recent_in_exactly_one(workers) -> None:  # type: ignore[no-untyped-def]
    from conftest import sample_message
    from mailboxes import store

    sessions = [RawClient(worker.ports["imap"], timeout=15) for worker in workers for _ in range(4)]
    try:
        for raw in sessions:
            raw.login(ALICE, PASSWORDS[ALICE])
        before: list[set[int]] = [set() for _ in sessions]
        for round_, (first, last) in enumerate(((1, 12), (13, 20))):
            for number in range(first, last + 1):
                store.deliver(sample_message(subject=f"m{number}"), [ALICE])
            # Round 0: eight SELECTs at once; round 1: eight NOOPs that each see new EXISTS.
            answers = _all_at_once(sessions, b"NOOP" if round_ else b"SELECT INBOX")
            owned = [set(_recent_uids(raw)) for raw in sessions]
            for answer, had, mine in zip(answers, before, owned):
                assert b"* %d EXISTS\r\n" % last in answer
                told = [int(line.split()[1]) for line in answer if line.endswith(b" RECENT\r\n")]
                # A session keeps what it had; * n RECENT tells it what it shows as \Recent.
                assert had <= mine
                assert told == ([len(mine)] if mine != had or not round_ else [])
            # Every message is recent in one session, never in two.
            assert sorted(uid for mine in owned for uid in mine) == list(range(1, last + 1))
            before = owned
    finally:
        for raw in sessions:
            raw.close()


def test_sigterm_says_bye_to_every_session_of_that_worker(workers) -> None:  # type: ignore[no-untyped-def]
    with SubprocessServer("imap", ENV) as stopping:
        with _session(stopping) as doomed, _session(workers[0]) as survivor:
            stopping.send_signal(signal.SIGTERM)
            assert doomed.line() == b"* BYE Server shutting down\r\n"
            assert doomed.line() == b""
            assert stopping.proc is not None and stopping.proc.wait(20) == 0
            survivor.ok("NOOP")
