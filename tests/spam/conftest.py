"""A real rspamd for the spam tests: Debian's binary with the project's config
(deploy/rspamd/local.d) and rspamd's test patterns, started once per session
as a child process on free loopback ports (mailhost/rspamd_server.py), its
DNS on the suite's loopback server and its Redis the tests' own. Skipped
only when rspamd is not installed (`make test` installs it)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailhost import rspamd_server
from tests.markers import forbid_in_fast_run

# rspamd's test patterns (enable_test_patterns): the first rejects, the
# second adds a header, the third rewrites the subject.
GTUBE_REJECT = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
GTUBE_ADD_HEADER = "YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
GTUBE_REWRITE_SUBJECT = "ZJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
PASSWORD = "rspamd-test-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def rspamd(tmp_path_factory, loopback_dns) -> Iterator[rspamd_server.Instance]:  # type: ignore[no-untyped-def]
    if rspamd_server.binary() is None:
        pytest.skip("rspamd is not installed (make test installs Debian's rspamd package)")
    from django.conf import settings

    instance = rspamd_server.Instance(
        Path(tmp_path_factory.mktemp("rspamd")),
        free_port(),
        free_port(),
        PASSWORD,
        redis_url=settings.REDIS_URL,
        nameservers=(f"127.0.0.1:{loopback_dns.port}",),
        test_mode=True,
    )
    forbid_in_fast_run("an rspamd subprocess")
    proc = rspamd_server.start(instance)
    yield instance
    rspamd_server.stop(proc)


@pytest.fixture
def scanning(rspamd, settings):  # type: ignore[no-untyped-def]
    """The settings that make the MX and submission scan with the suite's rspamd."""
    settings.MAIL_RSPAMD_URL = rspamd.url
    settings.MAIL_RSPAMD_CONTROLLER_URL = rspamd.controller_url
    settings.MAIL_RSPAMD_PASSWORD = PASSWORD
    return rspamd


@pytest.fixture(scope="session")
def smtp_ports(loopback_dns) -> Iterator[dict[str, int]]:  # type: ignore[no-untyped-def]
    """The MX and submission in this process; they scan when `scanning` sets the settings."""
    from tests.servers import InProcessServer

    with InProcessServer(["smtp", "submission"]) as server:
        yield server.ports


def message(body: str, subject: str = "Hello", sender: str = "sender@remote.test", extra: str = "") -> bytes:
    """A small plain message; rspamd's Bayes wants a dozen words or more to learn."""
    return (
        f"From: {sender}\r\nTo: alice@example.test\r\nSubject: {subject}\r\n"
        f"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{abs(hash(body + subject))}@remote.test>\r\n"
        f"{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def folder(account_id: int, name: str) -> list[bytes]:
    """The stored bytes of every message in the folder, in UID order."""
    from tests.smtp.conftest import inbox

    return inbox(account_id, name)
