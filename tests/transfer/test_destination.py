"""Where a webmail IMAP import may connect (mailboxes/transfer/destination.py):
loopback, private and other non-public addresses and this machine's own are
refused, in the same words as a server that does not answer, before any
connection is made; what a server says never reaches the user; imports per
account are limited. Through the real web app (Django test client) and the
real job body (run_job, as the Celery worker runs it)."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from mailboxes import store
from mailboxes.models import Domain, TransferJob
from mailboxes.transfer import destination
from mailboxes.transfer.imapsource import ImapUrl
from mailboxes.transfer.tasks import run_job

pytestmark = pytest.mark.urls("tests.transfer.urls")
BANNER = b"SSH-2.0-OpenSSH_9.6p1 internal-build-host.corp.example"


def signed_in(account_id: int) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(pk=account_id))
    return client


def _own_address() -> str | None:
    """The address this machine sends from (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        return str(probe.getsockname()[0])


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@contextmanager
def listener() -> Iterator[tuple[socket.socket, int]]:
    """A socket listening on every address of this machine (IPv4 and IPv6), to see whether anything connects."""
    try:
        sock = socket.socket(socket.AF_INET6)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(("::", 0))
    except OSError:
        sock = socket.socket(socket.AF_INET)
        sock.bind(("0.0.0.0", 0))
    with sock:
        sock.listen(8)
        sock.setblocking(False)
        yield sock, sock.getsockname()[1]


def nothing_connected(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return True
    conn.close()
    return False


OURS = [
    "127.0.0.1",
    "localhost",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0.0.0.0",
    "::ffff:127.0.0.1",
    pytest.param("::1", marks=pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")),
    pytest.param(
        _own_address() or "",
        marks=pytest.mark.skipif(not _own_address(), reason="no route out"),
        id="this-machines-address",
    ),
]


def post_import(client: Client, host: str, port: int, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/transfer/imports/",
        {"host": host, "port": str(port), "security": "starttls", "username": "x", "password": "y", **extra},
    )


def unreachable(host: str, port: int) -> str:
    return f"cannot connect to {f'[{host}]' if ':' in host else host}:{port}"


@pytest.mark.parametrize("host", OURS)
def test_an_import_from_loopback_or_this_machine_is_refused_with_the_generic_text_and_nothing_connects(alice, host):
    with listener() as (sock, port):
        response = post_import(signed_in(alice.id), host, port)
        assert response.status_code == 400
        assert f"C{unreachable(host, port)[1:]}.".encode() in response.content
        assert not TransferJob.objects.exists()
        assert nothing_connected(sock)


@pytest.mark.parametrize("host", OURS)
def test_the_job_checks_again_and_connects_to_no_address_it_was_not_allowed(alice, host):
    """A job queued while the host's name pointed elsewhere (or before the setting changed) checks on its own."""
    with listener() as (sock, port):
        job = store.create_transfer_job(alice.id, str(ImapUrl(False, "x", host, port)), "y", started_by_id=alice.id)
        run_job(job.id)
        assert nothing_connected(sock)
    status = signed_in(alice.id).get(f"/transfer/imports/{job.id}/?format=json").json()
    assert status["state"] == "failed" and status["error"] == unreachable(host, port)


NOT_PUBLIC = [
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "192.0.2.1",
    "198.18.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "240.0.0.1",
    "::",
    "fe80::1",
    "fc00::1",
    "fec0::1",
    "ff02::1",
    "::ffff:10.0.0.1",
    "2002:a00:1::1",
    "2002:7f00:1::1",
    "64:ff9b::a00:1",
    "64:ff9b::7f00:1",
    "2001:db8::1",
]


def test_private_link_local_multicast_reserved_and_unspecified_addresses_are_refused(alice):
    client = signed_in(alice.id)
    for host in NOT_PUBLIC:
        response = post_import(client, host, 993)
        assert response.status_code == 400, host
        assert f"C{unreachable(host, 993)[1:]}.".encode() in response.content, host
    assert not TransferJob.objects.exists()


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "2002:808:808::1", "::ffff:9.9.9.9"])
def test_public_addresses_are_not_refused(address):
    assert not destination.refused(ipaddress.ip_address(address))


def test_the_addresses_of_this_machine_are_ours_and_others_are_not():
    assert destination.ours(ipaddress.ip_address("127.0.0.1"))
    if _own_address():
        assert destination.ours(ipaddress.ip_address(_own_address()))
    assert not destination.ours(ipaddress.ip_address("8.8.8.8"))


@contextmanager
def talking_server(*replies: bytes) -> Iterator[tuple[int, list[bytes]]]:
    """A server on 127.0.0.1 that sends each reply (the first at once, each other after reading a
    command line, with {tag} standing for its tag), then closes. It lists the lines it heard."""
    sock = socket.create_server(("127.0.0.1", 0))
    heard: list[bytes] = []

    def serve() -> None:
        conn, _ = sock.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(replies[0])
            for reply in replies[1:]:
                heard.append(lines.readline())
                conn.sendall(reply.replace(b"{tag}", heard[-1].split(b" ")[0]))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with sock:
        yield sock.getsockname()[1], heard
        thread.join(10)


@pytest.mark.parametrize(
    "replies, says",
    [
        ((BANNER + b"\r\n",), "cannot connect to 127.0.0.1:{port}"),
        (
            (
                b"* OK internal-build-host.corp.example ready\r\n",
                b"* CAPABILITY IMAP4rev1\r\n{tag} OK CAPABILITY done\r\n",
                b"{tag} NO [AUTHENTICATIONFAILED] no such user on internal-build-host.corp.example\r\n",
            ),
            "127.0.0.1:{port} refused the login of x",
        ),
    ],
    ids=["ssh-banner", "imap-refusal-naming-a-host"],
)
def test_what_an_allowed_server_says_never_reaches_the_user(alice, settings, replies, says):
    settings.MAIL_IMPORT_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with talking_server(*replies) as (port, heard):
        job = store.create_transfer_job(
            alice.id, str(ImapUrl(False, "x", "127.0.0.1", port)), "y", started_by_id=alice.id
        )
        run_job(job.id)
    client = signed_in(alice.id)
    status = client.get(f"/transfer/imports/{job.id}/?format=json").json()
    assert status["state"] == "failed" and status["error"] == says.format(port=port)
    page = client.get(f"/transfer/imports/{job.id}/").content + client.get("/transfer/imports/").content
    assert b"internal-build-host" not in page and b"OpenSSH" not in page
    assert len(heard) == len(replies) - 1  # it did connect: the setting allowed it


def test_an_account_takes_part_in_at_most_the_configured_number_of_imports(alice, bob, settings):
    settings.MAIL_IMPORT_MAX_JOBS = 2
    settings.MAIL_IMPORT_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    first = store.create_transfer_job(alice.id, "imaps://x@127.0.0.1:993", "y", started_by_id=alice.id)
    store.create_transfer_job(alice.id, "imaps://x@127.0.0.1:994", "y", started_by_id=alice.id)
    response = post_import(signed_in(alice.id), "127.0.0.1", 995)
    assert response.status_code == 400
    assert b"At most 2 imports may run or wait at a time; wait for one to finish." in response.content
    Domain.objects.get(name="example.test").admins.add(bob.id)  # an administrator counts against her too
    response = post_import(signed_in(bob.id), "127.0.0.1", 995, account="alice@example.test")
    assert response.status_code == 400 and b"At most 2 imports" in response.content
    assert TransferJob.objects.count() == 2
    store.finish_transfer_job(first.id, ok=True)  # a finished import frees its place
    store.create_transfer_job(alice.id, "imaps://x@127.0.0.1:995", "y", started_by_id=alice.id)
    with pytest.raises(store.LimitExceeded):
        store.create_transfer_job(bob.id, "imaps://x@127.0.0.1:996", "y", started_by_id=alice.id)
