"""The store's Redis (REDIS_URL): one client per process, and one key prefix
per area under the database's name, so test databases never share keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings

_client: Any = None
T = TypeVar("T")


def client() -> Any:
    global _client
    if _client is None:
        import redis

        _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
    return _client


def prefix(area: str) -> str:
    return f"mailhost:{settings.DATABASES['default']['NAME']}:{area}:"


def delete_under(key_prefix: str) -> None:
    """Delete every key that starts with key_prefix (tests' resets)."""
    keys = list(client().scan_iter(match=key_prefix + "*", count=1000))
    if keys:
        client().delete(*keys)


def backend(with_redis: Callable[[], T], without: Callable[[], T]) -> Callable[[], T]:
    """A getter for one shared store of counters: with_redis() when REDIS_URL
    is set (shared by every worker), else without() (the database), made on
    first use."""
    made: list[T] = []

    def get() -> T:
        if not made:
            made.append(with_redis() if settings.REDIS_URL else without())
        return made[0]

    return get
