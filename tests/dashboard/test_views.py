"""What administrators do in the dashboard, through its pages (Django's
test client), checked against the store afterwards."""

from __future__ import annotations

import re

import pytest
from django.template.defaultfilters import filesizeformat

from conftest import sample_message
from mailboxes import store

from .conftest import ROOT, ROOT_PASSWORD, client_as


def audit_actions(team) -> list[str]:
    return [e.action for e in store.admin_audit_log(team.actor("superuser")).items]


def test_a_superuser_creates_a_domain_and_lands_on_its_dns_page(team):
    client = client_as(team, "superuser")
    response = client.post("/manage/domains/new/", {"name": "New.Example", "default_quota": "2G", "max_accounts": "3"})
    assert response.status_code == 302 and response["Location"] == "/manage/domains/new.example/dns/"
    domain = store.admin_domain(team.actor("superuser"), "new.example")
    assert (domain.default_quota, domain.max_accounts) == (2 * 1024**3, 3)
    assert audit_actions(team)[0] == "domain.create"


@pytest.mark.parametrize(
    "form,error",
    [
        ({"name": "example.test", "max_accounts": "0"}, "already exists"),
        ({"name": "not a domain", "max_accounts": "0"}, "not a valid domain name"),
        ({"name": "x.test", "default_quota": "12X", "max_accounts": "0"}, "not a size"),
    ],
)
def test_a_bad_new_domain_is_refused_with_one_line_and_nothing_written(team, form, error):
    response = client_as(team, "superuser").post("/manage/domains/new/", form)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert store.admin_list_domains(team.actor("superuser")).total == 2


def test_domain_settings_set_quota_retention_catch_all_and_limits(team):
    client = client_as(team, "superuser")
    response = client.post(
        "/manage/domains/example.test/",
        {
            "default_quota": "100M",
            "trash_retention_days": "7",
            "catch_all": "bob@example.test",
            "active": "on",
            "max_accounts": "50",
            "allow_external_forwards": "on",
        },
    )
    assert response.status_code == 302
    domain = store.admin_domain(team.actor("superuser"), "example.test")
    assert (domain.default_quota, domain.trash_retention_days, domain.max_accounts) == (100 * 1024**2, 7, 50)
    assert domain.catch_all == ("bob@example.test",) and domain.allow_external_forwards
    assert store.resolve_recipient("whoever@example.test").account_ids == (team.bob.id,)
    client.post(
        "/manage/domains/example.test/",
        {"default_quota": "100M", "trash_retention_days": "7", "catch_all": "", "active": "on", "max_accounts": "50"},
    )
    assert store.resolve_recipient("whoever@example.test").kind == "unknown"


def test_a_domain_admin_sees_no_limit_fields_and_saves_the_rest(team):
    client = client_as(team, "admin_a")
    page = client.get("/manage/domains/example.test/").content.decode()
    assert 'name="max_accounts"' not in page and 'name="default_quota"' in page
    response = client.post(
        "/manage/domains/example.test/",
        {"default_quota": "5M", "trash_retention_days": "9", "catch_all": "", "max_accounts": "9999"},
    )
    assert response.status_code == 302
    domain = store.admin_domain(team.actor("admin_a"), "example.test")
    assert (domain.default_quota, domain.trash_retention_days, domain.max_accounts) == (5 * 1024**2, 9, 0)


def test_a_catch_all_to_another_host_needs_external_forwards_allowed(team):
    client = client_as(team, "superuser")
    form = {
        "default_quota": "0",
        "trash_retention_days": "30",
        "catch_all": "someone@elsewhere.test",
        "active": "on",
        "max_accounts": "0",
    }
    assert "does not allow forwarding" in client.post("/manage/domains/example.test/", form).content.decode()
    assert store.admin_domain(team.actor("superuser"), "example.test").catch_all == ()
    assert client.post("/manage/domains/example.test/", {**form, "allow_external_forwards": "on"}).status_code == 302


def test_a_domain_with_accounts_is_deleted_only_when_told_to_take_them(team):
    client = client_as(team, "superuser")
    page = client.get("/manage/domains/other.test/delete/").content.decode()
    assert "1 account" in page
    assert "still has 1 account:" in client.post("/manage/domains/other.test/delete/", {}).content.decode()
    assert store.admin_list_domains(team.actor("superuser")).total == 2
    assert client.post("/manage/domains/other.test/delete/", {"with_accounts": "yes"}).status_code == 302
    assert [d.name for d in store.admin_list_domains(team.actor("superuser")).items] == ["example.test"]


