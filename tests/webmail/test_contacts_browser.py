"""Contacts in Chromium: a vCard file imported on the Contacts page, then its
address offered when the name is typed in compose; a group made, two
contacts put in it, and the group chosen in compose writing both addresses."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.axe import serious_violations

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


def test_a_group_made_on_the_contacts_page_writes_both_members_in_compose(page):  # noqa: F811
    log_in(page)
    page.click("#contacts-link")
    for name, address in (("Ada Lovelace", "ada@engine.test"), ("Charles Babbage", "charles@engine.test")):
        page.fill("#contact-name", name)
        page.fill("#contact-addresses", address)
        page.click("#add-contact")
        expect(page.locator(".flash")).to_contain_text("Contact added.")
    page.fill("#group-name", "Engine team")
    page.click("#add-group")
    expect(page.locator("h1")).to_contain_text("Engine team")
    expect(page.locator("#member-list")).to_contain_text("No members yet")
    for name in ("Ada Lovelace", "Charles Babbage"):
        page.click("#contacts-link")
        page.locator("#contact-list a", has_text=name).click()
        page.select_option("#join-group", label="Engine team")
        page.click("#join")
        expect(page.locator("#in-groups")).to_contain_text("Engine team")
    assert serious_violations(page) == []  # the contact's page with its groups
    page.locator("#in-groups a", has_text="Engine team").click()
    expect(page.locator("#member-list")).to_contain_text("ada@engine.test")
    expect(page.locator("#member-list")).to_contain_text("charles@engine.test")
    assert serious_violations(page) == []  # the group's page
    page.click("#compose-link")
    page.locator("#to").type("engine t")
    group = page.locator("#suggestions li.group", has_text="Engine team")
    expect(group).to_have_text("Engine team (group of 2)")
    group.click()
    expect(page.locator("#to")).to_have_value("Ada Lovelace <ada@engine.test>, Charles Babbage <charles@engine.test>, ")
