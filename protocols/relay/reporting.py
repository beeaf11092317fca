"""The daily loop both report senders share (DMARC aggregate reports,
protocols/relay/dmarcrpt.py, RFC 7489 7.2; TLS reports, protocols/relay/tlsrpt.py,
RFC 8460 4): a day's counted rows grouped by the domain they are about, each
domain's report addresses looked up in its DNS, one report built per domain
that asks for it, and that report sent to each address. A domain whose DNS
fails for now is skipped with a log line (tomorrow's report follows), and so
is an address the queue refuses; neither stops the others."""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.conf import settings

from mailboxes import store
from mailboxes.dns import DnsTemporary

log = logging.getLogger("protocols.relay.reporting")

Row = TypeVar("Row")
Report = TypeVar("Report")


def report_id(day: datetime.date) -> str:
    """A report's unique id (RFC 7489 7.2.1.1 report_id, RFC 8460 4.4 report-id)."""
    return f"{day:%Y%m%d}.{uuid.uuid4().hex}@{settings.MAIL_HOSTNAME}"


def send_daily(
    kind: str,
    rows: Iterable[Row],
    domain_of: Callable[[Row], str],
    prepare: Callable[[str, list[Row]], tuple[Report, list[str]] | None],
    send: Callable[[Report, str, str], int],
) -> int:
    """prepare(domain, rows) looks up where the domain wants its reports (may
    raise DnsTemporary) and builds the report: None when nobody asked for one.
    send(report, domain, address) sends it to one address and returns how many
    were sent (0 or 1; store.StoreError when the queue refused it). Returns how
    many reports were sent in all."""
    by_domain: dict[str, list[Row]] = {}
    for row in rows:
        by_domain.setdefault(domain_of(row), []).append(row)
    sent = 0
    for domain, found in by_domain.items():
        try:
            prepared = prepare(domain, found)
        except DnsTemporary as exc:
            log.warning("%s report for %s not sent: %s", kind, domain, exc)
            continue
        if prepared is None:
            continue
        report, addresses = prepared
        for address in addresses:
            try:
                sent += send(report, domain, address)
            except store.StoreError as exc:
                log.warning("%s report for %s to %s not queued: %s", kind, domain, address, exc)
    return sent