def test_dkim_key_generation_publishes_a_record_on_the_dns_page(team):
    client = client_as(team, "admin_a")
    client.post("/manage/domains/example.test/dkim/", {"selector": "s2026", "algorithm": "ed25519"})
    key = store.active_dkim_key("example.test")
    assert key is not None and key.selector == "s2026" and key.algorithm == "ed25519"
    page = client.get("/manage/domains/example.test/dns/").content.decode()
    assert "s2026._domainkey.example.test" in page and key.dns_txt.split("p=")[1][:40] in page


def test_an_account_created_without_a_password_gets_one_shown_once(team):
    client = client_as(team, "admin_a")
    response = client.post(
        "/manage/accounts/new/", {"address": "dora@example.test", "display_name": "Dora", "quota": "50M"}
    )
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    password = re.search(r'id="generated-password">([^<]+)<', response.content.decode()).group(1)
    account = store.authenticate("dora@example.test", password)
    assert account is not None and account.quota == 50 * 1024**2 and account.display_name == "Dora"
    page = client.get(f"/manage/accounts/{account.id}/").content.decode()
    assert password not in page


def test_a_new_account_takes_the_domains_default_quota_and_respects_its_limit(team):
    superuser = team.actor("superuser")
    store.admin_update_domain(superuser, "other.test", default_quota=7 * 1024**2, max_accounts=2)
    client = client_as(team, "admin_b")
    client.post("/manage/accounts/new/", {"address": "eve@other.test", "password": "eve-secret"})
    assert store.get_account("eve@other.test").quota == 7 * 1024**2
    response = client.post("/manage/accounts/new/", {"address": "fay@other.test", "password": "x"})
    assert "limit of 2 accounts" in response.content.decode()


def test_password_reset_quota_change_and_disable_take_effect(team):
    client = client_as(team, "admin_a")
    bob = team.bob.id
    client.post(f"/manage/accounts/{bob}/password/", {"password": "new-bob-secret"})
    assert store.authenticate("bob@example.test", "new-bob-secret") is not None
    response = client.post(f"/manage/accounts/{bob}/password/", {"password": ""})
    generated = re.search(r'id="generated-password">([^<]+)<', response.content.decode()).group(1)
    assert store.authenticate("bob@example.test", generated) is not None
    client.post(f"/manage/accounts/{bob}/", {"display_name": "Bob B.", "quota": "2G"})
    info = store.get_account("bob@example.test")
    assert (info.quota, info.display_name, info.is_active) == (2 * 1024**3, "Bob B.", False)
    assert store.authenticate("bob@example.test", generated) is None
    assert audit_actions(team)[:4] == ["account.update", "account.password", "account.password", "account.roles"]


def test_account_page_shows_usage_folders_and_last_login_per_protocol(team):
    store.deliver(sample_message(body="x" * 5000), ["bob@example.test"])
    store.record_login(team.bob.id, "imap", "192.0.2.7")
    store.record_login(team.bob.id, "pop3", "192.0.2.8")
    store.record_login(team.bob.id, "imap", "192.0.2.9")  # replaces the first
    assert [(l.protocol, l.ip) for l in store.last_logins(team.bob.id)] == [
        ("imap", "192.0.2.9"),
        ("pop3", "192.0.2.8"),
    ]
    page = client_as(team, "admin_a").get(f"/manage/accounts/{team.bob.id}/").content.decode()
    size = filesizeformat(store.get_account("bob@example.test").used_bytes)
    for text in ("INBOX", "Archive", "192.0.2.9", "192.0.2.8", "imap", "pop3", size):
        assert text in page, text


def test_deleting_an_account_says_how_much_mail_goes_with_it(team):
    for _ in range(3):
        store.deliver(sample_message(body="y" * 1000), ["bob@example.test"])
    client = client_as(team, "admin_a")
    page = client.get(f"/manage/accounts/{team.bob.id}/delete/").content.decode()
    assert "3 messages" in page and filesizeformat(store.get_account("bob@example.test").used_bytes) in page
    assert client.post(f"/manage/accounts/{team.bob.id}/delete/").status_code == 302
    with pytest.raises(store.NoSuchAccount):
        store.get_account("bob@example.test")
    entry = store.admin_audit_log(team.actor("superuser")).items[0]
    assert (entry.action, entry.target, entry.detail["messages"]) == ("account.delete", "bob@example.test", 3)


