"""Conversations in Chromium: a message and a reply to it, sent over SMTP
submission to alice, show as one conversation of two in her inbox, and open
as one page with the older message folded. Saves webmail-conversation.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .test_browser import ALICE, BOB, browser, log_in, mail_servers, page, shot, submit  # noqa: F401

pytestmark = pytest.mark.slow
CHARLIE = "charlie@other.test"


def test_a_reply_is_grouped_with_its_original_and_opens_as_one_conversation(page, mail_servers):  # noqa: F811
    original = (
        b"From: Bob <bob@example.test>\r\nTo: alice@example.test, charlie@other.test\r\n"
        b"Subject: Trip to Turin\r\nDate: Mon, 30 Nov 2026 07:00:00 +0000\r\n"
        b"Message-ID: <turin-1@example.test>\r\n\r\nShall we go in May? The museum reopens.\r\n"
    )
    reply = (
        b"From: Charlie <charlie@other.test>\r\nTo: alice@example.test, bob@example.test\r\n"
        b"Subject: Re: Trip to Turin\r\nDate: Tue, 01 Dec 2026 09:00:00 +0000\r\n"
        b"Message-ID: <turin-2@other.test>\r\nIn-Reply-To: <turin-1@example.test>\r\n"
        b"References: <turin-1@example.test>\r\n\r\nMay suits me. I will book the train.\r\n"
    )
    unrelated = (
        b"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: Invoice 7\r\n"
        b"Date: Tue, 01 Dec 2026 08:00:00 +0000\r\nMessage-ID: <invoice-7@example.test>\r\n\r\nPaid.\r\n"
    )
    submit(mail_servers, original, BOB, [ALICE])
    submit(mail_servers, unrelated, BOB, [ALICE])
    submit(mail_servers, reply, CHARLIE, [ALICE])
    log_in(page)
    expect(page.locator("tr.msg")).to_have_count(2)
    row = page.locator("tr.msg", has_text="Trip to Turin")
    expect(row.locator(".count")).to_have_text("2")
    expect(row.locator(".who")).to_contain_text("Bob, Charlie")
    expect(row).to_have_class("msg unseen")
    row.locator(".subj a").click()
    expect(page.locator("#conversation-count")).to_have_text("2 messages")
    folded = page.locator("details.in-conversation")
    expect(folded).to_have_count(2)
    expect(folded.nth(0)).not_to_have_attribute("open", "")
    expect(folded.nth(1)).to_have_attribute("open", "")
    expect(folded.nth(1)).to_contain_text("May suits me.")
    expect(folded.nth(0).locator(".body")).not_to_be_visible()
    folded.nth(0).locator("summary").click()
    expect(folded.nth(0).locator(".body")).to_contain_text("Shall we go in May?")
    shot(page, "webmail-conversation")
    page.click("text=← INBOX")
    expect(page.locator("tr.msg", has_text="Trip to Turin")).to_have_class("msg")


def test_keys_work_on_the_conversation_page(page, mail_servers):  # noqa: F811
    submit(
        mail_servers,
        b"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: Keys\r\n"
        b"Message-ID: <keys-1@example.test>\r\n\r\nFirst.\r\n",
        BOB,
        [ALICE],
    )
    submit(
        mail_servers,
        b"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: Re: Keys\r\n"
        b"Message-ID: <keys-2@example.test>\r\nReferences: <keys-1@example.test>\r\n\r\nSecond.\r\n",
        BOB,
        [ALICE],
    )
    log_in(page)
    page.locator("tr.msg", has_text="Keys").locator(".subj a").click()
    expect(page.locator("#conversation-count")).to_have_text("2 messages")
    page.keyboard.press("r")
    expect(page.locator("#subject")).to_have_value("Re: Keys")
    page.go_back()
    page.keyboard.press("u")
    expect(page.locator("h1")).to_contain_text("Inbox")
