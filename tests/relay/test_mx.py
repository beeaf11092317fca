"""MX resolution (dnspython) against a DNS server on 127.0.0.1 that the test runs."""

from __future__ import annotations

import socket

import pytest

from conftest import sample_message
from mailboxes import store
from mailboxes.dns import DnsTemporary, make_resolver
from protocols.relay import deliver, mx

from .conftest import dsn_parts, inbox_messages
from .helpers import DnsServer

ZONE = {
    "multi.test": [("MX", "20 mx2.multi.test."), ("MX", "10 mx1.multi.test.")],
    "mx1.multi.test": [("A", "127.0.0.1")],
    "mx2.multi.test": [("A", "127.0.0.2"), ("AAAA", "::1")],
    "nullmx.test": [("MX", "0 .")],
    "implicit.test": [("A", "127.0.0.3")],
    "noaddr.test": [("MX", "10 gone.noaddr.test.")],
}


@pytest.fixture(scope="module")
def dns_server():  # type: ignore[no-untyped-def]
    server = DnsServer(ZONE)
    yield server
    server.close()


@pytest.mark.parametrize(
    "domain, expected",
    [
        ("multi.test", [("mx1.multi.test", "127.0.0.1"), ("mx2.multi.test", "127.0.0.2"), ("mx2.multi.test", "::1")]),
        ("implicit.test", [("implicit.test", "127.0.0.3")]),  # RFC 5321 5.1: no MX, the domain itself
    ],
)
def test_mail_hosts_are_tried_in_preference_order_with_their_addresses(dns_server, domain, expected):
    targets = mx.targets(domain, dns_server.resolver())
    assert [(t.name, t.address) for t in targets] == expected
    assert all(t.port == 25 for t in targets)


@pytest.mark.parametrize(
    "domain, status",
    [
        ("nullmx.test", "5.1.10"),  # RFC 7505
        ("nowhere.test", "5.1.2"),  # NXDOMAIN
        ("noaddr.test", "5.1.2"),  # the MX host has no address
    ],
)
def test_a_domain_that_takes_no_mail_is_a_permanent_failure(dns_server, domain, status):
    with pytest.raises(mx.Undeliverable) as caught:
        mx.targets(domain, dns_server.resolver())
    assert caught.value.status == status


def test_a_dns_server_that_does_not_answer_is_a_temporary_failure():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        resolver = make_resolver([f"127.0.0.1:{silent.getsockname()[1]}"], lifetime=0.3)
        with pytest.raises(DnsTemporary):
            mx.targets("multi.test", resolver)


def test_mail_to_a_null_mx_domain_bounces_at_once_with_status_5_1_10(dns_server, alice):
    store.deliver(
        sample_message(subject="To the void", to="x@nullmx.test"),
        ["x@nullmx.test"],
        "alice@example.test",
        sender_account_id=alice.id,
    )
    assert deliver.run(resolver=dns_server.resolver()) == 1
    [row] = store.outbound_recipients(address="x@nullmx.test")
    assert row.state == "failed"
    [dsn] = inbox_messages(alice.id)
    status, headers = dsn_parts(dsn)
    assert "Status: 5.1.10" in status and "Subject: To the void" in headers
