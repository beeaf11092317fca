"""Contacts in Chromium: a vCard file imported on the Contacts page, then its
address offered when the name is typed in compose."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from .test_browser import browser, log_in, page  # noqa: F401

pytestmark = pytest.mark.slow
VCF = Path(__file__).parent / "data" / "contacts.vcf"


def test_an_imported_vcard_address_is_suggested_in_compose(page):  # noqa: F811
    log_in(page)
    page.click("#contacts-link")
    page.set_input_files("#vcards", str(VCF))
    page.click("#import-contacts")
    expect(page.locator(".flash")).to_contain_text("Imported 2 contacts.")
    expect(page.locator("#contact-list")).to_contain_text("zoe.q@partners.test")
    page.click("#compose-link")
    page.locator("#to").type("Quarter")
    suggestion = page.locator("#suggestions li", has_text="zoe.q@partners.test")
    expect(suggestion).to_be_visible()
    suggestion.click()
    expect(page.locator("#to")).to_have_value("Zoe Quartermaine <zoe.q@partners.test>, ")
