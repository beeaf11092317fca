"""Shared pieces of the benchmarks: a scratch database with Django set up on
it, and timing N clients working at once (each sets up: connects, logs in,
builds its payloads, before the clock starts, then all start together)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def scratch_database(base_url: str, name: str) -> str:
    """Create (again) database `name` on base_url's server; returns its URL."""
    import psycopg

    parts = urlsplit(base_url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path="/" + name))


def drop_scratch(url: str) -> None:
    """Drop the scratch database at url (connections still open are ended)."""
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path[1:]}" WITH (FORCE)')


def setup_scratch(name: str, env: dict[str, str] | None = None, *, without_redis: bool = False) -> str:
    """A fresh scratch database `name` beside DATABASE_URL's: env exported (this
    process and the servers it starts inherit it), migrated, Django set up on
    it. Returns its URL."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mailhost")
    url = scratch_database(base, name)
    os.environ.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "mailhost.settings", **(env or {})})
    if without_redis:
        os.environ.pop("REDIS_URL", None)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"], check=True, cwd=ROOT)
    import django

    django.setup()
    return url


Work = Callable[[], int]


def timed_clients(count: int, prepare: Callable[[int], Work]) -> tuple[float, int]:
    """prepare(n) runs in client n's thread and returns its timed work, which
    returns how many items it handled. Returns (seconds, items in all); raises
    if any client failed."""
    handled = [0] * count
    errors: list[BaseException] = []
    start = threading.Barrier(count + 1)

    def client(n: int) -> None:
        try:
            work = prepare(n)
            start.wait()
            handled[n] = work()
        except BaseException as exc:  # reported below
            errors.append(exc)
            try:
                start.abort()
            except threading.BrokenBarrierError:
                pass

    threads = [threading.Thread(target=client, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    try:
        start.wait()
    except threading.BrokenBarrierError:
        pass
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{len(errors)} clients failed: {errors[0]!r}")
    return elapsed, sum(handled)
