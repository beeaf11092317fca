"""The per-account sending limit (MAIL_SEND_LIMIT recipients an hour) in the
webmail: a message that would pass it is not sent, and the page says why."""

from __future__ import annotations

from mailboxes import store
from mailboxes.models import OutboundRecipient

from .helpers import folder_id


def compose(client, to: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/mail/compose/", {"to": to, "cc": "", "bcc": "", "subject": "Hi", "body": "Hello\r\n", "action": "send"}
    )


def test_a_message_past_the_hourly_limit_is_not_sent_and_the_page_says_why(settings, alice, bob, alice_client):
    settings.MAIL_SEND_LIMIT = 3
    assert compose(alice_client, "bob@example.test, dora@far.test").status_code == 302
    response = compose(alice_client, "bob@example.test, erin@far.test")
    assert response.status_code == 429
    assert "at most 3 recipients an hour" in response.content.decode()
    assert len(store.message_page(bob.id, folder_id(bob.id, "INBOX")).items) == 1
    assert list(OutboundRecipient.objects.values_list("address", flat=True)) == ["dora@far.test"]
    assert len(store.message_page(alice.id, folder_id(alice.id, "Sent")).items) == 1
    assert compose(alice_client, "bob@example.test").status_code == 302  # one more fits
    assert compose(alice_client, "bob@example.test").status_code == 429
