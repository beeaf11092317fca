"""The store's admin functions that other doors rely on: record_login (the
protocols call it), hosted_domain (autoconfig), the queue actions (the relay
is woken through the outbound_queued signal)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from conftest import sample_message
from mailboxes import store
from mailboxes.models import OutboundMessage, OutboundRecipient
from mailboxes.signals import outbound_queued


def test_record_login_keeps_one_row_per_protocol_under_concurrent_logins(live_team):
    bob = live_team.bob.id

    def login(n: int) -> None:
        try:
            store.record_login(bob, ("imap", "pop3", "smtp")[n % 3], f"192.0.2.{n}")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(login, range(48)))
    assert [l.protocol for l in store.last_logins(bob)] == ["imap", "pop3", "smtp"]


@pytest.mark.parametrize("protocol", ["", "IMAP", "imap pop", "x" * 17])
def test_record_login_refuses_what_is_not_a_protocol_name(team, protocol):
    with pytest.raises(store.InvalidInput):
        store.record_login(team.bob.id, protocol, "192.0.2.1")


def test_record_login_for_an_account_that_is_gone_is_no_such_account(team):
    with pytest.raises(store.NoSuchAccount):
        store.record_login(999_999, "imap", "192.0.2.1")


@pytest.mark.parametrize(
    "name,hosted", [("Example.TEST", "example.test"), ("elsewhere.test", None), ("not a domain", None)]
)
def test_hosted_domain_names_only_domains_served_here(team, name, hosted):
    assert store.hosted_domain(name) == hosted


def _queue_one(team, recipients: list[str]) -> list[int]:  # type: ignore[no-untyped-def]
    store.deliver(sample_message(to=recipients[0]), recipients, "alice@example.test", sender_account_id=team.alice.id)
    return [r.id for r in store.admin_list_queue(team.actor("superuser")).items]


def test_retrying_a_deferred_recipient_makes_it_due_and_wakes_the_relay(team, django_capture_on_commit_callbacks):
    (rid,) = _queue_one(team, ["x@far.test"])
    OutboundRecipient.objects.filter(pk=rid).update(state="deferred", last_error="smtp; 451 try later")
    woken: list[int] = []

    def relay(sender, message_id, **kwargs):  # type: ignore[no-untyped-def]
        woken.append(message_id)

    outbound_queued.connect(relay)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            store.admin_retry_outbound(team.actor("admin_a"), rid)
    finally:
        outbound_queued.disconnect(relay)
    row = store.admin_list_queue(team.actor("admin_a")).items[0]
    assert row.state == "queued" and row.last_error == "smtp; 451 try later"
    assert woken == [row.message_id]


def test_deleting_the_last_recipient_takes_the_message_off_the_queue(team):
    first, second = _queue_one(team, ["x@far.test", "y@far.test"])
    admin = team.actor("admin_a")
    store.admin_delete_outbound(admin, first)
    assert OutboundMessage.objects.count() == 1
    store.admin_delete_outbound(admin, second)
    assert OutboundMessage.objects.count() == 0
    with pytest.raises(store.NotFound):
        store.admin_delete_outbound(admin, second)


@pytest.mark.parametrize("state", ["bogus", "delivered"])
def test_the_queue_list_refuses_an_unknown_state(team, state):
    with pytest.raises(store.InvalidInput):
        store.admin_list_queue(team.actor("superuser"), state=state)
