"""Fixtures for IMAP end-to-end tests: the real listeners on 127.0.0.1:0."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import PASSWORDS
from tests.servers import InProcessServer

from .client import RawClient


@pytest.fixture(scope="module")
def listeners() -> Iterator[InProcessServer]:
    """The listeners need no database to start, so one set serves a module."""
    with InProcessServer(["imap", "imaps"]) as server:
        yield server


@pytest.fixture
def imap_server(users, listeners: InProcessServer) -> InProcessServer:  # type: ignore[no-untyped-def]
    """The listeners, with committed users for this test."""
    return listeners


@pytest.fixture
def imap_port(imap_server: InProcessServer) -> int:
    return imap_server.ports["imap"]


@pytest.fixture
def client(imap_port: int) -> Iterator[RawClient]:
    """A raw connection logged in as alice."""
    with RawClient(imap_port) as raw:
        raw.login("alice@example.test", PASSWORDS["alice@example.test"])
        yield raw
