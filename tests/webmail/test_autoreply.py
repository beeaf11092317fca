"""Vacation replies and forwarding set in the webmail, which are Sieve in the
account's script (issue #20), carried out at delivery (RFC 3834, RFC 5230)."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy

import pytest
from django.conf import settings
from django.utils import timezone

from conftest import sample_message
from mailboxes import store
from mailboxes.models import Domain, OutboundMessage, OutboundRecipient, SieveSeen

from .helpers import folder_id

AWAY = store.Preferences(
    vacation_enabled=True, vacation_subject="", vacation_body="I am away until Monday.", vacation_days=7
)


def inbox_subjects(account) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.subject for m in store.message_page(account.id, folder_id(account.id, "INBOX")).items]


def deliver(raw: bytes, to: list[str], mail_from: str, capture) -> None:  # type: ignore[no-untyped-def]
    with capture(execute=True):  # vacation replies go out once the delivery has committed
        store.deliver(raw, to, mail_from)


def test_a_vacation_reply_goes_to_the_sender_once_per_interval(alice, bob, django_capture_on_commit_callbacks):
    store.save_preferences(alice.id, AWAY)
    deliver(sample_message(subject="Meeting"), [alice.address], bob.address, django_capture_on_commit_callbacks)
    assert inbox_subjects(bob) == ["Auto: Meeting"]
    inbox = folder_id(bob.id, "INBOX")
    reply = email.message_from_bytes(
        store.message_bytes(bob.id, inbox, store.message_page(bob.id, inbox).items[0].uid), policy=policy.default
    )
    assert reply["Auto-Submitted"] == "auto-replied" and reply["From"].addresses[0].addr_spec == alice.address
    assert reply["In-Reply-To"] and reply["In-Reply-To"] in reply["References"]
    assert "I am away until Monday." in reply.get_body(("plain",)).get_content()
    deliver(sample_message(subject="Meeting 2"), [alice.address], bob.address, django_capture_on_commit_callbacks)
    assert inbox_subjects(bob) == ["Auto: Meeting"]  # not again within 7 days
    SieveSeen.objects.filter(account_id=alice.id).update(expires=timezone.now() - timedelta(seconds=1))  # 7 days on
    deliver(sample_message(subject="Meeting 3"), [alice.address], bob.address, django_capture_on_commit_callbacks)
    assert sorted(inbox_subjects(bob)) == ["Auto: Meeting", "Auto: Meeting 3"]


def test_a_vacation_reply_to_a_remote_sender_goes_out_with_a_null_return_path(
    alice, django_capture_on_commit_callbacks
):
    store.save_preferences(alice.id, AWAY)
    deliver(
        sample_message(sender="dora@far.test"), [alice.address], "dora@far.test", django_capture_on_commit_callbacks
    )
    [queued] = OutboundRecipient.objects.select_related("message")
    assert queued.address == "dora@far.test" and queued.message.mail_from == ""


@pytest.mark.parametrize(
    "mail_from, extra, to",
    [
        ("", "", "alice@example.test"),  # null sender (a bounce)
        ("MAILER-DAEMON@far.test", "", "alice@example.test"),
        ("owner-list@far.test", "", "alice@example.test"),
        ("list-request@far.test", "", "alice@example.test"),
        ("dora@far.test", "Auto-Submitted: auto-generated\r\n", "alice@example.test"),
        ("dora@far.test", "Auto-Submitted: auto-replied\r\n", "alice@example.test"),
        ("dora@far.test", "Precedence: bulk\r\n", "alice@example.test"),
        ("dora@far.test", "Precedence: list\r\n", "alice@example.test"),
        ("dora@far.test", "List-Id: <news.far.test>\r\n", "alice@example.test"),
        ("dora@far.test", "List-Unsubscribe: <mailto:leave@far.test>\r\n", "alice@example.test"),
        ("dora@far.test", "", "everyone@far.test"),  # alice not named in To/Cc
        ("alice@example.test", "", "alice@example.test"),  # her own mail
    ],
    ids=[
        "null-sender",
        "mailer-daemon",
        "owner",
        "request",
        "auto-generated",
        "auto-replied",
        "bulk",
        "list",
        "list-id",
        "list-unsubscribe",
        "not-addressed",
        "self",
    ],
)
def test_no_vacation_reply_to_bounces_lists_bulk_or_automatic_mail(
    alice, django_capture_on_commit_callbacks, mail_from, extra, to
):
    store.save_preferences(alice.id, AWAY)
    deliver(sample_message(to=to, extra=extra), [alice.address], mail_from, django_capture_on_commit_callbacks)
    assert not OutboundMessage.objects.exists()
    assert not SieveSeen.objects.exists()


def test_mail_to_an_alias_of_the_account_is_answered(alice, django_capture_on_commit_callbacks):
    store.create_alias("sales@example.test", [alice.address])
    store.save_preferences(alice.id, AWAY)
    deliver(
        sample_message(to="sales@example.test", sender="dora@far.test"),
        ["sales@example.test"],
        "dora@far.test",
        django_capture_on_commit_callbacks,
    )
    assert OutboundRecipient.objects.get().address == "dora@far.test"


@pytest.mark.parametrize("keep", [True, False])
def test_forwarding_to_a_local_account_keeps_a_copy_or_not(alice, bob, keep):
    store.save_preferences(alice.id, store.Preferences(forward_to=bob.address, forward_keep_copy=keep))
    store.deliver(sample_message(subject="Forward me"), [alice.address], "dora@far.test")
    assert inbox_subjects(bob) == ["Forward me"]
    assert inbox_subjects(alice) == (["Forward me"] if keep else [])


def test_forwarding_to_a_remote_address_queues_it(alice):
    Domain.objects.filter(name="example.test").update(allow_external_forwards=True)  # issue #15 item 8
    store.save_preferences(alice.id, store.Preferences(forward_to="alice@elsewhere.test", forward_keep_copy=False))
    store.deliver(sample_message(), [alice.address], "dora@far.test")
    assert OutboundRecipient.objects.get().address == "alice@elsewhere.test"
    # SRS (docs/DELIVERABILITY.md): the forward leaves with a sender of ours that stands for dora's
    mail_from = OutboundMessage.objects.get().mail_from
    assert mail_from.startswith("SRS0=") and mail_from.endswith(f"=far.test=dora@{settings.MAIL_SRS_DOMAIN}")
    assert inbox_subjects(alice) == []


def test_two_accounts_forwarding_to_each_other_stop_at_the_hop_limit_and_keep_the_mail(alice, bob):
    # A redirect to a local account runs that account's filters, as an MX would; the
    # loop ends where a loop through other hosts would (Received fields, sieve_delivery).
    store.save_preferences(alice.id, store.Preferences(forward_to=bob.address, forward_keep_copy=False))
    store.save_preferences(bob.id, store.Preferences(forward_to=alice.address, forward_keep_copy=False))
    store.deliver(sample_message(subject="Ping"), [alice.address], "dora@far.test")
    everywhere = inbox_subjects(alice) + inbox_subjects(bob)
    assert everywhere.count("Ping") == 1 and everywhere.count("Your mail filter failed") == 1


def test_forwarding_to_an_address_that_went_away_keeps_the_mail_and_says_why(alice, bob):
    store.save_preferences(alice.id, store.Preferences(forward_to=bob.address, forward_keep_copy=False))
    store.delete_account(bob.address)
    store.deliver(sample_message(subject="Kept"), [alice.address], "dora@far.test")
    assert sorted(inbox_subjects(alice)) == ["Kept", "Your mail filter failed"]


def test_the_settings_are_a_section_of_the_active_script_beside_the_users_own_rules(alice):
    own = 'require ["fileinto", "mailbox"];\nif header :contains "subject" "bank" { fileinto :create "Finance"; }\n'
    store.put_script(alice.id, "mine", own)
    store.activate_script(alice.id, "mine")
    store.save_preferences(
        alice.id,
        store.Preferences(
            signature="A.",
            vacation_enabled=True,
            vacation_subject="Away",
            vacation_body="Back soon.",
            vacation_days=3,
            forward_to=alice.address.replace("alice", "bob"),
        ),
    )
    text = store.get_script(alice.id, "mine")  # what a ManageSieve client or the raw editor sees
    assert 'vacation :days 3 :subject "Away" "Back soon.";' in text and 'redirect :copy "bob@example.test";' in text
    assert text.startswith('require ["fileinto", "mailbox"];\n') and text.endswith(own.split("\n", 1)[1])
    assert store.get_preferences(alice.id) == store.Preferences(
        alice.display_name, "A.", True, "Away", "Back soon.", 3, "bob@example.test", True
    )
    store.save_preferences(alice.id, store.Preferences(signature="A."))
    assert store.get_script(alice.id, "mine") == own
    assert [s.name for s in store.list_scripts(alice.id)] == ["mine"]


def test_an_account_without_a_script_gets_one_named_webmail_and_an_inactive_one_is_left_alone(alice):
    store.put_script(alice.id, "webmail", "keep;")  # inactive
    store.save_preferences(alice.id, AWAY)
    active = store.active_script(alice.id)
    assert active is not None and active[0] == "webmail-2" and "vacation" in active[1]
    assert store.get_script(alice.id, "webmail") == "keep;"
