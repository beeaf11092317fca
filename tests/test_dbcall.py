"""protocols.dbcall: store calls on a bounded pool of threads, answered on the event loop."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from django.conf import settings

from conftest import PASSWORDS
from mailboxes import store
from protocols import dbcall


def test_a_call_returns_its_value_and_raises_its_error_in_the_caller(alice) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> tuple[store.AccountInfo | None, Exception | None]:
        found = await dbcall.call(store.authenticate, "alice@example.test", PASSWORDS["alice@example.test"])
        try:
            await dbcall.call(store.select_folder, alice.id, "No such folder")
        except store.StoreError as exc:
            return found, exc
        return found, None

    found, error = asyncio.run(scenario())
    assert found is not None and found.id == alice.id
    assert isinstance(error, store.NoSuchFolder)


def test_calls_run_side_by_side_but_never_more_than_the_pool_size() -> None:
    size = settings.MAIL_DB_THREADS
    lock = threading.Lock()
    running, most = 0, 0

    def work() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with lock:
            running -= 1

    async def scenario() -> None:
        await asyncio.gather(*(dbcall.call(work) for _ in range(3 * size)))

    asyncio.run(scenario())
    assert 1 < most <= size


def test_a_call_whose_caller_went_away_before_it_started_never_runs() -> None:
    size = settings.MAIL_DB_THREADS
    release = threading.Event()
    started = threading.Semaphore(0)
    ran: list[str] = []

    def hold() -> None:
        started.release()
        release.wait(10)

    async def scenario() -> None:
        holders = [asyncio.ensure_future(dbcall.call(hold)) for _ in range(size)]
        for _ in range(size):  # every thread of the pool is busy
            while not started.acquire(blocking=False):
                await asyncio.sleep(0.005)
        victim = asyncio.ensure_future(dbcall.call(ran.append, "victim"))
        await asyncio.sleep(0)
        victim.cancel()
        release.set()
        await asyncio.gather(*holders)
        # Calls queued after the victim: once they are done, it was taken off the queue.
        await asyncio.gather(*(dbcall.call(ran.append, "after") for _ in range(size)))
        with pytest.raises(asyncio.CancelledError):
            await victim

    asyncio.run(scenario())
    assert ran == ["after"] * size


def _backend() -> tuple[int, bool]:
    """This connection's server process, and whether a table made by an earlier call is visible."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), to_regclass('pg_temp.left_open') IS NOT NULL")
        pid, seen = cursor.fetchone()
    return pid, seen


def _leave_a_transaction_open() -> None:
    from django.db import connection

    connection.set_autocommit(False)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE left_open (x int)")


@pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"), reason="PostgreSQL connections")
@pytest.mark.django_db(transaction=True)
def test_a_store_thread_keeps_its_connection_but_gives_back_one_left_in_a_transaction(settings) -> None:  # type: ignore[no-untyped-def]
    settings.MAIL_DB_THREADS = 1
    dbcall.stop()  # the next call starts a pool of one thread

    async def scenario() -> list[tuple[int, bool]]:
        first = await dbcall.call(_backend)
        again = await dbcall.call(_backend)
        await dbcall.call(_leave_a_transaction_open)
        return [first, again, await dbcall.call(_backend)]

    try:
        (first, _), (again, _), (_, seen) = asyncio.run(scenario())
    finally:
        dbcall.stop()  # the other tests' pool, of MAIL_DB_THREADS as configured
    assert first == again  # the same connection, not one taken from the pool per call
    assert not seen  # the open transaction was rolled back with its connection, not carried into the next call


def test_a_call_in_a_pool_of_its_own_runs_there_at_most_size_at_a_time_and_raises_in_the_caller() -> None:
    lock = threading.Lock()
    running, most, names = 0, 0, set()

    def work(value: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            names.add(threading.current_thread().name)
        time.sleep(0.02)
        with lock:
            running -= 1
        if value < 0:
            raise ValueError("negative")
        return value * 2

    async def scenario() -> tuple[list[int], BaseException | None]:
        results = await asyncio.gather(*(dbcall.call_in("test_own", 3, work, i) for i in range(8)))
        try:
            await dbcall.call_in("test_own", 3, work, -1)
        except ValueError as exc:
            return list(results), exc
        return list(results), None

    results, error = asyncio.run(scenario())
    assert results == [i * 2 for i in range(8)]
    assert isinstance(error, ValueError)
    assert most == 3 and all(name.startswith("test_own_") for name in names)
