"""The rich editor in Chromium: text made bold with the toolbar, sent to a
local account, arrives as <strong> in the text/html part with a matching
text/plain part; a hostile paste leaves nothing that runs. Saves
webmail-rich-editor.png."""

from __future__ import annotations

import email
from email import policy

import pytest
from playwright.sync_api import expect

from mailboxes import store

from .helpers import folder_id
from .test_browser import browser, eventually, log_in, mail_servers, page, shot  # noqa: F401

pytestmark = pytest.mark.slow
BOB = "bob@example.test"


def _bobs_newest() -> email.message.EmailMessage | None:
    bob = store.get_account(BOB).id
    inbox = folder_id(bob, "INBOX")
    items = store.message_page(bob, inbox).items
    if not items:
        return None
    return email.message_from_bytes(
        store.message_bytes(bob, inbox, items[0].uid),  # type: ignore[return-value]
        policy=policy.default,
    )


def test_bold_text_is_sent_as_html_with_a_matching_text_part(page, mail_servers):  # noqa: F811
    log_in(page)
    page.click("#compose-link")
    expect(page.locator("#editor")).to_be_visible()
    expect(page.locator("#body")).to_be_hidden()
    page.fill("#to", BOB)
    page.fill("#subject", "Formatted news")
    page.click("#editor")
    page.keyboard.type("We shipped the release today")
    page.keyboard.press("Enter")
    page.keyboard.type("Next steps")
    page.keyboard.press("Shift+Home")
    page.click("#rich button[data-block=ul]")
    expect(page.locator("#editor li")).to_have_text("Next steps")
    page.keyboard.press("Control+Home")
    page.keyboard.press("End")
    for _ in range(len("today")):  # select the first line's last word, make it bold with the toolbar
        page.keyboard.press("Shift+ArrowLeft")
    page.click("#rich button[data-wrap=strong]")
    expect(page.locator("#editor strong")).to_have_text("today")
    shot(page, "webmail-rich-editor")
    page.click("#send")
    expect(page.locator(".flash")).to_contain_text("Message sent.")
    eventually(lambda: _bobs_newest() is not None)
    msg = _bobs_newest()
    assert msg is not None and msg.get_content_type() == "multipart/alternative"
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<strong>today</strong>" in html and "<li>Next steps</li>" in html
    plain = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert [line for line in plain.splitlines() if line] == ["We shipped the release *today*", "- Next steps"]


def test_a_hostile_paste_leaves_nothing_that_runs(page):  # noqa: F811
    log_in(page)
    page.click("#compose-link")
    page.click("#editor")
    page.evaluate("""() => {
        const data = new DataTransfer();
        data.setData("text/html", '<p>pasted <b>fine</b><img src="/x" onerror="window.pwned=1">'
                     + '<script>window.pwned=2<\\/script><a href="javascript:window.pwned=3">link</a>'
                     + '<span onmouseover="window.pwned=4">over</span></p>');
        document.getElementById("editor").dispatchEvent(
            new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
    }""")
    expect(page.locator("#editor strong")).to_have_text("fine")
    markup = page.inner_html("#editor")
    for bad in ("<script", "onerror", "onmouseover", "javascript:", "<img"):
        assert bad not in markup
    assert "link" in markup and "over" in markup
    page.hover("#editor")
    assert page.evaluate("window.pwned") is None
