"""Prometheus metrics (prometheus_client, the standard client library).

One registry per process: each `runmailserver` worker serves its own on
--metrics-port (MAIL_METRICS_PORT; 0 = off), the web serves it at /metrics.
Every name starts with `mailhost_`. Counting is in process memory and costs
a lock and an add; the outbound queue depth is read from the database at
scrape time (one grouped query), never on a protocol path.

Under gunicorn with several web workers, set PROMETHEUS_MULTIPROC_DIR (the
client library's multiprocess mode) so /metrics adds up every worker.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

log = logging.getLogger("mailhost.metrics")

CONNECTIONS_OPEN = Gauge(
    "mailhost_connections_open", "Client connections open now", ["listener"], multiprocess_mode="livesum"
)
CONNECTIONS = Counter("mailhost_connections", "Client connections accepted", ["listener"])
COMMANDS = Counter("mailhost_commands", "Protocol commands by result", ["protocol", "command", "result"])
COMMAND_SECONDS = Histogram(
    "mailhost_command_seconds",
    "Time to answer a protocol command",
    ["protocol", "command"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DELIVERIES = Counter(
    "mailhost_deliveries", "Message copies stored in a mailbox (local) or queued to relay", ["destination"]
)
AUTH_FAILURES = Counter("mailhost_auth_failures", "Failed logins", ["protocol"])
SPAM_SCANS = Counter(
    "mailhost_spam_scans",
    "Messages scanned by rspamd at DATA, by outcome "
    "(reject, defer, junk, inbox; unavailable when rspamd did not answer)",
    ["listener", "outcome"],
)
SPAM_SCAN_SECONDS = Histogram(
    "mailhost_spam_scan_seconds",
    "Time rspamd took to answer a scan",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HTTP_REQUESTS = Counter("mailhost_http_requests", "Web requests by status", ["method", "status"])
HTTP_SECONDS = Histogram("mailhost_http_request_seconds", "Time to answer a web request", ["method"])

# Commands whose replies say whether a login worked, per protocol.
AUTH_COMMANDS = {
    "imap": {"LOGIN", "AUTHENTICATE"},
    "pop3": {"PASS", "APOP", "AUTH"},
    "pop2": {"HELO"},
    "smtp": {"AUTH"},
}
# Commands that wait for the client (IDLE, DATA's body): counted, not timed.
UNTIMED = {("imap", "IDLE")}


#: The labelled children per (protocol, command, result): prometheus_client's
#: labels() looks them up under a lock each time, a cost paid on every
#: command (docs/PERFORMANCE.md, "IMAP command path, second round").
_CHILDREN: dict[tuple[str, str, str], tuple[Any, Any, Any]] = {}


def _children(protocol: str, name: str, result: str) -> tuple[Any, Any, Any]:
    counter = COMMANDS.labels(protocol, name, result)
    timer = COMMAND_SECONDS.labels(protocol, name) if (protocol, name) not in UNTIMED else None
    failed = name in AUTH_COMMANDS.get(protocol, ()) and result not in ("OK", "+OK", "2xx", "3xx")
    return counter, timer, AUTH_FAILURES.labels(protocol) if failed else None


def command(protocol: str, name: str, result: str, seconds: float) -> None:
    """One command answered: result is the reply's kind ("OK", "NO", "BAD",
    "+OK", "-ERR", "2xx", "5xx", ...)."""
    key = (protocol, name, result)
    children = _CHILDREN.get(key)
    if children is None:
        children = _CHILDREN[key] = _children(protocol, name.upper(), result)
    counter, timer, failed = children
    counter.inc()
    if timer is not None:
        timer.observe(seconds)
    if failed is not None:
        failed.inc()


class ConnectionCount:
    """with ConnectionCount(listener): ... around a connection's life."""

    def __init__(self, listener: str) -> None:
        self.listener = listener

    def __enter__(self) -> ConnectionCount:
        CONNECTIONS.labels(self.listener).inc()
        CONNECTIONS_OPEN.labels(self.listener).inc()
        return self

    def __exit__(self, *exc: object) -> None:
        CONNECTIONS_OPEN.labels(self.listener).dec()


def spam_scanned(listener: str, outcome: str, seconds: float) -> None:
    SPAM_SCANS.labels(listener, outcome).inc()
    if outcome != "unavailable":
        SPAM_SCAN_SECONDS.observe(seconds)


def delivered(local: int, queued: int) -> None:
    if local:
        DELIVERIES.labels("local").inc(local)
    if queued:
        DELIVERIES.labels("relay").inc(queued)


class QueueCollector(Collector):
    """mailhost_outbound_queue{state}: recipients on the outbound queue, read at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("mailhost_outbound_queue", "Outbound recipients by state", labels=["state"])
        try:
            from django.db import close_old_connections

            from mailboxes import store

            close_old_connections()
            try:
                counts = store.outbound_counts()
            finally:
                close_old_connections()
        except Exception as exc:  # a scrape must not fail because the database is away
            log.warning("metrics: outbound queue not readable: %s", exc)
            return
        for state, count in sorted(counts.items()):
            family.add_metric([state], count)
        yield family


_queue_lock = threading.Lock()
_queue_registered = False


def register_queue_collector() -> None:
    global _queue_registered
    with _queue_lock:
        if not _queue_registered:
            REGISTRY.register(QueueCollector())
            _queue_registered = True


def registry() -> CollectorRegistry:
    """The registry to expose: every process's under multiprocess mode, else this one's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        merged.register(QueueCollector())
        return merged
    register_queue_collector()
    return REGISTRY


def exposition() -> bytes:
    return generate_latest(registry())


def serve(host: str, port: int) -> tuple[str, int]:
    """A worker's /metrics on host:port (a thread of its own); returns the address bound."""
    register_queue_collector()
    server, _thread = start_http_server(port, addr=host, registry=REGISTRY)
    address = server.server_address
    return str(address[0]), int(address[1])


# --- the web ----------------------------------------------------------------


def may_scrape(request) -> bool:  # type: ignore[no-untyped-def]
    """Is the client one of MAIL_METRICS_ALLOWED? A request forwarded by a
    proxy that is not one of MAIL_TRUSTED_PROXIES is refused: its client is
    unknown, and a proxy on loopback would otherwise open /metrics to all."""
    from django.conf import settings

    from .clientip import client_ip
    from .networks import in_networks

    forwarded = "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META
    if forwarded and not in_networks(request.META.get("REMOTE_ADDR", ""), settings.MAIL_TRUSTED_PROXIES):
        return False
    return in_networks(client_ip(request), settings.MAIL_METRICS_ALLOWED)


def metrics_view(request):  # type: ignore[no-untyped-def]
    """GET /metrics: the text exposition format, to MAIL_METRICS_ALLOWED only."""
    from django.http import HttpResponse, HttpResponseForbidden
    from prometheus_client import CONTENT_TYPE_LATEST

    if not may_scrape(request):
        return HttpResponseForbidden("Forbidden\n", content_type="text/plain")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Counts and times every web request."""

    def __init__(self, get_response) -> None:  # type: ignore[no-untyped-def]
        self.get_response = get_response

    def __call__(self, request):  # type: ignore[no-untyped-def]
        import time

        started = time.perf_counter()
        response = self.get_response(request)
        HTTP_SECONDS.labels(request.method).observe(time.perf_counter() - started)
        HTTP_REQUESTS.labels(request.method, str(response.status_code)).inc()
        return response
