"""Prometheus metrics: a runmailserver worker's --metrics-port and the web's
/metrics, scraped after real traffic and read with the client library's parser."""

from __future__ import annotations

import smtplib
import socket
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import PASSWORDS, sample_message
from tests.scale.conftest import LineClient
from tests.servers import SubprocessServer

pytestmark = pytest.mark.slow


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(metrics: dict, name: str, **labels: str) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def worker(users, loopback_dns):  # type: ignore[no-untyped-def]
    from django.conf import settings

    env = {"MAIL_METRICS_PORT": str(free_port()), "MAIL_DNS_NAMESERVERS": ",".join(settings.MAIL_DNS_NAMESERVERS)}
    with SubprocessServer("imap,pop3,smtp", env) as server:
        yield server


def scrape(server: SubprocessServer) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.ports['metrics']}/metrics", timeout=10) as response:
        return samples(response.read().decode())


def test_a_worker_counts_connections_commands_failures_and_deliveries(worker) -> None:
    imap = LineClient(worker.ports["imap"])
    imap.line()
    assert imap.send("a LOGIN alice@example.test wrong-password").startswith(b"a NO")
    assert imap.send(f"b LOGIN alice@example.test {PASSWORDS['alice@example.test']}").startswith(b"b OK")
    imap.sock.sendall(b"c SELECT INBOX\r\n")
    imap.until(b"c OK")
    before_close = scrape(worker)
    imap.send("d LOGOUT")
    imap.close()
    pop = LineClient(worker.ports["pop3"])
    pop.line()
    pop.send("USER bob@example.test")
    assert pop.send("PASS nope").startswith(b"-ERR")
    pop.close()
    with smtplib.SMTP("127.0.0.1", worker.ports["smtp"], timeout=30) as smtp:
        smtp.sendmail("sender@remote.test", ["alice@example.test", "bob@example.test"], sample_message())

    metrics = scrape(worker)
    assert value(before_close, "mailhost_connections_open", listener="imap") == 1
    assert value(metrics, "mailhost_connections_total", listener="imap") == 1
    assert value(metrics, "mailhost_connections_total", listener="pop3") == 1
    assert value(metrics, "mailhost_connections_total", listener="smtp") == 1
    assert value(metrics, "mailhost_commands_total", protocol="imap", command="LOGIN", result="NO") == 1
    assert value(metrics, "mailhost_commands_total", protocol="imap", command="LOGIN", result="OK") == 1
    assert value(metrics, "mailhost_commands_total", protocol="smtp", command="DATA", result="2xx") == 1
    assert value(metrics, "mailhost_auth_failures_total", protocol="imap") == 1
    assert value(metrics, "mailhost_auth_failures_total", protocol="pop3") == 1
    assert value(metrics, "mailhost_deliveries_total", destination="local") == 2
    assert value(metrics, "mailhost_command_seconds_count", protocol="imap", command="SELECT") == 1
    assert ("mailhost_outbound_queue", frozenset()) not in metrics  # by state, labelled


def test_a_worker_reports_the_outbound_queue_by_state(worker) -> None:
    from mailboxes import store

    store.deliver(sample_message(to="someone@far.test"), ["someone@far.test"], "alice@example.test")
    metrics = scrape(worker)
    assert sum(v for (name, _), v in metrics.items() if name == "mailhost_outbound_queue") == 1


def test_the_web_serves_metrics_with_its_request_counts(client, db) -> None:  # type: ignore[no-untyped-def]
    client.get("/mail/login/")
    response = client.get("/metrics")
    assert response.status_code == 200
    metrics = samples(response.content.decode())
    assert value(metrics, "mailhost_http_requests_total", method="GET", status="200") >= 1
    assert any(name == "mailhost_http_request_seconds_count" for name, _ in metrics)
