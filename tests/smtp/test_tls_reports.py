"""TLS reports mailed to our rua address (RFC 8460 5.3) over the MX with
smtplib: stored for the dashboard, the copy still delivered to postmaster;
an unreadable one, or one about someone else's domain, is only delivered.
The report is made by our own outbound reporting (protocols/relay/tlsrpt.py)."""

from __future__ import annotations

import datetime
import smtplib

import pytest

from mailboxes import store
from mailboxes.models import TlsReportReceived
from protocols.relay import tlsrpt
from tests.tls.test_tlsrpt_received import outbound_report

POSTMASTER = "alice@example.test"  # the account postmaster@example.test reaches


@pytest.fixture
def postmaster(users, settings):  # type: ignore[no-untyped-def]
    settings.MAIL_POSTMASTER = POSTMASTER
    return users[POSTMASTER]


def _mail(smtp_ports, message: bytes) -> None:  # type: ignore[no-untyped-def]
    with smtplib.SMTP("127.0.0.1", smtp_ports["smtp"], timeout=30) as smtp:
        smtp.sendmail("", ["postmaster@example.test"], message.replace(b"\n", b"\r\n"))  # as on the wire


def _inbox_size(account_id: int) -> int:
    return len(store.select_folder(account_id, "INBOX").uids)


def _message(domain: str) -> bytes:
    return tlsrpt.report_message(
        outbound_report(domain), domain, f"postmaster@{domain}", datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC)
    )


def test_a_mailed_report_about_our_domain_is_stored_and_still_delivered(smtp_ports, postmaster):
    _mail(smtp_ports, _message("example.test"))
    row = TlsReportReceived.objects.get()
    assert (row.domain.name, row.source, row.successful, row.failed) == ("example.test", "mail", 3, 3)
    assert _inbox_size(postmaster.id) == 1


@pytest.mark.parametrize(
    "message",
    [
        _message("elsewhere.test"),
        _message("example.test").replace(b"application/tlsrpt+gzip", b"application/tlsrpt+json"),  # gzip as JSON
    ],
)
def test_a_report_that_is_not_ours_or_does_not_read_is_only_delivered(smtp_ports, postmaster, message):
    _mail(smtp_ports, message)
    assert _inbox_size(postmaster.id) == 1
    assert not TlsReportReceived.objects.exists()


def test_a_report_mailed_to_anyone_but_postmaster_is_only_delivered(smtp_ports, postmaster, users):
    # The intake looks at the envelope first: only mail to the _smtp._tls address is read.
    bob = users["bob@example.test"]
    with smtplib.SMTP("127.0.0.1", smtp_ports["smtp"], timeout=30) as smtp:
        smtp.sendmail("", ["bob@example.test"], _message("example.test").replace(b"\n", b"\r\n"))
    assert _inbox_size(bob.id) == 1
    assert not TlsReportReceived.objects.exists()
