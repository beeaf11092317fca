"""One decorator for every store entry point: one transaction, typed failures."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction

from .errors import Unavailable

P = ParamSpec("P")
R = TypeVar("R")
log = logging.getLogger("mailboxes.store")

try:  # the connection pool's own timeout, when the pool is in use
    from psycopg_pool import PoolTimeout
except ImportError:  # pragma: no cover
    PoolTimeout = OperationalError  # type: ignore[misc]


def atomic(func: Callable[P, R]) -> Callable[P, R]:
    """Run func in one transaction; a database that cannot be reached becomes Unavailable.

    IntegrityError is left alone: callers that race on a unique key handle it."""
    return _mapped(func, transactional=True)


def no_transaction(func: Callable[P, R]) -> Callable[P, R]:
    """For functions that need no transaction around them: they only read and
    need no consistent snapshot, or each write is one statement (atomic by
    itself) or in a transaction they open themselves. Each statement runs on
    its own (or inside a caller's transaction, without a savepoint); failures
    are mapped as atomic's."""
    return _mapped(func, transactional=False)


def _mapped(func: Callable[P, R], *, transactional: bool) -> Callable[P, R]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            if not transactional:
                return func(*args, **kwargs)
            with transaction.atomic():
                return func(*args, **kwargs)
        except IntegrityError:
            raise
        except (OperationalError, InterfaceError, PoolTimeout) as exc:
            log.warning("store.%s: database unavailable: %s", func.__name__, exc)
            raise Unavailable("the mail store is temporarily unavailable") from exc
        except DatabaseError as exc:
            if _connection_lost(exc):
                raise Unavailable("the mail store is temporarily unavailable") from exc
            raise

    return wrapper


def _connection_lost(exc: DatabaseError) -> bool:
    text = str(exc).lower()
    return "connection" in text and ("closed" in text or "lost" in text or "terminat" in text)
