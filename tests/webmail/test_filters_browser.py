"""The Filters page in Chromium (Playwright): make a rule with the builder,
send a matching message over SMTP, find it in the rule's folder in the
webmail and over IMAP; a broken script shows its error at its line."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from conftest import sample_message

from .test_browser import ALICE, BOB, browser, eventually, imap_subjects, log_in, mail_servers, page, shot, submit  # noqa: F401

pytestmark = pytest.mark.slow  # Chromium


def test_a_rule_made_in_the_builder_files_matching_mail_into_its_folder(page, mail_servers):  # noqa: F811
    log_in(page)
    page.click("#filters-link")
    expect(page.locator("h1")).to_have_text("Filters")
    page.select_option("#rule-field", "subject")
    page.select_option("#rule-match", "contains")
    page.fill("#rule-value", "invoice")
    page.select_option("#rule-action", "move")
    page.fill("#rule-argument", "Finance")
    page.check("#rule-stop")
    page.click("#add-rule")
    expect(page.locator("#script")).to_have_value(
        'require ["fileinto", "mailbox"];\n# rule: Subject invoice -> Move to folder Finance\n'
        'if header :contains "subject" "invoice" {\n    fileinto :create "Finance";\n    stop;\n}\n'
    )
    shot(page, "filters")
    submit(mail_servers, sample_message(subject="Your invoice for December"), BOB, [ALICE])
    submit(mail_servers, sample_message(subject="Lunch?"), BOB, [ALICE])
    eventually(lambda: imap_subjects(mail_servers, ALICE, "Finance") == ["Your invoice for December"])
    assert imap_subjects(mail_servers, ALICE) == ["Lunch?"]
    page.goto("/mail/")
    page.locator("#folder-list a", has_text="Finance").click()
    expect(page.locator("tr.msg", has_text="Your invoice for December")).to_have_count(1)


def test_the_raw_editor_shows_an_error_at_its_line(page):  # noqa: F811
    log_in(page)
    page.goto("/mail/filters/")
    page.fill("#script", 'require "fileinto";\nif header :contains "subject" "x" {\n  fileinto "X"\n}\n')
    page.click("#save-script")
    expect(page.locator("#script-error")).to_have_text("Line 3: missing ';' after fileinto")
    expect(page.locator("#error-line")).to_have_text('  fileinto "X"')
    expect(page.locator("#script")).to_have_value(
        'require "fileinto";\nif header :contains "subject" "x" {\n  fileinto "X"\n}\n'
    )
