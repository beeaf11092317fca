"""The dashboard's page for a domain's Sieve scripts (run before and after
each user's): for the domain's admins and superusers only; an invalid
script is shown again with its line and not stored."""

from __future__ import annotations

import pytest

from mailboxes import store
from mailboxes.models import AuditEntry

from .conftest import client_as

BEFORE = 'require ["fileinto", "mailbox"];\nif header :contains "subject" "[ads]" { fileinto :create "Ads"; }\n'


def test_domain_admin_sets_the_before_and_after_scripts(team):
    client = client_as(team, "admin_a")
    page = client.get("/manage/domains/example.test/")
    assert "/manage/domains/example.test/sieve/" in page.content.decode()
    response = client.post("/manage/domains/example.test/sieve/", {"before": BEFORE, "after": "keep;"})
    assert response.status_code == 302
    assert store.admin_domain_scripts(team.actor("admin_a"), "example.test") == {"before": BEFORE, "after": "keep;"}
    assert AuditEntry.objects.filter(action="domain.sieve", target="example.test").count() == 2
    assert BEFORE.split("\n")[1] in client.get("/manage/domains/example.test/sieve/").content.decode().replace(
        "&quot;", '"'
    )


def test_an_invalid_domain_script_is_shown_with_its_line_and_not_stored(team):
    client = client_as(team, "superuser")
    response = client.post("/manage/domains/example.test/sieve/", {"before": "keep;\nbogus;", "after": ""})
    assert response.status_code == 400
    assert "Line 2: unknown command &#x27;bogus&#x27;" in response.content.decode()
    assert store.admin_domain_scripts(team.actor("superuser"), "example.test")["before"] == ""


@pytest.mark.parametrize("role, status", [("admin_b", 404), ("ordinary", 403), (None, 302)])
def test_others_cannot_see_or_change_a_domains_scripts(team, role, status):
    client = client_as(team, role)
    assert client.get("/manage/domains/example.test/sieve/").status_code == status
    assert client.post("/manage/domains/example.test/sieve/", {"before": "discard;"}).status_code == status
    assert store.admin_domain_scripts(team.actor("superuser"), "example.test")["before"] == ""
