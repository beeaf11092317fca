"""The suite's markers, each with one predicate, so that a test says what it
needs in one word and the reason it is skipped reads the same everywhere.

`make test` runs on PostgreSQL and Redis, where nothing here skips; the
store's SQLite run (`make test-sqlite`) and a developer's quick run without
the services skip what cannot run there."""

from __future__ import annotations

import pytest
from django.conf import settings

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
WITH_REDIS = bool(settings.REDIS_URL)

needs_postgres = pytest.mark.skipif(
    not ON_POSTGRES, reason="needs PostgreSQL (row locks, concurrency, a database that subprocesses share)"
)
needs_redis = pytest.mark.skipif(not WITH_REDIS, reason="needs Redis (REDIS_URL)")

# `make test-fast` (pytest -m "not slow") is the run a developer makes all day:
# no browser, no subprocess servers, no fuzz, no real mail programs. A test that
# starts one of those without the slow marker fails there, so the marker stays true.
slow = pytest.mark.slow


def forbid_in_fast_run(what: str) -> None:
    import os

    if os.environ.get("MAIL_TEST_FAST"):
        pytest.fail(f"{what} in the fast run: mark this test @pytest.mark.slow (tests/markers.py)")


def sqlite_gap(reason: str) -> pytest.MarkDecorator:
    """A known difference of the embedded default (SQLite) from PostgreSQL, kept
    visible: the test must fail there (strict), so fixing the gap shows up."""
    return pytest.mark.xfail(not ON_POSTGRES, reason=f"SQLite: {reason}", strict=True)
