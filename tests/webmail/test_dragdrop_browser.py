"""Handling mail quickly in Chromium: drag a message onto a folder and undo
it (a reverse move), and select a range of rows with shift-click."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from conftest import sample_message
from mailboxes import store

from .helpers import deliver_to, folder_id
from .test_browser import ALICE, browser, log_in, page  # noqa: F401

pytestmark = pytest.mark.slow


def _subjects(name: str) -> list[str]:
    me = store.get_account(ALICE).id
    return sorted(m.subject for m in store.message_page(me, folder_id(me, name)).items)


def test_drag_a_message_to_a_folder_then_undo(page):  # noqa: F811
    for subject in ("Invoice 1001", "Team offsite", "Newsletter"):
        deliver_to(ALICE, sample_message(subject=subject, body=f"About {subject}\r\n"))
    log_in(page)
    expect(page.locator("tr.msg")).to_have_count(3)
    page.drag_and_drop("tr.msg:has-text('Invoice 1001') td.who", "#folder-list a:has-text('Archive')")
    expect(page.locator("#undo")).to_be_visible()
    expect(page.locator("#undo-text")).to_have_text("Moved 1 to Archive.")
    expect(page.locator("tr.msg")).to_have_count(2)
    assert _subjects("Archive") == ["Invoice 1001"]
    page.click("#undo-button")
    expect(page.locator("tr.msg", has_text="Invoice 1001")).to_be_visible()
    assert _subjects("Archive") == []
    assert _subjects("INBOX") == ["Invoice 1001", "Newsletter", "Team offsite"]


def test_shift_click_selects_a_range_and_the_selection_drags_together(page):  # noqa: F811
    for subject in ("One", "Two", "Three", "Four"):
        deliver_to(ALICE, sample_message(subject=f"Range {subject}", body=f"{subject}\r\n"))
    log_in(page)
    boxes = page.locator("#message-list input[name=uid]")
    expect(boxes).to_have_count(4)
    boxes.nth(0).click()
    boxes.nth(2).click(modifiers=["Shift"])
    assert [boxes.nth(i).is_checked() for i in range(4)] == [True, True, True, False]
    page.drag_and_drop("#message-list tr.msg >> nth=1", "#folder-list a:has-text('Junk')")
    expect(page.locator("#undo-text")).to_have_text("Moved 3 to Junk.")
    expect(page.locator("tr.msg")).to_have_count(1)
    assert len(_subjects("Junk")) == 3


def test_delete_from_the_toolbar_can_be_undone(page):  # noqa: F811
    for subject in ("Keep me", "Oops"):
        deliver_to(ALICE, sample_message(subject=subject, body=f"{subject}\r\n"))
    log_in(page)
    page.locator("tr.msg", has_text="Oops").locator("input[name=uid]").check()
    page.click("#bulk-delete")
    expect(page.locator("#undo-text")).to_have_text("Moved 1 to Trash.")
    expect(page.locator("tr.msg")).to_have_count(1)
    assert _subjects("Trash") == ["Oops"]
    page.click("#undo-button")
    expect(page.locator("tr.msg", has_text="Oops")).to_be_visible()
    assert _subjects("Trash") == [] and _subjects("INBOX") == ["Keep me", "Oops"]
