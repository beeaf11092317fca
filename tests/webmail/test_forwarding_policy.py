"""A user's forwarding follows the domain's allow_external_forwards at save
(issue #15 item 8): the webmail settings page refuses a target on another
host unless the domain allows it; hosted domains are always fine."""

from __future__ import annotations

import pytest

from mailboxes import store
from mailboxes.models import Domain


def save_forward(client, target: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/mail/settings/",
        {"display_name": "", "signature": "", "vacation_days": "7", "forward_to": target, "forward_keep_copy": "on"},
    )


def test_the_settings_page_refuses_a_forward_to_another_host_when_the_domain_does_not_allow_it(alice, alice_client):
    response = save_forward(alice_client, "me@elsewhere.test")
    assert response.status_code == 400
    assert "does not allow forwarding to other hosts" in response.content.decode()
    assert store.get_preferences(alice.id).forward_to == ""
    with pytest.raises(store.InvalidInput):
        store.save_preferences(alice.id, store.Preferences(forward_to="me@elsewhere.test"))


@pytest.mark.parametrize("target", ["bob@example.test", "charlie@other.test"])
def test_a_forward_to_a_hosted_domain_is_always_allowed(alice, alice_client, target):
    assert save_forward(alice_client, target).status_code == 302
    assert store.get_preferences(alice.id).forward_to == target


def test_a_forward_to_another_host_is_saved_where_the_domain_allows_it(alice, alice_client):
    Domain.objects.filter(name="example.test").update(allow_external_forwards=True)
    assert save_forward(alice_client, "me@elsewhere.test").status_code == 302
    assert store.get_preferences(alice.id).forward_to == "me@elsewhere.test"
