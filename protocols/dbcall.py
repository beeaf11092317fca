"""Run blocking store calls off the event loop, on a bounded thread pool.

Never Django's sync_to_async(thread_sensitive=True): it runs every call on one
thread and would serialise the whole server (DESIGN.md rule 3). The pool is
sized to the database connection pool (MAIL_DB_THREADS), so a slow database
makes callers queue here instead of exhausting connections.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import close_old_connections

P = ParamSpec("P")
R = TypeVar("R")
_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=settings.MAIL_DB_THREADS, thread_name_prefix="store")
    return _executor


def _run(func: Callable[..., R], args: tuple, kwargs: dict) -> R:
    close_old_connections()
    try:
        return func(*args, **kwargs)
    finally:
        close_old_connections()


async def call(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """await call(store.fetch_messages, ...): one store call in the pool."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool(), functools.partial(_run, func, args, kwargs))
