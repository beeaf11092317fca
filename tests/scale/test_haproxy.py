"""Two runmailserver workers behind a real HAProxy (TCP mode, send-proxy and
send-proxy-v2) on one PostgreSQL and one Redis behave as one server: each
worker sees the real client address, an IDLE session on either worker hears
of a delivery through the other, the POP3 maildrop lock holds across them,
mail for the outbound queue from both lands in the one queue, and failed
logins through both count against the real client address.

Clients connect from 127.0.0.x addresses other than HAProxy's own 127.0.0.1,
so the address a worker reports can only have come from the PROXY header."""

from __future__ import annotations

import smtplib
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import PASSWORDS, sample_message
from mailboxes import store
from tests.scale.conftest import LineClient
from tests.scale.haproxy import VERSIONS, HAProxy, free_port
from tests.servers import SubprocessServer

pytestmark = pytest.mark.slow

ALICE, BOB = "alice@example.test", "bob@example.test"
IP_FAILURES = 3  # failed logins from one client address before it is refused


@pytest.fixture(scope="module")
def cluster(django_db_setup, django_db_blocker, loopback_dns) -> Iterator[tuple[HAProxy, list[SubprocessServer]]]:  # type: ignore[no-untyped-def]
    from django.conf import settings

    env = {
        "MAIL_PROXY_TRUSTED": "127.0.0.1",
        "MAIL_DNS_NAMESERVERS": ",".join(settings.MAIL_DNS_NAMESERVERS),
        "MAIL_LOGIN_MAX_FAILURES_PER_IP": str(IP_FAILURES),
        "MAIL_LOGIN_MAX_FAILURES": "100",
    }
    workers = [
        SubprocessServer("imap,pop3,smtp,submission", {**env, "MAIL_METRICS_PORT": str(free_port())}) for _ in range(2)
    ]
    try:
        for worker in workers:
            worker.start()
        with HAProxy(["imap", "pop3", "smtp", "submission"], [w.ports for w in workers]) as haproxy:
            yield haproxy, workers
    finally:
        for worker in workers:
            worker.stop()


def connections(worker: SubprocessServer, listener: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.ports['metrics']}/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "mailhost_connections_total" and s.labels == {"listener": listener}
    )


def imap_login(port: int, source: str, user: str = ALICE) -> LineClient:
    client = LineClient(port, source=source)
    assert client.line().startswith(b"* OK")
    assert client.send(f"a LOGIN {user} {PASSWORDS[user]}").startswith(b"a OK")
    return client


def last_ip(account_id: int, protocol: str) -> str:
    return next(r.ip for r in store.last_logins(account_id) if r.protocol == protocol)


@pytest.mark.parametrize("version", VERSIONS)
def test_each_worker_sees_the_real_client_address(cluster, users, version) -> None:
    haproxy, workers = cluster
    before = [connections(w, "imap") for w in workers]
    for source in ["127.0.0.31", "127.0.0.32"]:  # round robin: one to each worker
        imap_login(haproxy.ports[("imap", version)], source).close()
        assert last_ip(users[ALICE].id, "imap") == source
    assert [connections(w, "imap") - b for w, b in zip(workers, before)] == [1, 1]
    pop = LineClient(haproxy.ports[("pop3", version)], source="127.0.0.33")
    pop.line()
    pop.send(f"USER {BOB}")
    assert pop.send(f"PASS {PASSWORDS[BOB]}").startswith(b"+OK")
    pop.send("QUIT")
    assert last_ip(users[BOB].id, "pop3") == "127.0.0.33"


def test_idle_on_both_workers_hears_of_a_delivery_through_haproxy(cluster, users) -> None:
    haproxy, _ = cluster
    idlers = []
    for source in ("127.0.0.41", "127.0.0.42"):  # round robin: one on each worker
        client = imap_login(haproxy.ports[("imap", "v2")], source)
        client.sock.sendall(b"b SELECT INBOX\r\n")
        client.until(b"b OK")
        client.sock.sendall(b"c IDLE\r\n")
        client.until(b"+ ")
        idlers.append(client)
    with smtplib.SMTP("127.0.0.1", haproxy.ports[("smtp", "v1")], timeout=30, source_address=("127.0.0.43", 0)) as smtp:
        smtp.sendmail("sender@remote.test", [ALICE], sample_message(subject="Pushed"))
    for client in idlers:
        assert client.until(b"* ")[-1].endswith(b"EXISTS\r\n")
        client.sock.sendall(b"DONE\r\n")
        client.until(b"c OK")
        client.close()


def test_the_pop3_lock_holds_across_the_workers_behind_haproxy(cluster, users) -> None:
    haproxy, _ = cluster
    port = haproxy.ports[("pop3", "v1")]
    first = LineClient(port, source="127.0.0.51")
    first.line()
    first.send(f"USER {ALICE}")
    assert first.send(f"PASS {PASSWORDS[ALICE]}").startswith(b"+OK")
    second = LineClient(port, source="127.0.0.52")  # the other worker
    second.line()
    second.send(f"USER {ALICE}")
    assert second.send(f"PASS {PASSWORDS[ALICE]}").startswith(b"-ERR [IN-USE]")
    second.close()
    first.send("QUIT")
    first.close()


def test_mail_for_the_outbound_queue_from_both_workers_lands_in_one_queue(cluster, users) -> None:
    haproxy, _ = cluster
    for n, version in enumerate(VERSIONS):  # two connections: one to each worker
        with smtplib.SMTP(
            "127.0.0.1", haproxy.ports[("submission", version)], timeout=30, source_address=(f"127.0.0.6{n}", 0)
        ) as smtp:
            smtp.login(ALICE, PASSWORDS[ALICE])
            smtp.sendmail(ALICE, [f"friend{n}@far.test"], sample_message(sender=ALICE, to=f"friend{n}@far.test"))
    assert sum(store.outbound_counts().values()) == 2


def test_failed_logins_through_both_workers_block_the_real_client_address_only(cluster, users) -> None:
    haproxy, _ = cluster
    port = haproxy.ports[("imap", "v1")]
    for _ in range(IP_FAILURES):  # round robin: the failures land on both workers
        client = LineClient(port, source="127.0.0.81")
        client.line()
        assert client.send(f"a LOGIN {BOB} wrong-password").startswith(b"a NO")
        client.close()
    blocked = LineClient(port, source="127.0.0.81")
    blocked.line()
    assert blocked.send(f"a LOGIN {ALICE} {PASSWORDS[ALICE]}").startswith(b"a NO")
    blocked.close()
    imap_login(port, "127.0.0.82").close()  # another client of the same balancer is not