def test_nobody_deletes_or_disables_their_own_account(team):
    client = client_as(team, "superuser")
    assert client.post(f"/manage/accounts/{team.root.id}/delete/").status_code == 403
    assert client.post(f"/manage/accounts/{team.root.id}/", {"quota": "0", "active": ""}).status_code == 403
    assert store.get_account(ROOT).is_active


def test_a_superuser_grants_and_revokes_roles(team):
    client = client_as(team, "superuser")
    client.post(f"/manage/accounts/{team.bob.id}/roles/", {"superuser": "on", "admin_domains": ["other.test"]})
    actor = store.admin_actor(team.bob.id)
    assert actor is not None and actor.is_superuser and actor.domain_names == ("other.test",)
    client.post(f"/manage/accounts/{team.bob.id}/roles/", {})
    assert store.admin_actor(team.bob.id) is None


def test_aliases_are_created_edited_and_deleted(team):
    client = client_as(team, "admin_a")
    response = client.post(
        "/manage/aliases/new/", {"source": "team@example.test", "targets": "alice@example.test, bob@example.test"}
    )
    assert response.status_code == 302
    assert set(store.resolve_recipient("team@example.test").account_ids) == {team.alice.id, team.bob.id}
    alias = store.admin_list_aliases(team.actor("admin_a"), query="team").items[0]
    client.post(f"/manage/aliases/{alias.id}/", {"targets": "bob@example.test\ncharlie@other.test"})
    assert store.admin_alias(team.actor("admin_a"), alias.id).targets == ("bob@example.test", "charlie@other.test")
    client.post(f"/manage/aliases/{alias.id}/delete/")
    assert store.resolve_recipient("team@example.test").kind == "unknown"
    assert audit_actions(team)[:3] == ["alias.delete", "alias.update", "alias.create"]


def test_an_alias_forwarding_to_another_host_needs_the_domain_to_allow_it(team):
    client = client_as(team, "admin_a")
    form = {"source": "fwd@example.test", "targets": "someone@elsewhere.test"}
    assert "does not allow forwarding" in client.post("/manage/aliases/new/", form).content.decode()
    store.admin_update_domain(team.actor("superuser"), "example.test", allow_external_forwards=True)
    assert client.post("/manage/aliases/new/", form).status_code == 302
    assert store.resolve_recipient("fwd@example.test").forwards == ("someone@elsewhere.test",)


def test_lists_search_and_page(team):
    superuser = team.actor("superuser")
    for i in range(7):
        store.admin_create_account(superuser, f"user{i}@other.test", password="pw")
    page = store.admin_list_accounts(superuser, domain="other.test", query="user", per_page=3, page=3)
    assert (page.total, page.pages, page.number, [a.address for a in page.items]) == (7, 3, 3, ["user6@other.test"])
    html = client_as(team, "admin_b").get("/manage/accounts/?q=user&page=2&domain=other.test").content.decode()
    assert "page 2 of 1" not in html and "user0@other.test" in html  # 7 rows fit one page of 50
    assert store.admin_list_accounts(superuser, order="usage").total == 11


def test_the_queue_lists_retries_and_deletes_outbound_mail(team):
    store.deliver(
        sample_message(to="x@far.test"),
        ["x@far.test", "y@far.test"],
        "alice@example.test",
        sender_account_id=team.alice.id,
    )
    admin = team.actor("admin_a")
    rows = store.admin_list_queue(admin).items
    assert sorted(r.address for r in rows) == ["x@far.test", "y@far.test"]
    assert store.admin_list_queue(team.actor("admin_b")).total == 0  # not charlie's domain
    client = client_as(team, "admin_a")
    page = client.get("/manage/queue/").content.decode()
    assert "x@far.test" in page and "Hello" in page
    assert "nothing to retry" in _follow_message(client, f"/manage/queue/{rows[0].id}/retry/")
    client.post(f"/manage/queue/{rows[0].id}/delete/")
    assert [r.address for r in store.admin_list_queue(admin).items] == [rows[1].address]
    client.post(f"/manage/queue/{rows[1].id}/delete/")
    assert store.admin_list_queue(admin).total == 0


