"""Passkeys as a second factor in a real browser: Chromium's virtual
authenticator (CDP WebAuthn.addVirtualAuthenticator, through Playwright's
CDP session) registers a passkey on the Security page and then answers the
sign-in's second step; a removed passkey no longer signs in."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from mailboxes import store
from tests.authn.test_browser_two_factor import password_step, signed_in
from tests.webmail.test_browser import browser, log_in, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

ALICE = "alice@example.test"
AUTHENTICATOR = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                 "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True}


def test_a_passkey_is_registered_and_signs_in_as_the_second_factor_in_chromium(page: Page, users) -> None:  # noqa: F811
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    log_in(page)
    page.goto("/mail/settings/security/")
    page.fill("#passkey-add-form input[name=name]", "Laptop")
    page.click("#passkey-add-form button")
    expect(page.locator("#passkey-list li")).to_have_count(1)
    expect(page.locator("#passkey-list")).to_contain_text("Laptop")
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
