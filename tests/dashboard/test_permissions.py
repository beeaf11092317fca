"""Who may open and change what, for every dashboard view: a superuser, a
domain admin of the object's domain (alice, example.test), a domain admin
of another domain (charlie, other.test), an ordinary account (bob) and an
anonymous visitor (sent to the login). The objects all live in example.test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from conftest import sample_message
from mailboxes import store
from mailboxes.models import AuditEntry

from .conftest import ROLES, Team, client_as

OK, LOGIN, FORBIDDEN, NOT_FOUND = 200, 302, 403, 404


@dataclass(frozen=True)
class Objects:
    """URL parts of one object of each kind in example.test."""

    bob: int
    alias: int
    queued: int


def objects(team: Team) -> Objects:
    alias = store.create_alias("sales@example.test", ["bob@example.test"])
    store.deliver(
        sample_message(to="far@away.test"), ["far@away.test"], "alice@example.test", sender_account_id=team.alice.id
    )
    queued = store.admin_list_queue(team.actor("superuser")).items[0].id
    return Objects(team.bob.id, alias.id, queued)


# (url, expected status for superuser, admin_a, admin_b, ordinary)
SCOPED = (OK, OK, NOT_FOUND, FORBIDDEN)
EVERY_ADMIN = (OK, OK, OK, FORBIDDEN)
SUPERUSER_ONLY = (OK, FORBIDDEN, FORBIDDEN, FORBIDDEN)
PAGES: list[tuple[str, Callable[[Objects], str], tuple[int, ...]]] = [
    ("overview", lambda o: "/manage/", EVERY_ADMIN),
    ("domain list", lambda o: "/manage/domains/", EVERY_ADMIN),
    ("new domain", lambda o: "/manage/domains/new/", SUPERUSER_ONLY),
    ("domain", lambda o: "/manage/domains/example.test/", SCOPED),
    ("domain dns", lambda o: "/manage/domains/example.test/dns/", SCOPED),
    ("delete domain", lambda o: "/manage/domains/example.test/delete/", SUPERUSER_ONLY),
    ("account list", lambda o: "/manage/accounts/", EVERY_ADMIN),
    ("account list of a domain", lambda o: "/manage/accounts/?domain=example.test", SCOPED),
    ("new account", lambda o: "/manage/accounts/new/", EVERY_ADMIN),
    ("account", lambda o: f"/manage/accounts/{o.bob}/", SCOPED),
    ("delete account", lambda o: f"/manage/accounts/{o.bob}/delete/", SCOPED),
    ("apple profile", lambda o: f"/manage/accounts/{o.bob}/mail.mobileconfig", SCOPED),
    ("alias list", lambda o: "/manage/aliases/", EVERY_ADMIN),
    ("alias list of a domain", lambda o: "/manage/aliases/?domain=example.test", SCOPED),
    ("new alias", lambda o: "/manage/aliases/new/", EVERY_ADMIN),
    ("alias", lambda o: f"/manage/aliases/{o.alias}/", SCOPED),
    ("queue", lambda o: "/manage/queue/", EVERY_ADMIN),
    ("audit log", lambda o: "/manage/audit/", SUPERUSER_ONLY),
]

# Changes: (url, form) posted by someone who may not make them.
CHANGES: list[tuple[str, Callable[[Objects], str], dict[str, str]]] = [
    (
        "domain settings",
        lambda o: "/manage/domains/example.test/",
        {"default_quota": "1M", "trash_retention_days": "3", "catch_all": "bob@example.test"},
    ),
    ("dkim key", lambda o: "/manage/domains/example.test/dkim/", {"selector": "x", "algorithm": "ed25519"}),
    ("dns check", lambda o: "/manage/domains/example.test/dns/", {"check": "1"}),
    ("delete domain", lambda o: "/manage/domains/example.test/delete/", {"with_accounts": "yes"}),
    ("account settings", lambda o: f"/manage/accounts/{o.bob}/", {"quota": "1M", "display_name": "x"}),
    ("password", lambda o: f"/manage/accounts/{o.bob}/password/", {"password": "taken-over"}),
    ("roles", lambda o: f"/manage/accounts/{o.bob}/roles/", {"admin_domains": "example.test"}),
    ("send as", lambda o: f"/manage/accounts/{o.bob}/send-as/", {"address": "@example.test"}),
    ("delete account", lambda o: f"/manage/accounts/{o.bob}/delete/", {}),
    ("alias targets", lambda o: f"/manage/aliases/{o.alias}/", {"targets": "charlie@other.test"}),
    ("delete alias", lambda o: f"/manage/aliases/{o.alias}/delete/", {}),
    ("retry", lambda o: f"/manage/queue/{o.queued}/retry/", {}),
    ("delete queued", lambda o: f"/manage/queue/{o.queued}/delete/", {}),
    ("new account", lambda o: "/manage/accounts/new/", {"address": "mallory@example.test", "password": "x"}),
    ("new alias", lambda o: "/manage/aliases/new/", {"source": "mallory@example.test", "targets": "x@other.test"}),
]
OUTSIDERS = {"admin_b": NOT_FOUND, "ordinary": FORBIDDEN}


@pytest.mark.parametrize("name,url,expected", PAGES, ids=[p[0] for p in PAGES])
def test_each_page_answers_each_role_as_its_rights_say(team, name, url, expected):
    target = url(objects(team))
    answers = {role: client_as(team, role).get(target).status_code for role in ROLES}
    assert answers == dict(zip(ROLES, expected))
    anonymous = client_as(team, None).get(target)
    assert anonymous.status_code == LOGIN
    assert anonymous["Location"].startswith("/manage/login/?next=")


@pytest.mark.parametrize("name,url,form", CHANGES, ids=[c[0] for c in CHANGES])
def test_outsiders_change_nothing_in_another_domain(team, name, url, form):
    objs = objects(team)
    before = AuditEntry.objects.count()
    answers = {role: client_as(team, role).post(url(objs), form).status_code for role in OUTSIDERS}
    # deleting a domain is for superusers, whoever asks
    assert answers == ({r: FORBIDDEN for r in OUTSIDERS} if name == "delete domain" else OUTSIDERS)
    assert AuditEntry.objects.count() == before
    assert store.authenticate("bob@example.test", "bob-secret") is not None
    assert store.admin_alias(team.actor("superuser"), objs.alias).targets == ("bob@example.test",)
    assert len(store.admin_list_queue(team.actor("superuser")).items) == 1


@pytest.mark.parametrize("name,url,form", CHANGES, ids=[c[0] for c in CHANGES])
def test_every_form_is_refused_without_its_csrf_token(team, name, url, form):
    response = client_as(team, "superuser", enforce_csrf_checks=True).post(url(objects(team)), form)
    assert response.status_code == FORBIDDEN
    assert b"CSRF" in response.content


def test_every_dashboard_form_carries_a_csrf_token(team):
    objs = objects(team)
    client = client_as(team, "superuser")
    for _, url, _ in PAGES:
        html = client.get(url(objs)).content.decode()
        assert html.count("<form") == html.count('name="csrfmiddlewaretoken"') + html.count('method="get"'), url


def test_a_domain_admin_may_look_at_but_not_change_a_superuser_in_their_domain(team):
    client = client_as(team, "admin_a")
    root = team.root.id
    assert client.get(f"/manage/accounts/{root}/").status_code == OK
    for url, form in (
        (f"/manage/accounts/{root}/password/", {"password": "mine-now"}),
        (f"/manage/accounts/{root}/", {"quota": "1K", "active": ""}),
        (f"/manage/accounts/{root}/delete/", {}),
    ):
        assert client.post(url, form).status_code == FORBIDDEN
    assert store.authenticate("root@example.test", "root-secret") is not None


@pytest.mark.parametrize(
    "role,form",
    [
        ("admin_a", {"superuser": "on", "admin_domains": "example.test"}),
        ("admin_a", {"admin_domains": ["example.test", "other.test"]}),
        ("superuser", {"admin_domains": "example.test"}),
    ],
    ids=["domain admin to superuser", "domain admin to another domain", "superuser to anything else"],
)
def test_nobody_can_change_their_own_role(team, role, form):
    me = team.account(role)
    before = store.admin_actor(me.id)
    response = client_as(team, role).post(f"/manage/accounts/{me.id}/roles/", form)
    assert response.status_code in (FORBIDDEN, 302)
    assert store.admin_actor(me.id) == before


def test_a_domain_admin_cannot_make_anyone_a_superuser(team):
    with pytest.raises(store.NotPermitted):
        store.admin_set_roles(team.actor("admin_a"), team.bob.id, superuser=True)
    assert not store.get_account("bob@example.test").is_superuser


def test_a_domain_admin_may_grant_admin_of_their_own_domain_only(team):
    alice = team.actor("admin_a")
    detail = store.admin_set_roles(alice, team.bob.id, admin_domains=["example.test"])
    assert detail.admin_domains == ("example.test",)
    with pytest.raises(store.NoSuchDomain):
        store.admin_set_roles(alice, team.bob.id, admin_domains=["other.test"])


def test_a_domain_admin_cannot_change_a_domains_limits(team):
    alice = team.actor("admin_a")
    for change in ({"max_accounts": 5}, {"active": False}, {"allow_external_forwards": True}):
        with pytest.raises(store.NotPermitted):
            store.admin_update_domain(alice, "example.test", **change)
    assert store.admin_update_domain(alice, "example.test", default_quota=2048).default_quota == 2048


def test_an_ordinary_account_is_refused_at_the_dashboard_login(team):
    response = client_as(team, None).post("/manage/login/", {"address": "bob@example.test", "password": "bob-secret"})
    assert response.status_code == FORBIDDEN
    assert b"no access to the dashboard" in response.content
    assert "_auth_user_id" not in response.client.session


def test_an_ordinary_account_with_a_webmail_session_is_told_why_the_dashboard_is_closed(team):
    response = client_as(team, "ordinary").get("/manage/")
    assert response.status_code == FORBIDDEN
    assert "no access to the dashboard" in response.content.decode()
    assert "Content-Security-Policy" in response
