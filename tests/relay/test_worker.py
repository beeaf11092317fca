"""The outbound relay end to end: the store queues, a real `celery -A mailhost
worker` on Redis delivers to aiosmtpd servers on 127.0.0.1 standing in for
the remote MX hosts (MAIL_RELAY_MX_OVERRIDE)."""

from __future__ import annotations

import dkim
import pytest

from mailboxes import store

from .conftest import dsn_parts, inbox_messages, send, settled
from .helpers import Worker, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_message_for_another_domain_is_delivered_by_the_worker(worker, fresh_sink, alice):
    send(alice, ["ok@remote.test"], subject="Across the wire")
    row = wait_for(lambda: settled("ok@remote.test"), what="delivery")
    assert row.state == "sent" and row.attempts == 1
    [got] = fresh_sink.handler.to("ok@remote.test")
    # a VERP return path of alice's (docs/DELIVERABILITY.md, "Bounces")
    assert got.mail_from.startswith("alice+bnc-") and got.mail_from.endswith("@example.test")
    assert b"Subject: Across the wire" in got.data


def test_a_temporary_failure_is_retried_and_then_delivered(worker, fresh_sink, alice):
    send(alice, ["flaky@remote.test"])
    row = wait_for(lambda: settled("flaky@remote.test"), what="retry")
    assert row.state == "sent"
    assert row.attempts == 2
    assert len(fresh_sink.handler.to("flaky@remote.test")) == 1


def test_a_permanent_failure_returns_a_dsn_to_the_senders_inbox(worker, fresh_sink, alice):
    send(alice, ["nobody@remote.test", "ok@remote.test"], subject="Doomed")
    failed = wait_for(lambda: settled("nobody@remote.test"), what="failure")
    assert failed.state == "failed" and "550 5.1.1" in failed.last_error
    assert wait_for(lambda: settled("ok@remote.test")).state == "sent"
    [dsn] = wait_for(lambda: inbox_messages(alice.id), what="DSN")
    assert dsn["From"].startswith("Mail Delivery System <MAILER-DAEMON@relay.example.test>")
    status, headers = dsn_parts(dsn)
    assert "Final-Recipient: rfc822; nobody@remote.test" in status
    assert "Status: 5.1.1" in status
    assert "Diagnostic-Code: smtp; 550 5.1.1 No such user here" in status
    assert "ok@remote.test" not in status
    assert "Subject: Doomed" in headers


def test_a_failure_of_a_null_sender_message_bounces_nowhere(worker, fresh_sink, alice):
    send(alice, ["nobody@far.test"], mail_from="")
    assert wait_for(lambda: settled("nobody@far.test")).state == "failed"
    assert inbox_messages(alice.id) == []
    assert store.outbound_recipients(address="alice@example.test") == []


def test_recipients_of_one_domain_share_one_connection_and_transaction(worker, fresh_sink, alice):
    to = ["a@remote.test", "b@remote.test", "c@remote.test", "d@far.test"]
    send(alice, to)
    for address in to:
        assert wait_for(lambda: settled(address)).state == "sent"
    messages = fresh_sink.handler.messages
    assert sorted(sorted(m.rcpt_tos) for m in messages) == [
        ["a@remote.test", "b@remote.test", "c@remote.test"],
        ["d@far.test"],
    ]
    assert fresh_sink.handler.connections == 2


@pytest.mark.parametrize("algorithm", ["rsa", "ed25519"])
def test_relayed_mail_carries_a_dkim_signature_that_verifies_against_the_published_key(
    worker, fresh_sink, alice, algorithm
):
    key = store.generate_dkim_key("example.test", selector=f"s{algorithm}", algorithm=algorithm)
    send(alice, ["ok@remote.test"], subject=f"Signed with {algorithm}")
    assert wait_for(lambda: settled("ok@remote.test")).state == "sent"
    [got] = fresh_sink.handler.to("ok@remote.test")
    assert got.data.startswith(b"DKIM-Signature:")

    def published(name: bytes, timeout: int = 5) -> bytes | None:
        return key.dns_txt.encode() if name.decode().rstrip(".") == key.dns_name else None

    assert dkim.verify(got.data, dnsfunc=published)
    assert not dkim.verify(got.data.replace(b"Hi there.", b"Hi there!"), dnsfunc=published)


def test_a_worker_killed_mid_delivery_loses_nothing(worker, worker_env, fresh_sink, alice, tmp_path):
    send(alice, ["held@remote.test"])
    assert fresh_sink.handler.entered.wait(60), worker.output()
    worker.kill()  # SIGKILL while the remote server is still answering DATA
    fresh_sink.handler.release.set()
    [row] = store.outbound_recipients(address="held@remote.test")
    assert row.state == "queued"  # claimed, never recorded: the lease will lapse
    replacement = Worker(worker_env, tmp_path).start()
    try:
        row = wait_for(lambda: settled("held@remote.test"), what="redelivery after the kill")
    finally:
        replacement.stop()
    assert row.state == "sent"
    assert row.attempts == 2
    # RFC 5321 6.1: a duplicate rather than a loss when the first 250 was never recorded
    assert len(fresh_sink.handler.to("held@remote.test")) == 2
