"""The delay warning (RFC 3464 Action: delayed): a recipient still being
retried MAIL_RELAY_DELAY_WARNING after its message was queued gets the
sender one "delayed" DSN, once, and the message is still delivered later.
The clock is moved by ageing the queued message (OutboundMessage.created),
as the store never would."""

from __future__ import annotations

from datetime import UTC, timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone

from mailboxes import store
from mailboxes.models import OutboundMessage, OutboundRecipient

from .conftest import dsn_parts, inbox_messages, send, settled
from .helpers import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
AGED = timedelta(hours=5)  # past the default warning (4 h), well inside the lifetime (5 days)


def entry(address: str) -> store.OutboundRecipientInfo:
    return store.outbound_recipients(address=address)[-1]


def age(address: str, by: timedelta = AGED) -> None:
    OutboundMessage.objects.filter(pk=entry(address).message_id).update(created=timezone.now() - by)


def retried(address: str, times: int, after: int = 0) -> store.OutboundRecipientInfo | None:
    """The entry once it has been tried and deferred at least `times` more than `after`."""
    row = entry(address)
    return row if row.state == "deferred" and row.attempts >= after + times else None


# --- the store alone: claim, record a 4xx, look at the sender's INBOX ------


def fail_temporarily(address: str) -> store.OutcomeSummary:
    OutboundRecipient.objects.filter(address=address).update(next_attempt=timezone.now())  # due now
    [job] = store.claim_outbound(domains=["remote.test"])
    [(rid, _, _)] = job.recipients
    return store.record_outcome(
        job.message_id,
        [store.AttemptResult(rid, "temporary", "4.2.2", "smtp; 452 4.2.2 Mailbox full", "mx.remote.test")],
    )


@pytest.mark.parametrize(
    "warning, aged, warned",
    [
        (4 * 3600, AGED, True),
        (4 * 3600, timedelta(hours=1), False),  # not long enough yet
        (0, AGED, False),  # 0 turns the warning off
    ],
)
def test_a_temporary_failure_warns_the_sender_only_past_the_delay_warning(settings, alice, warning, aged, warned):
    settings.MAIL_RELAY_DELAY_WARNING = warning
    send(alice, ["full@remote.test"], subject="Wait for it")
    age("full@remote.test", aged)
    assert fail_temporarily("full@remote.test").delay_warned is warned
    assert entry("full@remote.test").delay_warned is warned
    assert len(inbox_messages(alice.id)) == int(warned)
    assert fail_temporarily("full@remote.test").delay_warned is False  # never a second time
    assert len(inbox_messages(alice.id)) == int(warned)


def test_a_null_sender_gets_no_delay_warning(settings, alice):
    settings.MAIL_RELAY_DELAY_WARNING = 4 * 3600
    send(alice, ["full@remote.test"], mail_from="")
    age("full@remote.test")
    summary = fail_temporarily("full@remote.test")
    assert summary.deferred == 1 and not summary.delay_warned
    assert inbox_messages(alice.id) == []


# --- end to end: a real Celery worker and a 451-answering MX ---------------


def test_a_recipient_deferred_for_hours_gets_one_delay_dsn_and_is_delivered_later(worker, fresh_sink, alice):
    address = "slow@remote.test"
    fresh_sink.handler.deferring.add(address)
    send(alice, [address], subject="Slow going")
    wait_for(lambda: retried(address, 1), what="a first deferral")
    assert inbox_messages(alice.id) == []  # a young message earns no warning
    age(address)
    [dsn] = wait_for(lambda: inbox_messages(alice.id), what="the delay DSN")
    attempts = entry(address).attempts
    wait_for(lambda: retried(address, 2, after=attempts), what="two more deferrals")
    assert len(inbox_messages(alice.id)) == 1  # once, however often it is retried

    assert dsn["Subject"] == "Delayed Mail (still being retried)"
    status, headers = dsn_parts(dsn)
    assert "Final-Recipient: rfc822; slow@remote.test" in status
    assert "Action: delayed" in status
    assert "Status: 4.2.1" in status
    assert "Diagnostic-Code: smtp; 451 4.2.1 Mailbox busy, try again later" in status
    created = OutboundMessage.objects.get(pk=entry(address).message_id).created
    assert f"Will-Retry-Until: {format_datetime((created + timedelta(days=5)).astimezone(UTC))}" in status
    assert "Subject: Slow going" in headers

    fresh_sink.handler.deferring.discard(address)
    assert wait_for(lambda: settled(address), what="the delivery").state == "sent"
    assert len(fresh_sink.handler.to(address)) == 1
    assert len(inbox_messages(alice.id)) == 1  # no further notice on success


def test_a_null_sender_message_deferred_for_hours_warns_nobody(worker, fresh_sink, alice):
    address = "slower@remote.test"
    fresh_sink.handler.deferring.add(address)
    send(alice, [address], mail_from="")
    wait_for(lambda: retried(address, 1), what="a first deferral")
    age(address)
    attempts = entry(address).attempts
    wait_for(lambda: retried(address, 2, after=attempts), what="two deferrals of the aged message")
    assert inbox_messages(alice.id) == [] and not entry(address).delay_warned
    fresh_sink.handler.deferring.discard(address)
    assert wait_for(lambda: settled(address), what="the delivery").state == "sent"
