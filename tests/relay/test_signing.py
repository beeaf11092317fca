"""Which domain the relay DKIM-signs as (issue #15 item 1): only the one the
store recorded when the message was queued, which is the author's domain
when the account that submitted it may use it; mail we forward (an alias or
a user's forwarding of what the MX received) is never signed. The relay runs
in this process against an aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import re

import dkim
import pytest

from conftest import sample_message
from mailboxes import store
from mailboxes.models import Domain, OutboundMessage
from protocols.relay import deliver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def keys(users, settings, fresh_sink):  # type: ignore[no-untyped-def]
    """Signing keys for both hosted domains; mail for remote.test goes to the sink."""
    settings.MAIL_RELAY_MX_OVERRIDE = f"remote.test=127.0.0.1:{fresh_sink.port}"
    return {d: store.generate_dkim_key(d, selector="s1", algorithm="ed25519") for d in ("example.test", "other.test")}


def relayed(sink, keys) -> tuple[bytes, str | None]:  # type: ignore[no-untyped-def]
    """Run the relay; (the one message the sink got, the d= it was signed with or None)."""
    deliver.run()
    [got] = sink.handler.messages
    signature = re.search(rb"^DKIM-Signature:.*?\bd=([^;\s]+)", got.data, re.M | re.S)
    if signature is None:
        return got.data, None

    def published(name: bytes, timeout: int = 5) -> bytes | None:
        found = [k for k in keys.values() if name.decode().rstrip(".") == k.dns_name]
        return found[0].dns_txt.encode() if found else None

    assert dkim.verify(got.data, dnsfunc=published)
    return got.data, signature.group(1).decode()


def test_mail_a_user_submitted_is_signed_as_their_own_domain(keys, fresh_sink, alice):
    store.deliver(
        sample_message(sender="alice@example.test", to="ok@remote.test"),
        ["ok@remote.test"],
        "alice@example.test",
        sender_account_id=alice.id,
    )
    assert relayed(fresh_sink, keys)[1] == "example.test"


def test_a_user_writing_as_another_hosted_domain_is_never_signed_as_it(keys, fresh_sink, alice):
    store.deliver(
        sample_message(sender="ceo@other.test", to="ok@remote.test"),
        ["ok@remote.test"],
        "alice@example.test",
        sender_account_id=alice.id,
    )
    assert relayed(fresh_sink, keys)[1] is None


def test_a_send_as_grant_makes_the_granted_domain_signable(keys, fresh_sink, alice):
    root = store.create_account("root@example.test", "root-secret", superuser=True)
    actor = store.admin_actor(root.id)
    assert actor is not None
    store.admin_grant_send_as(actor, alice.id, "ceo@other.test")
    store.deliver(
        sample_message(sender="ceo@other.test", to="ok@remote.test"),
        ["ok@remote.test"],
        "alice@example.test",
        sender_account_id=alice.id,
    )
    assert relayed(fresh_sink, keys)[1] == "other.test"


@pytest.mark.parametrize("how", ["alias", "user forwarding"])
def test_mail_the_mx_received_and_we_forward_is_not_signed_as_its_author(keys, fresh_sink, bob, how):
    Domain.objects.filter(name="example.test").update(allow_external_forwards=True)
    if how == "alias":
        store.create_alias("fwd@example.test", ["ok@remote.test"])
        recipient = "fwd@example.test"
    else:
        store.save_preferences(bob.id, store.Preferences(forward_to="ok@remote.test", forward_keep_copy=False))
        recipient = "bob@example.test"
    # From a hosted domain with a key: exactly what a forged inbound message would claim.
    store.deliver_final(sample_message(sender="ceo@other.test", to=recipient), [recipient], "someone@far.test")
    data, signed_as = relayed(fresh_sink, keys)
    assert b"From: ceo@other.test" in data
    assert signed_as is None


def test_the_relay_signs_nothing_but_the_recorded_domain_and_only_as_the_from_domain(keys, fresh_sink, alice):
    store.deliver(
        sample_message(sender="alice@example.test", to="ok@remote.test"),
        ["ok@remote.test"],
        "alice@example.test",
        sender_account_id=alice.id,
    )
    OutboundMessage.objects.update(dkim_domain="other.test")  # a queue row no store path writes
    assert relayed(fresh_sink, keys)[1] is None
