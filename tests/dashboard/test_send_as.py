""" "Send as" grants on the account page (issue #15 item 1): who may grant
which address or @domain to whom, each change an audit row; through the real
dashboard with the Django test client."""

from __future__ import annotations

import pytest

from mailboxes import store
from mailboxes.models import AuditEntry, SendAsGrant

from .conftest import client_as

OK, FOUND, FORBIDDEN, NOT_FOUND = 200, 302, 403, 404


def grants(account_id: int) -> list[str]:
    return sorted(SendAsGrant.objects.filter(account_id=account_id).values_list("address", flat=True))


def test_an_admin_grants_and_removes_send_as_on_the_account_page_and_each_is_audited(team):
    client = client_as(team, "admin_a")
    url = f"/manage/accounts/{team.bob.id}/send-as/"
    assert client.post(url, {"address": "Sales@Example.Test"}).status_code == FOUND
    assert client.post(url, {"address": "@example.test"}).status_code == FOUND
    assert grants(team.bob.id) == ["@example.test", "sales@example.test"]
    page = client.get(f"/manage/accounts/{team.bob.id}/").content.decode()
    assert "<code>sales@example.test</code>" in page and "<code>@example.test</code>" in page
    assert store.may_send_as(team.bob.id, "anyone@example.test")
    assert client.post(url, {"remove": "@example.test"}).status_code == FOUND
    assert grants(team.bob.id) == ["sales@example.test"]
    assert not store.may_send_as(team.bob.id, "anyone@example.test")
    rows = list(
        AuditEntry.objects.filter(action__startswith="account.send_as")
        .order_by("pk")
        .values_list("actor_id", "action", "target", "detail")
    )
    assert rows == [
        (team.alice.id, "account.send_as.grant", "bob@example.test", {"address": "sales@example.test"}),
        (team.alice.id, "account.send_as.grant", "bob@example.test", {"address": "@example.test"}),
        (team.alice.id, "account.send_as.revoke", "bob@example.test", {"address": "@example.test"}),
    ]


@pytest.mark.parametrize("address", ["@other.test", "charlie@other.test"])
def test_a_domain_admin_cannot_grant_an_address_of_a_domain_they_do_not_manage(team, address):
    response = client_as(team, "admin_a").post(f"/manage/accounts/{team.bob.id}/send-as/", {"address": address})
    assert response.status_code == NOT_FOUND
    assert grants(team.bob.id) == [] and not AuditEntry.objects.filter(action__startswith="account.send_as").exists()


def test_a_superuser_may_grant_any_hosted_domain_but_no_outside_one(team):
    client = client_as(team, "superuser")
    url = f"/manage/accounts/{team.bob.id}/send-as/"
    assert client.post(url, {"address": "@other.test"}).status_code == FOUND
    assert client.post(url, {"address": "ceo@gmail.test"}).status_code == NOT_FOUND
    assert client.post(url, {"address": "not an address"}).status_code == FOUND  # the page says what is wrong
    assert grants(team.bob.id) == ["@other.test"]


@pytest.mark.parametrize("role, status", [("admin_b", NOT_FOUND), ("ordinary", FORBIDDEN), (None, FOUND)])
def test_outsiders_can_neither_grant_nor_remove(team, role, status):
    SendAsGrant.objects.create(account_id=team.bob.id, address="sales@example.test")
    client = client_as(team, role)
    url = f"/manage/accounts/{team.bob.id}/send-as/"
    assert client.post(url, {"address": "@example.test"}).status_code == status
    assert client.post(url, {"remove": "sales@example.test"}).status_code == status
    assert grants(team.bob.id) == ["sales@example.test"]


def test_a_domain_admin_may_not_grant_to_a_superuser_in_their_domain(team):
    response = client_as(team, "admin_a").post(
        f"/manage/accounts/{team.root.id}/send-as/", {"address": "@example.test"}
    )
    assert response.status_code == FORBIDDEN
    assert grants(team.root.id) == []


def test_deleting_the_account_deletes_its_grants(team):
    store.admin_grant_send_as(team.actor("superuser"), team.bob.id, "@other.test")
    store.admin_delete_account(team.actor("superuser"), team.bob.id)
    assert not SendAsGrant.objects.exists()
