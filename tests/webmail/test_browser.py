"""The webmail in a real browser: Debian's Chromium driven by Playwright,
against the app served by pytest-django's live_server, with mail coming in
over the real SMTP submission listener and checked over the real IMAP one.

Every page the browser loads is watched: a request to any host but the live
server fails the test (no remote content, ever), and so does a page error.
Screenshots of the inbox, a message with attachments and compose are saved
to docs/screenshots/ for the README."""

from __future__ import annotations

import imaplib
import os
import re
import smtplib
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from conftest import PASSWORDS, sample_message
from mailboxes import store
from tests.axe import serious_violations
from tests.markers import forbid_in_fast_run
from tests.servers import ROOT, InProcessServer

from .helpers import HOSTILE, folder_id, with_attachments

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = ROOT / "docs" / "screenshots"
ALICE, BOB = "alice@example.test", "bob@example.test"
TIMEOUT_MS = 15_000
BUILT_IN = ("chrome", "chrome-extension")  # the browser's own pages, e.g. its PDF viewer: nothing leaves the machine


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop on this thread; the tests call
    # the store from it between browser steps, which Django would refuse.
    forbid_in_fast_run("a browser")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture(scope="module")
def mail_servers() -> Iterator[InProcessServer]:
    with InProcessServer(["submission", "imap"]) as server:
        yield server