@pytest.mark.parametrize(
    "days, says",
    [(7, "deleted 7 days after their last attempt"), (1, "deleted 1 day after"), (0, "kept until deleted here")],
)
def test_the_queue_page_says_how_long_finished_entries_are_kept(team, settings, days, says):
    settings.MAIL_OUTBOUND_RETENTION_DAYS = days
    page = client_as(team, "admin_a").get("/manage/queue/").content.decode()
    assert says in page


def _follow_message(client, url: str) -> str:
    return client.post(url, follow=True).content.decode()


def test_the_overview_counts_and_charts_mail_per_day(team):
    store.admin_update_account(team.actor("superuser"), team.bob.id, quota=4000)
    store.deliver(sample_message(body="z" * 3700), ["bob@example.test"])
    store.append(team.alice.id, "Sent", sample_message(subject="Out"))
    data = store.admin_overview(team.actor("superuser"))
    assert (data.domains, data.accounts, len(data.days)) == (2, 4, 30)
    assert (data.days[-1].received, data.days[-1].sent) == (1, 1)
    assert [a.address for a in data.near_quota] == ["bob@example.test"]
    assert data.top_accounts[0].address == "bob@example.test"
    page = client_as(team, "superuser").get("/manage/").content.decode()
    assert "<svg" in page and page.count('<rect class="received"') == 30 and "1 received" in page
    assert store.admin_overview(team.actor("admin_b")).accounts == 1  # charlie sees other.test only


def test_the_audit_log_records_who_did_what_and_is_searchable(team):
    client_as(team, "admin_a").post(f"/manage/accounts/{team.bob.id}/", {"quota": "3M", "active": "on"})
    html = client_as(team, "superuser").get("/manage/audit/?q=bob").content.decode()
    assert "alice@example.test" in html and "account.update" in html and "quota=3145728" in html


def test_the_dashboard_login_lets_admins_in_and_sends_them_where_they_were_going(team):
    client = client_as(team, None)
    response = client.post(
        "/manage/login/?next=/manage/queue/", {"address": ROOT, "password": ROOT_PASSWORD, "next": "/manage/queue/"}
    )
    assert response.status_code == 302 and response["Location"] == "/manage/queue/"
    assert [l.protocol for l in store.last_logins(team.root.id)] == ["manage"]
    evil = client_as(team, None).post(
        "/manage/login/", {"address": ROOT, "password": ROOT_PASSWORD, "next": "https://evil.test/"}
    )
    assert evil["Location"] == "/manage/"
    client.post("/manage/logout/")
    assert client.get("/manage/").status_code == 302


def test_repeated_failed_logins_close_the_door_even_for_the_right_password(team):
    client = client_as(team, None)
    for _ in range(5):
        assert client.post("/manage/login/", {"address": ROOT, "password": "guess"}).status_code == 403
    response = client.post("/manage/login/", {"address": ROOT, "password": ROOT_PASSWORD})
    assert response.status_code == 403 and "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # another address from the same IP is not yet blocked
    assert (
        client.post("/manage/login/", {"address": "alice@example.test", "password": "alice-secret"}).status_code == 302
    )


def test_dashboard_pages_forbid_scripts_and_framing(team):
    response = client_as(team, "superuser").get("/manage/")
    assert "script-src" not in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "<script" not in response.content.decode()


def test_the_account_list_names_each_accounts_second_factors(team):
    store.set_totp(team.bob.address)
    page = client_as(team, "superuser").get("/manage/accounts/").content.decode()
    cells = dict(re.findall(r'>([a-z]+@[a-z.]+)</a>.*?<td class="two-factor">(.*?)</td>', page, re.S))
    assert "TOTP" in cells[team.bob.address] and "none" in cells[team.alice.address]


def test_the_own_security_page_is_the_dashboards_for_administrators_only(team):
    admin = client_as(team, "admin_a").get("/manage/security/")
    assert admin.status_code == 200 and 'id="totp-begin-form"' in admin.content.decode()
    assert 'action="/manage/security/totp/begin"' in admin.content.decode()  # its forms stay in the dashboard
    assert "script-src 'self'" in admin["Content-Security-Policy"]  # the passkey script may run here
    assert client_as(team, "ordinary").get("/manage/security/").status_code == 403
    assert client_as(team, "ordinary").get("/mail/settings/security/").status_code == 200
