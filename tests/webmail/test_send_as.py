"""The webmail sends under the same rule as submission (issue #15 item 1):
its From: is the account's own address, checked by store.unowned_authors,
and the queued copy records the domain the relay may sign it as."""

from __future__ import annotations

import pytest

from mailboxes import store
from mailboxes.models import OutboundMessage


def compose(client, to: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/mail/compose/", {"to": to, "cc": "", "bcc": "", "subject": "Hi", "body": "Hello\r\n", "action": "send"}
    )


@pytest.mark.parametrize("display_name", ["", "ceo@other.test", "CEO <ceo@other.test>, x"])
def test_webmail_mail_is_queued_to_be_signed_as_the_users_own_domain_whatever_the_display_name(
    alice, alice_client, display_name
):
    store.save_preferences(alice.id, store.Preferences(display_name=display_name))
    assert compose(alice_client, "dora@far.test").status_code == 302
    queued = OutboundMessage.objects.select_related("blob").get()
    assert queued.dkim_domain == "example.test"
    assert store.unowned_authors(alice.id, bytes(queued.blob.data)) == []
