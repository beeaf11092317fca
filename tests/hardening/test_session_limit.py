"""The per-account session limit is shared by worker processes through
Redis: sessions at one worker count at the other."""

from __future__ import annotations

import pytest

from conftest import PASSWORDS
from tests.imap.client import RawClient
from tests.markers import needs_redis
from tests.servers import SubprocessServer

pytestmark = pytest.mark.slow

ALICE = "alice@example.test"
ENV = {"MAIL_MAX_SESSIONS_PER_ACCOUNT": "2", "MAIL_FAST_PASSWORD_HASHING": "true"}


def login(port: int) -> tuple[RawClient, bytes]:
    client = RawClient(port)
    client.greeting()
    _lines, status = client.command(f'LOGIN "{ALICE}" "{PASSWORDS[ALICE]}"')
    return client, status


@needs_redis  # the count is shared through Redis
def test_sessions_at_one_worker_count_against_the_limit_at_the_other(users):
    with SubprocessServer("imap", ENV) as one, SubprocessServer("imap", ENV) as two:
        first, s1 = login(one.ports["imap"])
        second, s2 = login(two.ports["imap"])
        third, s3 = login(two.ports["imap"])
        try:
            assert b" OK " in s1 and b" OK " in s2, (s1, s2)
            assert b" NO [LIMIT] " in s3, s3
        finally:
            for c in (first, second, third):
                c.close()
