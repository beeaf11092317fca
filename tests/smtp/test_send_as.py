"""Who a submission client may write as (issue #15 item 1): every From: and
Sender: address must be one store.may_send_as allows the login (its own, an
alias that delivers to it, an admin's "send as" grant), whatever MAIL FROM
said, <> included; and the queued copy records the one domain the relay may
sign it as. Over a real socket on the submission port."""

from __future__ import annotations

import pytest

from mailboxes import store
from mailboxes.models import OutboundMessage
from tests.transcript import Transcript

from .conftest import ALICE, AUTH_ALICE, EHLO_SUBMISSION, GREETING, HELO, inbox, send_script

REFUSED = "550 5.7.1 From: or Sender: address not owned by the authenticated user"


def submit(port: int, mail_from: str, header: str, *, to: str = "friend@remote.test") -> str:
    """One message over submission as alice; the reply to the final dot."""
    with Transcript("127.0.0.1", port) as t:
        t.expect(GREETING)
        t.run(
            EHLO_SUBMISSION
            + AUTH_ALICE
            + f"""
            C: MAIL FROM:<{mail_from}>
            S: 250 2.1.0 Sender ok
            C: RCPT TO:<{to}>
            S: 250 2.1.5 Recipient ok
            C: DATA
            S: 354 {{{{.*}}}}
        """
        )
        t.send(header.encode() + b"To: " + to.encode() + b"\r\nSubject: s\r\n\r\nbody\r\n.\r\n")
        return t.read_line().decode().rstrip("\r\n")


@pytest.mark.parametrize(
    "mail_from, header",
    [
        (ALICE, "From: CEO <charlie@other.test>\r\n"),
        ("", "From: charlie@other.test\r\n"),
        (ALICE, "From: alice@example.test\r\nSender: charlie@other.test\r\n"),
        (ALICE, "From: alice@example.test, charlie@other.test\r\n"),
        (ALICE, "From: alice@example.test\r\nFrom: charlie@other.test\r\n"),
        (ALICE, "From : charlie@other.test\r\n"),
        (ALICE, "FROM: charlie@other.test <alice@example.test>\r\n"),
        (ALICE, "From: Alice\r\n <bob@example.test>\r\n"),
        (ALICE, "From: team@example.test\r\n"),
        (ALICE, "From: undisclosed\r\n"),
    ],
    ids=[
        "another-domain",
        "null-sender",
        "sender-field",
        "two-authors",
        "two-from-fields",
        "blank-before-colon",
        "display-name-address",
        "folded",
        "alias-of-someone-else",
        "not-an-address",
    ],
)
def test_a_from_or_sender_the_login_may_not_use_is_refused_and_nothing_is_queued_or_delivered(
    smtp_ports, users, mail_from, header
):
    store.create_alias("team@example.test", ["bob@example.test"])
    assert submit(smtp_ports["submission"], mail_from, header) == REFUSED
    assert submit(smtp_ports["submission"], mail_from, header, to="bob@example.test") == REFUSED
    assert not OutboundMessage.objects.exists()
    assert inbox(users["bob@example.test"].id) == []


@pytest.mark.parametrize(
    "header, signed_as",
    [
        ("From: Alice <alice@example.test>\r\n", "example.test"),
        ("From: Sales <sales@example.test>\r\nSender: alice@example.test\r\n", "example.test"),
        ("From: alice@example.test, sales@example.test\r\n", ""),  # two authors: no single domain to sign as
        ("To: x@remote.test\r\n", ""),  # no author at all: nothing to sign as
    ],
    ids=["own", "own-alias", "two-own-authors", "no-from"],
)
def test_own_addresses_and_aliases_are_accepted_and_the_queue_records_the_domain_to_sign_as(
    smtp_ports, users, header, signed_as
):
    store.create_alias("sales@example.test", [ALICE])
    assert submit(smtp_ports["submission"], "", header).startswith("250 2.0.0 Ok: stored as ")
    [queued] = OutboundMessage.objects.all()
    assert queued.dkim_domain == signed_as


def mail_from_reply(port: int, address: str) -> str:
    with Transcript("127.0.0.1", port) as t:
        t.expect(GREETING)
        t.run(EHLO_SUBMISSION + AUTH_ALICE + f"C: MAIL FROM:<{address}>")
        return t.read_line().decode().rstrip("\r\n")


def test_a_send_as_grant_of_an_address_or_a_whole_domain_lets_the_login_use_it(smtp_ports, users):
    port, alice_id = smtp_ports["submission"], users[ALICE].id
    root = store.create_account("root@example.test", "root-secret", superuser=True)
    actor = store.admin_actor(root.id)
    assert actor is not None
    assert mail_from_reply(port, "charlie@other.test") == "553 5.7.1 Sender address not owned by the authenticated user"
    store.admin_grant_send_as(actor, alice_id, "@other.test")
    assert store.may_send_as(alice_id, "anyone@other.test") and not store.may_send_as(alice_id, "x@remote.test")
    assert submit(port, "charlie@other.test", "From: charlie@other.test\r\n").startswith("250 2.0.0 ")
    assert OutboundMessage.objects.get().dkim_domain == "other.test"
    store.admin_revoke_send_as(actor, alice_id, "@other.test")
    store.admin_grant_send_as(actor, alice_id, "Charlie@Other.Test")
    assert store.may_send_as(alice_id, "charlie@other.test") and not store.may_send_as(alice_id, "x@other.test")
    store.admin_revoke_send_as(actor, alice_id, "charlie@other.test")
    assert mail_from_reply(port, "charlie@other.test") == "553 5.7.1 Sender address not owned by the authenticated user"


def test_mail_arriving_at_the_mx_is_not_held_to_the_rule_and_is_queued_unsigned(mx, users, settings):
    """The MX has no login: a forward of what it receives is queued, never to be signed."""
    from mailboxes.models import Domain

    Domain.objects.filter(name="example.test").update(allow_external_forwards=True)
    store.create_alias("fwd@example.test", ["far@remote.test"])
    mx.run(
        HELO
        + send_script(
            "someone@remote.test", ["fwd@example.test"], "From: ceo@other.test\r\nSubject: forwarded\r\n\r\nbody"
        )
    )
    assert OutboundMessage.objects.get().dkim_domain == ""


def test_an_own_subaddress_may_be_sent_as_unless_an_alias_gives_it_to_someone_else(smtp_ports, users):
    """RFC 5233: alice+detail@ is delivered to alice, so it is hers to send as
    (the relay's VERP return paths are such); bob's subaddress is not, nor is
    one an alias hands to bob."""
    port, alice_id = smtp_ports["submission"], users[ALICE].id
    assert mail_from_reply(port, "alice+lists@example.test").startswith("250 ")
    assert not store.may_send_as(alice_id, "bob+lists@example.test")
    store.create_alias("alice+sales@example.test", ["bob@example.test"])
    assert not store.may_send_as(alice_id, "alice+sales@example.test")
    assert mail_from_reply(port, "bob+x@example.test") == "553 5.7.1 Sender address not owned by the authenticated user"
