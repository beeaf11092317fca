"""Fixtures of the Sieve tests: the ManageSieve listener in this process."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from conftest import PASSWORDS
from tests.servers import InProcessServer

ALICE = "alice@example.test"
ALICE_PW = PASSWORDS[ALICE]
PLAIN = base64.b64encode(f"\0{ALICE}\0{ALICE_PW}".encode()).decode()


@pytest.fixture(scope="module")
def sieve_server() -> Iterator[InProcessServer]:
    with InProcessServer(["managesieve"]) as server:
        yield server
