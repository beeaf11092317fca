"""Passkeys as a second factor in a real browser: Chromium's virtual
authenticator (CDP WebAuthn.addVirtualAuthenticator, through Playwright's
CDP session) registers a passkey on the Security page and then answers the
sign-in's second step; a removed passkey no longer signs in. With a
discoverable credential and user verification it signs in on its own, on the
webmail's and the dashboard's sign-in pages."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from mailboxes import store
from mailboxes.models import AuditEntry
from tests.authn.test_browser_two_factor import password_step, signed_in
from tests.webmail.test_browser import browser, log_in, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

ALICE = "alice@example.test"
AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


def test_a_passkey_is_registered_and_signs_in_as_the_second_factor_in_chromium(page: Page, users) -> None:  # noqa: F811
    virtual_authenticator(page)
    log_in(page)
    register_passkey(page)
    expect(page.locator("#passkey-list li")).to_have_count(1)
    assert store.two_factor_enabled(users[ALICE].id)
    with pytest.raises(store.AppPasswordRequired):  # the password alone no longer opens a mail door
        store.login(ALICE, "alice-secret", protocol="imap", ip="192.0.2.5")

    page.context.clear_cookies()
    password_step(page)
    expect(page).to_have_url(re.compile(r"/mail/login/code$"))
    page.click("#passkey-form button")
    page.wait_for_url(signed_in)
    [key] = store.list_passkeys(users[ALICE].id)
    assert key.last_used_at is not None

    store.remove_passkey(users[ALICE].id, key.id)
    assert not store.two_factor_enabled(users[ALICE].id)


def register_passkey(page: Page, name: str = "Laptop") -> None:  # noqa: F811 (the fixture's name)
    page.goto("/mail/settings/security/")
    page.fill("#passkey-add-form input[name=name]", name)
    page.click("#passkey-add-form button")
    expect(page.locator("#passkey-list")).to_contain_text(name)


def virtual_authenticator(page: Page) -> None:  # noqa: F811 (the fixture's name)
    """Chromium's virtual authenticator: a platform passkey that keeps
    discoverable credentials (resident keys) and verifies its user."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})


def passkey_answer(page: Page, finish: str) -> dict:  # noqa: F811 (the fixture's name)
    """Click "Sign in with a passkey" and return the assertion the page sent."""
    with page.expect_request(lambda r: urlsplit(r.url).path == finish and r.method == "POST") as sent:
        page.click("#passkey-sign-in button")
    return json.loads(sent.value.post_data or "{}")


def post_answer(page: Page, finish: str, body: dict) -> int:  # noqa: F811 (the fixture's name)
    """Ask for a fresh challenge and send `body` as the answer to it, as the
    page's script would (the same browser session and CSRF token)."""
    token = page.input_value("#passkey-sign-in input[name=csrfmiddlewaretoken]")
    headers = {"X-CSRFToken": token, "Content-Type": "application/json", "Referer": page.url}
    assert page.request.post("/mail/login/passkey/discover/options", headers=headers, data="{}").ok
    return page.request.post(finish, headers=headers, data=json.dumps(body)).status


def failures(address: str) -> int:
    return AuditEntry.objects.filter(action="login.failed", target=address).count()


def test_a_passkey_alone_signs_in_to_the_webmail_and_a_replayed_or_forged_answer_is_refused_and_counted(
    page: Page,  # noqa: F811
    users,
) -> None:
    virtual_authenticator(page)
    log_in(page)
    register_passkey(page)
    page.context.clear_cookies()

    page.goto("/mail/login/")
    answer = passkey_answer(page, "/mail/login/passkey/discover")
    page.wait_for_url(signed_in)  # no password, no code: the verified passkey is both factors
    assert answer["credential"]["response"]["userHandle"]  # a discoverable credential named the account
    assert [r.protocol for r in store.last_logins(users[ALICE].id)] == ["web"]
    assert len(store.list_web_sessions(users[ALICE].id)) == 2  # the password sign-in's and this one
    assert failures(ALICE) == 0

    page.context.clear_cookies()
    page.goto("/mail/login/")
    assert post_answer(page, "/mail/login/passkey/discover", answer) == 403  # replayed: another challenge
    forged = json.loads(json.dumps(answer))
    signature = forged["credential"]["response"]["signature"]
    forged["credential"]["response"]["signature"] = ("B" if signature[0] == "A" else "A") + signature[1:]
    assert post_answer(page, "/mail/login/passkey/discover", forged) == 403
    assert failures(ALICE) == 2  # both counted in the login throttle, against the account they named
    page.goto("/mail/")
    expect(page).to_have_url(re.compile(r"/mail/login/"))  # neither signed the browser in
    page.wait_for_load_state("networkidle")


def test_a_passkey_alone_signs_in_to_the_dashboard_only_for_an_administrator(page: Page, users) -> None:  # noqa: F811
    virtual_authenticator(page)
    log_in(page)
    register_passkey(page)
    page.context.clear_cookies()

    page.goto("/manage/login/")
    passkey_answer(page, "/manage/login/passkey")
    expect(page.locator("#passkey-sign-in .passkey-error")).to_contain_text("no access to the dashboard")

    root = store.admin_actor(store.create_account("root@example.test", "root-secret-1", superuser=True).id)
    assert root is not None
    store.admin_set_roles(root, users[ALICE].id, admin_domains=["example.test"])
    page.goto("/manage/login/?next=/manage/accounts/")
    passkey_answer(page, "/manage/login/passkey")
    page.wait_for_url(re.compile(r"/manage/accounts/$"))
    page.wait_for_load_state("networkidle")  # no request of this test still running when the tables are emptied
    assert "manage" in [r.protocol for r in store.last_logins(users[ALICE].id)]
