"""Celery's autodiscover_tasks() imports `<app>.tasks` of every installed app:
this module is how the relay's tasks (protocols/relay/tasks.py) get
registered, and where the certificate renewal and the TLS reports live."""

from __future__ import annotations

import logging

from mailhost.celery import app
from protocols.relay.tasks import relay_message, sweep  # noqa: F401

log = logging.getLogger("protocols.tasks")


@app.task(name="protocols.tasks.renew_certificate", ignore_result=True)
def renew_certificate() -> None:
    """celery beat, twice a day: the ACME certificate renewed at two thirds of
    its lifetime (protocols/acme.py); workers load it by themselves."""
    from protocols import acme

    try:
        acme.renew_if_due()
    except Exception:  # the CA, the network, a challenge: tried again at the next beat
        log.exception("ACME renewal failed; the current certificate stays")


@app.task(name="protocols.tasks.send_tls_reports", ignore_result=True)
def send_tls_reports() -> None:
    """celery beat, daily: yesterday's TLS reports (RFC 8460) to the domains that ask."""
    from protocols.relay import tlsrpt

    tlsrpt.send_reports()


@app.task(name="protocols.tasks.send_dmarc_reports", ignore_result=True)
def send_dmarc_reports() -> None:
    """celery beat, daily: yesterday's DMARC aggregate reports (RFC 7489 7.2) to the domains that ask."""
    from protocols.relay import dmarcrpt

    dmarcrpt.send_reports()
