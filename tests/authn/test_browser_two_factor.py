"""Two-factor sign-in in a real browser (Debian's Chromium through
Playwright, as tests/webmail/test_browser.py drives it): enrolment with the
QR code page and a confirming code, then signing in with a code, codes made
by pyotp from the secret the page shows."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import Page, expect

from conftest import PASSWORDS
from mailboxes import store
from tests.webmail.test_browser import browser, log_in, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

ALICE = "alice@example.test"


def test_totp_enrolment_and_sign_in_in_chromium(page: Page, users) -> None:  # noqa: F811
    log_in(page)
    page.goto("/mail/settings/security/")
    expect(page.locator("#two-factor-off")).to_be_visible()
    page.click("#totp-begin-form button")
    expect(page.locator("#totp-qr svg")).to_be_visible()  # the QR code, an inline SVG made here
    totp = pyotp.TOTP(page.inner_text("#totp-secret").strip())
    enrolment_code = totp.now()
    page.fill("#totp-code", enrolment_code)
    page.click("#totp-confirm-form button")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    recovery = page.inner_text("#recovery-codes li >> nth=0").strip()
    assert store.two_factor_enabled(users[ALICE].id)

    page.context.clear_cookies()
    password_step(page)
    expect(page).to_have_url(re.compile(r"/mail/login/code$"))
    page.fill("#code", enrolment_code)  # already used (the same string even if the clock moved on a step)
    page.click("#code-form button")
    expect(page.locator(".error")).to_contain_text("not right")
    page.fill("#code", totp.at(time.time() + 30))  # the next step's code (clock drift is allowed)
    page.click("#code-form button")
    page.wait_for_url(signed_in)

    page.context.clear_cookies()
    password_step(page)
    page.fill("#code", recovery)
    page.click("#code-form button")
    page.wait_for_url(signed_in)
    page.context.clear_cookies()
    password_step(page)
    page.fill("#code", recovery)  # a recovery code signs in once
    page.click("#code-form button")
    expect(page.locator(".error")).to_contain_text("not right")


def password_step(page: Page) -> None:  # noqa: F811 (the fixture's name)
    page.goto("/mail/")
    page.fill("input[name=address]", ALICE)
    page.fill("input[name=password]", PASSWORDS[ALICE])
    page.click("button[type=submit]")


def signed_in(url: str) -> bool:
    return "/mail/" in url and "/login" not in url
