"""MTA-STS in the relay (RFC 8461): a local HTTPS policy server and a local
MX (MAIL_RELAY_MX_OVERRIDE with the MX host's name) with a good, an expired
and a wrong-name certificate from a test CA the relay trusts through
SSL_CERT_FILE; the suite's loopback DNS answers _mta-sts and mta-sts."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import sample_message
from mailboxes import store
from mailboxes.dns import default_resolver
from protocols.relay import deliver, mtasts
from tests.certs import TestCa

from .helpers import DnsServer, Sink, txt

DOMAIN, MX_HOST = "example.net", "mx.example.net"


# --- the pure parts, table-driven -------------------------------------------


@pytest.mark.parametrize(
    "pattern, host, expected",
    [
        ("mx.example.net", "MX.example.net.", True),
        ("*.example.net", "mx.example.net", True),
        ("*.example.net", "a.mx.example.net", False),  # one label only (RFC 8461 4.1)
        ("*.example.net", "example.net", False),
        ("mx.example.net", "mx2.example.net", False),
    ],
)
def test_an_mx_pattern_matches_its_host_or_one_label_under_a_wildcard(pattern, host, expected):
    assert mtasts.name_matches(pattern, host) is expected


@pytest.mark.parametrize(
    "records, expected",
    [
        ([b"v=STSv1; id=20160831085700Z;"], "20160831085700Z"),
        ([b"v=STSv1;id=abc", b"v=spf1 -all"], "abc"),  # other TXT records do not count
        ([b"v=STSv1; id=a", b"v=STSv1; id=b"], None),  # two: no policy (3.1)
        ([b"v=STSv1; id=not-alnum"], None),
        ([b"v=STSv1;"], None),
        ([], None),
    ],
)
def test_the_txt_record_gives_the_policy_id_only_when_there_is_exactly_one(records, expected):
    assert mtasts.parse_txt(records) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "version: STSv1\r\nmode: enforce\r\nmx: mail.example.net\r\nmx: *.example.net\r\nmax_age: 604800\r\n",
            mtasts.Policy("enforce", ("mail.example.net", "*.example.net"), 604800),
        ),
        (
            "version: STSv1\nmode: testing\nmx: a.test\nmax_age: 86400\nextension: ignored\n",
            mtasts.Policy("testing", ("a.test",), 86400),
        ),
        ("version: STSv1\nmode: none\nmax_age: 86400\n", mtasts.Policy("none", (), 86400)),
        ("version: STSv1\nmode: enforce\nmax_age: 86400\n", None),  # no mx
        ("version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 86400\n", None),
        ("version: STSv1\nmode: strict\nmx: a.test\nmax_age: 86400\n", None),
        ("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 31557601\n", None),  # more than a year
        ("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n", None),
    ],
)
def test_a_policy_file_is_parsed_or_refused_as_a_whole(text, expected):
    assert mtasts.parse_policy(text) == expected


# --- the relay against local servers ----------------------------------------


class PolicyServer:
    """https://mta-sts.example.net/.well-known/mta-sts.txt on loopback; it
    also takes POSTs (TLS reports to an https: rua), kept in .posts as
    (path, content type, body) and answered with .status."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.body = ""
        self.status = 200
        self.content_type = "text/plain"
        self.requests = 0
        self.posts: list[tuple[str, str, bytes]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                owner.requests += 1
                payload = owner.body.encode() if self.path == "/.well-known/mta-sts.txt" else b""
                self.send_response(owner.status if payload else 404)
                self.send_header("Content-Type", owner.content_type)
                if owner.status in (301, 302):
                    self.send_header("Location", "https://elsewhere.test/")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner.posts.append((self.path, self.headers.get("Content-Type", ""), body))
                self.send_response(owner.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def policy(mode: str, mx: str = MX_HOST) -> str:
    return f"version: STSv1\r\nmode: {mode}\r\nmx: {mx}\r\nmax_age: 86400\r\n"


@pytest.fixture
def ca(tmp_path: Path, monkeypatch) -> TestCa:  # type: ignore[no-untyped-def]
    authority = TestCa(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.pem))  # the relay's trust store: this CA only
    return authority


@pytest.fixture
def policy_server(ca: TestCa, settings) -> Iterator[PolicyServer]:  # type: ignore[no-untyped-def]
    server = PolicyServer(ca.server_context([f"mta-sts.{DOMAIN}"]))
    settings.MAIL_RELAY_MTA_STS_PORT = server.port
    yield server
    server.close()


@pytest.fixture
def dns_zone(settings) -> Iterator[DnsServer]:  # type: ignore[no-untyped-def]
    server = DnsServer(
        {f"_mta-sts.{DOMAIN}": [("TXT", txt("v=STSv1; id=1;"))], f"mta-sts.{DOMAIN}": [("A", "127.0.0.1")]}
    )
    settings.MAIL_DNS_NAMESERVERS = [f"127.0.0.1:{server.port}"]
    yield server
    server.close()


MX_CERTIFICATES = {
    "good": ([MX_HOST], False),
    "expired": ([MX_HOST], True),
    "wrong-name": (["other.example.org"], False),
}


def _mx(ca: TestCa, settings, certificate: str) -> Sink:  # type: ignore[no-untyped-def]
    names, expired = MX_CERTIFICATES[certificate]
    sink = Sink(tls_context=ca.server_context(names, expired=expired))
    settings.MAIL_RELAY_MX_OVERRIDE = f"{DOMAIN}={MX_HOST}@127.0.0.1:{sink.port}"
    return sink


def _forget_dns_answers() -> None:
    """The relay's resolver keeps answers for their TTL: a changed zone is seen at once."""
    cache = default_resolver().cache
    assert cache is not None
    cache.flush()


def _send_and_relay(alice, address: str = f"bob@{DOMAIN}"):  # type: ignore[no-untyped-def]
    store.deliver(sample_message(to=address), [address], "alice@example.test", sender_account_id=alice.id)
    deliver.run()
    [row] = store.outbound_recipients(address=address)
    return row


@pytest.mark.parametrize(
    "mode, certificate, state, error",
    [
        ("enforce", "good", "sent", None),
        ("enforce", "expired", "deferred", "certificate of mx.example.net not valid: certificate has expired"),
        ("enforce", "wrong-name", "deferred", "certificate of mx.example.net not valid: Hostname mismatch"),
        ("testing", "expired", "sent", None),
        ("testing", "wrong-name", "sent", None),
        ("none", "expired", "sent", None),
    ],
)
def test_the_policy_mode_decides_whether_a_bad_mx_certificate_defers_or_is_only_reported(
    alice, ca, policy_server, dns_zone, settings, caplog, mode, certificate, state, error
):
    policy_server.body = policy(mode)
    sink = _mx(ca, settings, certificate)
    try:
        row = _send_and_relay(alice)
    finally:
        sink.close()
    assert row.state == state, row.last_error
    assert len(sink.handler.messages) == (1 if state == "sent" else 0)
    if error:
        assert error in row.last_error
    if mode == "testing":
        assert "MTA-STS testing: example.net would have been refused" in caplog.text


def test_enforce_defers_when_the_policy_names_none_of_the_mx_hosts(alice, ca, policy_server, dns_zone, settings):
    policy_server.body = policy("enforce", mx="*.elsewhere.example")
    sink = _mx(ca, settings, "good")
    try:
        row = _send_and_relay(alice)
    finally:
        sink.close()
    assert row.state == "deferred" and "names none of its MX hosts" in row.last_error
    assert sink.handler.messages == []


def test_a_cached_policy_is_used_while_its_id_stands_and_survives_a_vanished_txt_record(
    alice, ca, policy_server, dns_zone, settings
):
    policy_server.body = policy("enforce")
    sink = _mx(ca, settings, "good")
    try:
        assert _send_and_relay(alice, f"one@{DOMAIN}").state == "sent"
        assert _send_and_relay(alice, f"two@{DOMAIN}").state == "sent"
        assert policy_server.requests == 1  # same id: no second fetch (RFC 8461 5.1)
    finally:
        sink.close()
    # An attacker strips the TXT record and offers an MX with a bad certificate:
    # the cached enforce policy still applies (RFC 8461 10.3).
    del dns_zone.zone[f"_mta-sts.{DOMAIN}"]
    _forget_dns_answers()
    bad = _mx(ca, settings, "expired")
    try:
        row = _send_and_relay(alice, f"three@{DOMAIN}")
    finally:
        bad.close()
    assert row.state == "deferred" and bad.handler.messages == []


def test_a_new_policy_id_fetches_the_policy_again(alice, ca, policy_server, dns_zone, settings):
    policy_server.body = policy("enforce")
    sink = _mx(ca, settings, "expired")
    try:
        assert _send_and_relay(alice, f"one@{DOMAIN}").state == "deferred"
        policy_server.body = policy("testing")
        dns_zone.zone[f"_mta-sts.{DOMAIN}"] = [("TXT", txt("v=STSv1; id=2;"))]
        _forget_dns_answers()
        assert _send_and_relay(alice, f"two@{DOMAIN}").state == "sent"
    finally:
        sink.close()
    assert policy_server.requests == 2


@pytest.mark.parametrize("status, content_type", [(301, "text/plain"), (200, "text/html")])
def test_a_redirect_or_a_policy_not_served_as_text_plain_is_no_policy(
    alice, ca, policy_server, dns_zone, settings, status, content_type
):
    policy_server.body, policy_server.status, policy_server.content_type = policy("enforce"), status, content_type
    sink = _mx(ca, settings, "expired")
    try:
        assert _send_and_relay(alice).state == "sent"  # opportunistic, as without a policy
    finally:
        sink.close()


def test_a_policy_server_with_a_certificate_for_another_name_is_no_policy(alice, ca, dns_zone, settings):
    server = PolicyServer(ca.server_context(["mta-sts.other.example"]))
    server.body = policy("enforce")
    settings.MAIL_RELAY_MTA_STS_PORT = server.port
    sink = _mx(ca, settings, "expired")
    try:
        assert _send_and_relay(alice).state == "sent"
    finally:
        sink.close()
        server.close()
    assert store.cached_sts_policy(DOMAIN) is None


@pytest.mark.parametrize("require_tls, state", [(False, "sent"), (True, "deferred")])
def test_tls_required_no_is_delivered_past_an_enforced_policy_unless_requiretls_was_asked(
    alice, ca, policy_server, dns_zone, settings, require_tls, state
):
    # RFC 8689 5; the same run's other mail for the domain still meets the policy.
    policy_server.body = policy("enforce")
    sink = _mx(ca, settings, "expired")
    try:
        store.deliver_final(
            b"From: alice@example.test\r\nTLS-Required: No\r\nSubject: anyway\r\n\r\nbody\r\n",
            [f"bob@{DOMAIN}"],
            "alice@example.test",
            sender_account_id=alice.id,
            parameters=store.EnvelopeParameters(require_tls=require_tls),
        )
        store.deliver(
            sample_message(to=f"carol@{DOMAIN}"), [f"carol@{DOMAIN}"], "alice@example.test", sender_account_id=alice.id
        )
        deliver.run()
    finally:
        sink.close()
    [bob] = store.outbound_recipients(address=f"bob@{DOMAIN}")
    [carol] = store.outbound_recipients(address=f"carol@{DOMAIN}")
    assert (bob.state, carol.state) == (state, "deferred"), bob.last_error
    assert [m.rcpt_tos for m in sink.handler.messages] == ([[f"bob@{DOMAIN}"]] if state == "sent" else [])
