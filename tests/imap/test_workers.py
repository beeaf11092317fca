"""Two sessions in two different worker processes (runmailserver twice,
joined by the Redis event bus): IDLE wake-up and the EXPUNGE reporting
rules of RFC 3501 5.5 across processes, and BYE at SIGTERM."""
from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from django.conf import settings

from conftest import PASSWORDS
from tests.servers import SubprocessServer

from .client import RawClient

ALICE = "alice@example.test"
pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="the event bus between workers needs Redis")


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
        assert writer.ok(b"APPEND INBOX {19+}\r\nSubject: pushed\r\n\r\n") == [b"* 1 EXISTS\r\n"]
        assert idler.line() == b"* 1 EXISTS\r\n"
        writer.ok("STORE 1 +FLAGS (\\Deleted)")
        assert idler.line() == b"* 1 FETCH (UID 1 FLAGS (\\Deleted))\r\n"
        writer.ok("EXPUNGE")
        assert idler.line() == b"* 1 EXPUNGE\r\n"
        idler.send(b"DONE\r\n")
        assert idler.line() == b"i1 OK IDLE terminated\r\n"


def test_an_expunge_in_another_worker_waits_for_a_command_that_may_report_it(workers) -> None:  # type: ignore[no-untyped-def]
    first, second = workers
    from mailboxes import store
    from conftest import sample_message
    for subject in ("one", "two", "three"):
        store.deliver(sample_message(subject=subject), [ALICE])
    with _session(first) as reader, _session(second) as writer:
        writer.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        assert writer.ok("EXPUNGE") == [b"* 2 EXPUNGE\r\n"]
        # FETCH, STORE and SEARCH by number keep the numbers the client knows.
        assert reader.ok("FETCH 1:3 UID") == [b"* 1 FETCH (UID 1)\r\n", b"* 3 FETCH (UID 3)\r\n"]
        assert reader.ok("STORE 3 +FLAGS (\\Seen)") == [b"* 3 FETCH (FLAGS (\\Seen))\r\n"]
        assert reader.ok("SEARCH ALL") == [b"* SEARCH 1 3\r\n"]
        # NOOP may, and does.
        assert reader.ok("NOOP") == [b"* 2 EXPUNGE\r\n"]
        assert reader.ok("FETCH 1:* UID") == [b"* 1 FETCH (UID 1)\r\n", b"* 2 FETCH (UID 3)\r\n"]


def test_sigterm_says_bye_to_every_session_of_that_worker(workers) -> None:  # type: ignore[no-untyped-def]
    with SubprocessServer("imap", ENV) as stopping:
        with _session(stopping) as doomed, _session(workers[0]) as survivor:
            stopping.send_signal(signal.SIGTERM)
            assert doomed.line() == b"* BYE Server shutting down\r\n"
            assert doomed.line() == b""
            assert stopping.proc is not None and stopping.proc.wait(20) == 0
            survivor.ok("NOOP")
