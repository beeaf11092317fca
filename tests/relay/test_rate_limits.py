"""Outbound rate control per destination domain (docs/DELIVERABILITY.md):
over a domain's messages or connections per minute, the relay stops and the
rest waits, queued, for the next minute, without it counting as an attempt.
Counted in the real Redis (REDIS_URL) when set; a real aiosmtpd sink."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ImproperlyConfigured

from mailboxes import store
from mailboxes.models import OutboundRecipient
from mailboxes.store import _redis
from mailhost.env import env_rates
from protocols.relay import deliver

from .conftest import send
from .helpers import Sink, wait_for


@pytest.fixture
def far_side(settings):  # type: ignore[no-untyped-def]
    sink = Sink()
    settings.MAIL_RELAY_MX_OVERRIDE = f"remote.test=127.0.0.1:{sink.port},elsewhere.test=127.0.0.1:{sink.port}"
    if settings.REDIS_URL:
        _redis.delete_under(_redis.prefix("relay-rate"))
    # one minute's window for the whole test: start early in a minute
    wait_for(lambda: time.time() % 60 < 45, timeout=20, what="the start of a minute")
    yield sink
    sink.close()


def test_past_the_messages_per_minute_the_rest_waits_for_the_next_minute(alice, far_side, settings):
    settings.MAIL_RELAY_RATE_LIMITS = {"remote.test": (0, 2)}
    for i in range(5):
        send(alice, [f"r{i}@remote.test"], subject=f"burst {i}")
    send(alice, ["free@elsewhere.test"], subject="another domain")
    deliver.run()
    assert len([m for m in far_side.handler.messages if m.rcpt_tos[0].endswith("@remote.test")]) == 2
    assert far_side.handler.to("free@elsewhere.test")  # other domains are not held up
    waiting = OutboundRecipient.objects.filter(state="queued", domain="remote.test")
    assert waiting.count() == 3
    assert {r.attempts for r in waiting} == {0}  # not counted as a try
    assert {r.next_attempt.second for r in waiting} == {0}
    assert min(r.next_attempt for r in waiting).timestamp() > time.time()


def test_past_the_connections_per_minute_no_new_connection_is_made(alice, far_side, settings):
    settings.MAIL_RELAY_RATE_LIMITS = {"*": (1, 0)}
    send(alice, ["first@remote.test"])
    deliver.run()
    send(alice, ["second@remote.test"])
    deliver.run()  # a second connection to remote.test within the minute
    assert [m.rcpt_tos for m in far_side.handler.messages] == [["first@remote.test"]]
    assert OutboundRecipient.objects.get(address="second@remote.test").state == "queued"


def test_a_domain_without_a_limit_is_not_held(alice, far_side, settings):
    settings.MAIL_RELAY_RATE_LIMITS = {"gmail.com": (1, 1)}
    for i in range(3):
        send(alice, [f"r{i}@remote.test"])
    deliver.run()
    assert len(far_side.handler.messages) == 3


def test_the_setting_reads_domains_and_refuses_nonsense(monkeypatch):
    monkeypatch.setenv("MAIL_X", "Example.NET=2/10, *=30/600")
    assert env_rates("MAIL_X", {"gmail.com": (20, 600)}) == {
        "gmail.com": (20, 600),
        "example.net": (2, 10),
        "*": (30, 600),
    }
    monkeypatch.setenv("MAIL_X", "example.net=fast")
    with pytest.raises(ImproperlyConfigured, match="MAIL_X"):
        env_rates("MAIL_X", {})
    assert store.take_relay_slot("unlimited.example", "messages")


def test_without_redis_the_window_is_counted_in_the_process(settings):
    settings.REDIS_URL = ""
    settings.MAIL_RELAY_RATE_LIMITS = {"solo.example": (0, 2)}
    wait_for(lambda: time.time() % 60 < 55, timeout=10, what="the start of a minute")
    assert [store.take_relay_slot("solo.example", "messages") for _ in range(3)] == [True, True, False]


def test_an_unreachable_redis_does_not_stop_delivery(settings):
    settings.MAIL_RELAY_RATE_LIMITS = {"solo.example": (0, 1)}
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    saved, _redis._client = _redis._client, None
    try:
        assert all(store.take_relay_slot("solo.example", "messages") for _ in range(3))
    finally:
        _redis._client = saved
