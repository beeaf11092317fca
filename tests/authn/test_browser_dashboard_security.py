"""The dashboard's own Security page in Chromium: an administrator enrols
an authenticator app (codes from pyotp) and a passkey (Chromium's virtual
authenticator) without leaving the dashboard, and the account list then
shows both."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import Page, expect

from conftest import PASSWORDS
from mailboxes import store
from tests.authn.test_browser_passkeys import ALICE, virtual_authenticator
from tests.webmail.test_browser import browser, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def test_an_administrator_enrols_totp_and_a_passkey_on_the_dashboards_own_page(page: Page, users) -> None:  # noqa: F811
    root = store.admin_actor(store.create_account("root@example.test", "root-secret-1", superuser=True).id)
    assert root is not None
    store.admin_set_roles(root, users[ALICE].id, admin_domains=["example.test"])
    virtual_authenticator(page)
    page.goto("/manage/login/")
    page.fill("input[name=address]", ALICE)
    page.fill("input[name=password]", PASSWORDS[ALICE])
    page.click("button[type=submit]")
    page.click("#own-security")
    expect(page).to_have_url(re.compile(r"/manage/security/$"))

    page.click("#totp-begin-form button")
    expect(page.locator("#totp-qr svg")).to_be_visible()
    page.fill("#totp-code", pyotp.TOTP(page.inner_text("#totp-secret").strip()).now())
    page.click("#totp-confirm-form button")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    expect(page).to_have_url(re.compile(r"/manage/security/totp/confirm$"))  # still the dashboard

    page.goto("/manage/security/")
    page.fill("#passkey-add-form input[name=name]", "Desk key")
    page.click("#passkey-add-form button")
    expect(page.locator("#passkey-list")).to_contain_text("Desk key")
    assert [k.name for k in store.list_passkeys(users[ALICE].id)] == ["Desk key"]

    page.goto("/manage/accounts/")
    row = page.locator("tr", has_text=ALICE)
    expect(row.locator("td.two-factor")).to_have_text("both")
    expect(page.locator("tr", has_text="bob@example.test").locator("td.two-factor")).to_have_text("none")
    page.wait_for_load_state("networkidle")  # no request still running when the tables are emptied
