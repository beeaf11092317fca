"""Run blocking store calls off the event loop, on a bounded pool of threads.

Never Django's sync_to_async(thread_sensitive=True): it runs every call on one
thread and would serialise the whole server (DESIGN.md rule 3). The pool is
sized to the database connection pool (MAIL_DB_THREADS), so a slow database
makes callers queue here instead of exhausting connections.

The pool is a queue and its threads, not ``loop.run_in_executor``: that path
builds a ``concurrent.futures.Future``, a work item and an asyncio future
chained to it by three callbacks, and checks the thread count under a lock,
on every call; an IMAP command makes one to three calls. Here a call is one
tuple on a ``SimpleQueue`` and one ``call_soon_threadsafe`` back to the
asyncio future the caller awaits: a call that does nothing costs half the
CPU it did (docs/PERFORMANCE.md, "IMAP command path, third round").

A busy thread keeps its database connection from one call to the next,
instead of taking one from the pool and giving it back around every call:
that checkout and Django's set-up of the connection were a third of the CPU
of a call that runs one statement. A thread without a call for
KEEP_IDLE_CONNECTION seconds gives its connection back, so the process's
other users of the pool (and other threads of a test) are not starved by
idle store threads. A call that leaves its connection spoilt (a database
error, a transaction left open) gives it back at once, and the next call
takes a fresh one. ``stop()`` gives them all back.
"""

from __future__ import annotations

import asyncio
import atexit
import queue
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import connections

P = ParamSpec("P")
R = TypeVar("R")

#: Seconds a thread keeps its connection without a call to run.
KEEP_IDLE_CONNECTION = 0.2

_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple, dict]


class _Pool:
    """``size`` threads taking jobs from one queue, started as calls need them:
    one more whenever the calls submitted and not yet finished outnumber them."""

    def __init__(self, size: int, name: str = "store", *, database: bool = True) -> None:
        self.size = size
        self.name = name
        self.database = database  # its threads keep a database connection between calls
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []
        self.pending = 0  # calls submitted and not yet finished
        self.lock = threading.Lock()

    def submit(self, job: _Job) -> None:
        with self.lock:
            self.pending += 1
            if self.pending > len(self.threads) and len(self.threads) < self.size:
                thread = threading.Thread(target=self._work, name=f"{self.name}_{len(self.threads)}", daemon=True)
                self.threads.append(thread)
                thread.start()
        self.jobs.put(job)

    def _work(self) -> None:
        jobs = self.jobs
        run = _run if self.database else _call
        holding = False  # a database connection kept from the last call
        while True:
            if holding:
                try:
                    job = jobs.get(timeout=KEEP_IDLE_CONNECTION)
                except queue.Empty:  # idle: the connection goes back for the other threads of the process
                    connections.close_all()
                    holding = False
                    continue
            else:
                job = jobs.get()
            if job is None:
                if self.database:
                    connections.close_all()  # this thread's, back to the pool
                return
            holding = self.database
            loop, future, func, args, kwargs = job
            # A call whose caller went away before it started is skipped (as an executor's cancel).
            if not future.cancelled():
                try:
                    result = run(func, args, kwargs)
                except BaseException as exc:  # handed to the caller, as an executor would
                    _reply(loop, _fail, future, exc)
                else:
                    _reply(loop, _settle, future, result)
            del job, future, func, args, kwargs
            with self.lock:
                self.pending -= 1

    def stop(self) -> None:
        """Let each thread finish the call it is in and give its connection back."""
        for _thread in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join(timeout=30)


_pool: _Pool | None = None


def _get_pool() -> _Pool:
    global _pool
    if _pool is None:
        _pool = _Pool(settings.MAIL_DB_THREADS)
        atexit.register(_pool.stop)
    return _pool


def stop() -> None:
    """Stop the threads (their connections given back); the next call starts new ones."""
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        atexit.unregister(pool.stop)
        pool.stop()


def _call(func: Callable[..., R], args: tuple, kwargs: dict) -> R:
    return func(*args, **kwargs)


def _run(func: Callable[..., R], args: tuple, kwargs: dict) -> R:
    try:
        return func(*args, **kwargs)
    finally:
        _give_back_if_spoilt()


def _give_back_if_spoilt() -> None:
    """Keep this thread's connection for its next call, unless this call
    left it after a database error or inside a transaction: then it goes back
    (the pool discards a broken one) and the next call takes a fresh one."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and (conn.errors_occurred or conn.in_atomic_block or not conn.autocommit):
            conn.close()


def _reply(loop: asyncio.AbstractEventLoop, how: Callable[..., None], future: asyncio.Future[Any], value: Any) -> None:
    try:
        loop.call_soon_threadsafe(how, future, value)
    except RuntimeError:  # the loop is closed: nobody is waiting any more
        pass


def _settle(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


async def call(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """await call(store.fetch_messages, ...): one store call in the pool."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[R] = loop.create_future()
    _get_pool().submit((loop, future, func, args, kwargs))
    return await future


_other_pools: dict[str, _Pool] = {}


async def call_in(pool: str, size: int, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """await call_in("authcheck", 8, check, ...): a blocking call that uses no
    database (DNS waits, say) on a pool of its own of at most `size` threads,
    named `pool`, so it never holds a store thread; the same cheap hand-off
    as call() (a loop.run_in_executor costs half as much again)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[R] = loop.create_future()
    threads = _other_pools.get(pool)
    if threads is None:
        threads = _other_pools[pool] = _Pool(size, pool, database=False)
    threads.submit((loop, future, func, args, kwargs))
    return await future