@pytest.fixture
def page(browser, live_server, users) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    """A fresh browser context on the live server; fails the test if anything
    was requested from another host or a page script threw."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 800}, accept_downloads=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    ours = urlsplit(live_server.url).netloc
    elsewhere: list[str] = []
    errors: list[str] = []
    tab.on(
        "request",
        lambda r: (
            None
            if urlsplit(r.url).scheme in ("data", "about", "blob", *BUILT_IN) or urlsplit(r.url).netloc == ours
            else elsewhere.append(r.url)
        ),
    )
    tab.on("pageerror", lambda e: errors.append(str(e)))
    yield tab
    context.close()
    assert elsewhere == [], f"requests left for other hosts: {elsewhere}"
    assert errors == [], f"script errors: {errors}"


def log_in(page: Page, address: str = ALICE) -> None:
    page.goto("/mail/")
    page.fill("input[name=address]", address)
    page.fill("input[name=password]", PASSWORDS[address])
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Inbox")


def submit(servers: InProcessServer, raw: bytes, sender: str, to: list[str]) -> None:
    """Send as `sender` over SMTP submission (AUTH on loopback), as a mail client would."""
    with smtplib.SMTP("127.0.0.1", servers.ports["submission"], timeout=30) as smtp:
        smtp.login(sender, PASSWORDS[sender])
        smtp.sendmail(sender, to, raw)


def imap_subjects(servers: InProcessServer, address: str, folder: str = "INBOX") -> list[str]:
    imap = imaplib.IMAP4("127.0.0.1", servers.ports["imap"])
    try:
        imap.login(address, PASSWORDS[address])
        imap.select(folder, readonly=True)
        _typ, data = imap.uid("SEARCH", None, "ALL")
        subjects = []
        for uid in data[0].split():
            _typ, fetched = imap.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            subjects.append(fetched[0][1].decode().partition(":")[2].strip())
        return subjects
    finally:
        imap.logout()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def eventually(check, seconds: float = 15) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def test_read_a_message_delivered_over_smtp_and_open_its_attachment(page, mail_servers):
    for n, subject in enumerate(("Lunch on Friday?", "Minutes of the board meeting", "Your parcel is on its way")):
        submit(
            mail_servers,
            sample_message(
                subject=subject, body=f"Message number {n}.\r\n", sender=BOB if n % 2 else "Carol <bob@example.test>"
            ),
            BOB,
            [ALICE],
        )
    submit(mail_servers, with_attachments(subject="Quarterly report, with the figures"), BOB, [ALICE])
    log_in(page)
    row = page.locator("tr.msg", has_text="Quarterly report")
    expect(row).to_have_class("msg unseen")
    shot(page, "inbox")
    row.locator("a").click()
    expect(page.locator("#subject")).to_have_text("Quarterly report, with the figures")
    expect(page.locator("#attachments li")).to_have_count(2)
    frame = page.frame_locator("#html-body")
    expect(frame.locator("b")).to_have_text("report")
    expect(frame.locator("img")).to_have_js_property("naturalWidth", 160)  # the cid: image, from the message
    shot(page, "message")
    with page.expect_download() as download:
        page.click("text=report.pdf")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-1.4")
    assert download.value.suggested_filename == "report.pdf"


def plain_text_compose(address: str = ALICE) -> None:
    """The plain-text compose setting (the rich editor is the default)."""
    me = store.get_account(address).id
    store.save_preferences(me, replace(store.get_preferences(me), rich_compose=False))


def test_reply_arrives_in_bobs_inbox_over_imap(page, mail_servers):
    plain_text_compose()
    submit(mail_servers, sample_message(subject="Can you review the plan?", body="Draft attached.\r\n"), BOB, [ALICE])
    log_in(page)
    page.click("text=Can you review the plan?")
    expect(page.locator("#subject")).to_have_text("Can you review the plan?")
    page.keyboard.press("r")
    expect(page.locator("#subject")).to_have_value("Re: Can you review the plan?")
    expect(page.locator("#to")).to_have_value(BOB)
    page.locator("#body").press("Control+Home")
    page.locator("#body").type("Looks good to me. Ship it!")
    shot(page, "compose")
    page.click("#send")
    expect(page.locator(".flash")).to_contain_text("Message sent.")
    eventually(lambda: "Re: Can you review the plan?" in imap_subjects(mail_servers, BOB))
    assert imap_subjects(mail_servers, ALICE, "Sent") == ["Re: Can you review the plan?"]


def test_move_delete_and_search_from_the_list(page, mail_servers):
    for subject in ("Invoice 1001", "Team offsite", "Newsletter"):
        submit(mail_servers, sample_message(subject=subject, body=f"About: {subject}\r\n"), BOB, [ALICE])
    log_in(page)
    page.locator("tr.msg", has_text="Invoice 1001").locator("input[name=uid]").check()
    page.select_option("select[name=dest]", label="Archive")
    page.click("#bulk-move")  # done in place by the page's script, with Undo
    expect(page.locator("#undo-text")).to_have_text("Moved 1 to Archive.")
    expect(page.locator("tr.msg")).to_have_count(2)
    page.keyboard.press("j")  # cursor on the newest row, "Newsletter"
    expect(page.locator("tr.msg.cursor")).to_contain_text("Newsletter")
    page.keyboard.press("#")
    expect(page.locator("#undo-text")).to_have_text("Moved 1 to Trash.")
    assert imap_subjects(mail_servers, ALICE, "Trash") == ["Newsletter"]
    assert imap_subjects(mail_servers, ALICE, "Archive") == ["Invoice 1001"]
    page.keyboard.press("/")
    page.keyboard.type("invoice")
    page.keyboard.press("Enter")
    expect(page.locator("#result-count")).to_have_text("1 found")
    expect(page.locator("tr.msg")).to_contain_text("Archive")


def test_save_and_resume_a_draft_then_send_it(page, mail_servers):
    plain_text_compose()
    log_in(page)
    page.click("#compose-link")
    page.fill("#to", "bob@example.test")
    page.fill("#subject", "Plans for next year")
    page.fill("#body", "First thoughts:\n- more tests")
    page.click("#save-draft")
    expect(page.locator(".flash")).to_contain_text("Draft saved.")
    page.click("#folder-list >> text=Drafts")
    page.click("text=Plans for next year")
    page.click("#edit-draft")
    expect(page.locator("#subject")).to_have_value("Plans for next year")
    expect(page.locator("#body")).to_have_value("First thoughts:\n- more tests")
    page.locator("#body").press("End")
    page.locator("#body").type("\n- fewer meetings")
    page.click("#send")
    expect(page.locator(".flash")).to_contain_text("Message sent.")
    eventually(lambda: "Plans for next year" in imap_subjects(mail_servers, BOB))
    assert imap_subjects(mail_servers, ALICE, "Drafts") == []


def test_a_vacation_reply_is_sent_once(page, mail_servers):
    log_in(page)
    page.click("text=Settings")
    page.check("#vacation-enabled")
    page.fill("#vacation-body", "I am on holiday until the 14th.")
    page.click("#save-settings")
    expect(page.locator(".flash")).to_contain_text("Settings saved.")
    for subject in ("First question", "Second question"):
        submit(mail_servers, sample_message(subject=subject), BOB, [ALICE])
    eventually(lambda: "Auto: First question" in imap_subjects(mail_servers, BOB))
    time.sleep(0.5)
    assert imap_subjects(mail_servers, BOB) == ["Auto: First question"]


def test_new_mail_appears_without_reloading(page, mail_servers):
    log_in(page)
    page.evaluate("window.stillThisPage = true")
    expect(page.locator("tr.msg")).to_have_count(0)
    submit(mail_servers, sample_message(subject="Breaking news"), BOB, [ALICE])
    expect(page.locator("tr.msg", has_text="Breaking news")).to_be_visible(timeout=TIMEOUT_MS)
    assert page.evaluate("window.stillThisPage") is True
    expect(page.locator("#folder-list .current .count")).to_have_text("1")


def test_hostile_messages_run_no_script_and_load_nothing_remote(page, alice):
    for path in HOSTILE:
        store.deliver(path.read_bytes(), [ALICE], "mallory@evil.test")
    inbox = folder_id(alice.id, "INBOX")
    log_in(page)
    for item in store.message_page(alice.id, inbox).items:
        page.goto(f"/mail/m/{inbox}/{item.uid}/")
        page.wait_for_load_state("load")
        expect(page.locator("#subject")).to_contain_text("Hostile")
        frame = page.locator("#html-body")
        if frame.count():
            handle = frame.element_handle()
            assert handle is not None
            inner = handle.content_frame()
            assert inner is not None
            inner.wait_for_load_state("load")
            inner.hover("body")
            assert inner.evaluate("typeof window.pwned") == "undefined"
            for link in inner.locator("a").all():
                link.click(modifiers=["Control"])  # javascript: links were stripped: nothing runs
        assert page.evaluate("typeof window.pwned") == "undefined", item.subject
        assert page.title() == f"{item.subject} · Mailhost"


def test_on_a_phone_sized_screen_the_folder_list_folds_away(browser, live_server, users, mail_servers):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    tab = context.new_page()
    submit(mail_servers, sample_message(subject="Seen on a phone"), BOB, [ALICE])
    log_in(tab)
    expect(tab.locator("#sidebar")).to_be_hidden()
    expect(tab.locator("tr.msg", has_text="Seen on a phone")).to_be_visible()
    tab.click("#menu-toggle")
    expect(tab.locator("#sidebar")).to_be_visible()
    shot(tab, "inbox-phone")
    context.close()


def test_the_inbox_in_italian_when_the_browser_asks_for_it(browser, live_server, users, mail_servers):
    context = browser.new_context(base_url=live_server.url, locale="it-IT", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    submit(mail_servers, sample_message(subject="Pranzo venerdì?"), BOB, [ALICE])
    tab.goto("/mail/")
    expect(tab.locator("button[type=submit]")).to_have_text("Accedi")
    tab.fill("input[name=address]", ALICE)
    tab.fill("input[name=password]", PASSWORDS[ALICE])
    tab.click("button[type=submit]")
    expect(tab.locator("h1")).to_contain_text("Posta in arrivo")
    expect(tab.locator("#compose-link")).to_have_text("Scrivi")
    expect(tab.locator("#folder-list")).to_contain_text("Cestino")
    expect(tab).to_have_title("(1) Posta in arrivo · Mailhost")
    expect(tab.locator("tr.msg .date time")).to_have_text(re.compile(r"^\d\d/\d\d/\d{4} \d\d:\d\d$"))
    shot(tab, "inbox-italian")
    context.close()


# The page's own Notification is the browser's; this wraps it to count what the page shows.
NOTIFICATION_SPY = """
(() => {
  const Real = window.Notification;
  window.__notices = [];
  function Spy(title, options) { window.__notices.push({title, body: (options || {}).body}); return new Real(title, options); }
  Object.defineProperty(Spy, "permission", {get: () => Real.permission});
  Spy.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Spy;
})();
"""


def test_new_mail_while_the_list_is_open_counts_in_the_title_and_notifies(browser, live_server, users, mail_servers):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    context.grant_permissions(["notifications"], origin=live_server.url)
    context.add_init_script(NOTIFICATION_SPY)
    tab = context.new_page()
    log_in(tab)
    expect(tab).to_have_title("Inbox · Mailhost")
    assert tab.evaluate("Notification.permission") == "granted"
    expect(tab.locator("#notify-ask")).to_be_hidden()  # nothing left to ask
    submit(mail_servers, sample_message(subject="Arrived while you looked"), BOB, [ALICE])
    expect(tab).to_have_title("(1) Inbox · Mailhost", timeout=TIMEOUT_MS)  # the list polls every few seconds
    expect(tab.locator("tr.msg.unseen", has_text="Arrived while you looked")).to_be_visible()
    notices = tab.evaluate("window.__notices")
    assert len(notices) == 1 and notices[0]["title"] == "New mail", notices
    assert notices[0]["body"].endswith(": Arrived while you looked"), notices  # sender: subject
    submit(mail_servers, sample_message(subject="And one more"), BOB, [ALICE])
    expect(tab).to_have_title("(2) Inbox · Mailhost", timeout=TIMEOUT_MS)
    assert [n["body"].split(": ", 1)[1] for n in tab.evaluate("window.__notices")] == [
        "Arrived while you looked",
        "And one more",
    ]
    context.close()


def test_notifications_are_asked_for_on_a_click_and_only_then(browser, live_server, users):
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    log_in(tab)
    assert tab.evaluate("Notification.permission") == "default"
    ask = tab.locator("#notify-ask")
    expect(ask).to_be_visible()
    ask.click()  # headless Chromium answers the prompt itself (denied): the button goes either way
    expect(ask).to_be_hidden()
    context.close()


def test_axe_finds_no_serious_violations_on_the_inbox_a_message_and_compose(page, mail_servers):
    submit(mail_servers, with_attachments(subject="Checked by axe"), BOB, [ALICE])
    log_in(page)
    assert serious_violations(page) == []
    assert _axe_sees(page)
    page.locator("tr.msg a", has_text="Checked by axe").click()
    expect(page.locator("#subject")).to_have_text("Checked by axe")
    assert serious_violations(page) == []
    page.click("#reply")
    expect(page.locator("#compose-form")).to_be_visible()
    assert serious_violations(page) == []


def _axe_sees(page: Page) -> bool:
    """The check can fail: an unlabelled field added to the page is reported."""
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<input id=axe-probe>')")
    found = serious_violations(page)
    page.evaluate("document.getElementById('axe-probe').remove()")
    return any(v.startswith("label ") for v in found)


def test_focus_stays_on_its_message_when_new_mail_refreshes_the_list_and_goes_to_the_outcome_of_an_action(
    page, mail_servers
):
    submit(mail_servers, sample_message(subject="Keep my focus"), BOB, [ALICE])
    log_in(page)
    link = page.locator("tr.msg .subj a", has_text="Keep my focus")
    link.focus()
    submit(mail_servers, sample_message(subject="Pushes the rows down"), BOB, [ALICE])
    expect(page.locator("tr.msg", has_text="Pushes the rows down")).to_be_visible(timeout=TIMEOUT_MS)
    expect(link).to_be_focused()
    page.locator("tr.msg", has_text="Keep my focus").locator("input[name=uid]").check()
    page.click("#bulk-delete")  # done in place: the outcome, with its Undo, takes the focus
    expect(page.locator("#undo-text")).to_contain_text("Moved 1 to Trash.")
    expect(page.locator("#undo")).to_be_focused()
    page.keyboard.press("?")
    expect(page.locator("#shortcut-help")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#shortcut-help")).to_be_hidden()
    expect(page.locator("#undo")).to_be_focused()
