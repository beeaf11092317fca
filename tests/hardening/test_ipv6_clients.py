"""Mail clients counted per IPv6 /64 (and an IPv4-mapped address as IPv4)
over real IMAP and POP3 sockets: the client address comes from a PROXY
header (the worker trusts loopback as its balancer), the only honest way to
speak from many IPv6 addresses on one machine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scale.conftest import LineClient, v1
from tests.servers import SubprocessServer

from .conftest import ROOT, ROOT_PASSWORD, WORKER_ENV

# A runmailserver subprocess: not for the fast run (tests/markers.py).
pytestmark = pytest.mark.slow

IP_LIMIT = 3


@pytest.fixture(scope="module")
def balanced(django_db_setup, django_db_blocker) -> Iterator[SubprocessServer]:  # type: ignore[no-untyped-def]
    env = {
        **WORKER_ENV,
        "MAIL_LOGIN_MAX_FAILURES_PER_IP": str(IP_LIMIT),
        "MAIL_PROXY_TRUSTED": "127.0.0.1",
        "MAIL_ALLOW_PLAINTEXT_AUTH": "true",
    }
    with SubprocessServer("imap,pop3", env) as server:
        yield server


def imap(server: SubprocessServer, source: str, address: str, password: str) -> bytes:
    client = LineClient(server.ports["imap"], v1(source))
    try:
        client.line()
        return client.send(f'a LOGIN "{address}" "{password}"')
    finally:
        client.close()


def pop3(server: SubprocessServer, source: str, address: str, password: str) -> bytes:
    client = LineClient(server.ports["pop3"], v1(source))
    try:
        client.line()
        client.send(f"USER {address}")
        return client.send(f"PASS {password}")
    finally:
        client.close()


DOORS = {"imap": (imap, b"a OK", b"a NO [UNAVAILABLE]"), "pop3": (pop3, b"+OK", b"-ERR [AUTH] too many failed")}


@pytest.mark.parametrize("door", DOORS)
def test_failures_from_one_ipv6_64_block_every_address_in_it_and_no_other(balanced, root, door):
    attempt, ok, blocked = DOORS[door]
    for n, source in enumerate(["2001:db8:5:6::1", "2001:db8:5:6::2", "2001:db8:5:6:ffff:ffff:ffff:ffff"]):
        assert not attempt(balanced, source, f"nobody{n}@example.test", "guess").startswith(ok)
    assert attempt(balanced, "2001:db8:5:6:1:2:3:4", ROOT, ROOT_PASSWORD).startswith(blocked)
    assert attempt(balanced, "2001:db8:5:7::1", ROOT, ROOT_PASSWORD).startswith(ok)


@pytest.mark.parametrize("door", DOORS)
def test_an_ipv4_mapped_ipv6_client_is_counted_as_its_ipv4_address(balanced, root, door):
    attempt, ok, blocked = DOORS[door]
    for n in range(IP_LIMIT):
        assert not attempt(balanced, "::ffff:192.0.2.7", f"nobody{n}@example.test", "guess").startswith(ok)
    assert attempt(balanced, "192.0.2.7", ROOT, ROOT_PASSWORD).startswith(blocked)
    assert attempt(balanced, "192.0.2.8", ROOT, ROOT_PASSWORD).startswith(ok)
