"""The dashboard in a real browser (Debian's Chromium driven by Playwright)
against the live server: an administrator's first day, end to end. The
mail it sets up is then used over real IMAP, POP3 and SMTP listeners.

Screenshots of the overview, the account list and the DNS page are saved
to docs/screenshots/ (referenced from the README)."""

from __future__ import annotations

import imaplib
import poplib
import smtplib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone

from conftest import sample_message
from mailboxes import store
from tests.axe import serious_violations
from tests.markers import forbid_in_fast_run
from tests.servers import ROOT, InProcessServer

from .conftest import ROOT as ROOT_ADDRESS
from .conftest import ROOT_PASSWORD
from .dnsserver import TinyDns

playwright_api = pytest.importorskip("playwright.sync_api")

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
HOSTNAME = "mail.example.test"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make apt-deps)"),
]


@pytest.fixture
def page(live_server, monkeypatch) -> Iterator[playwright_api.Page]:  # type: ignore[name-defined]
    # Playwright's sync API keeps an event loop on this thread; the ORM calls
    # the test makes between browser steps are still plain synchronous code.
    forbid_in_fast_run("a browser")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        # Connections the test opened while Playwright's loop was running
        # belong to that context: close them here, or the test database
        # cannot be dropped at the end of the run.
        connections.close_all()
        context.close()
        browser.close()


def log_in(page, address: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/manage/login/")
    page.fill("input[name=address]", address)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def some_history(team) -> None:  # type: ignore[no-untyped-def]
    """A month of mail in a few mailboxes, so the overview has something to show."""
    superuser = team.actor("superuser")
    names = ["carol", "dave", "erin", "frank", "grace"]
    accounts = [
        store.admin_create_account(
            superuser, f"{n}@example.test", password="pw", quota=(i + 1) * 50_000, display_name=n.title()
        ).account
        for i, n in enumerate(names)
    ]
    now = timezone.now()
    for day in range(30):
        for i, account in enumerate(accounts):
            if (day + i) % 3 == 0 or (day % 7 == 0 and i < 3):
                body = "Notes.\r\n" * (40 + 13 * i + day)
                store.append(
                    account.id,
                    "INBOX",
                    sample_message(subject=f"Report {day}", body=body),
                    internal_date=now - timedelta(days=29 - day, hours=i),
                )
            if (day + 2 * i) % 5 == 0:
                store.append(
                    account.id,
                    "Sent",
                    sample_message(subject=f"Re: {day}"),
                    internal_date=now - timedelta(days=29 - day, hours=i),
                )
    for account, fill in zip(accounts, (0.97, 0.92)):  # two mailboxes nearly full
        used = store.get_account(account.address).used_bytes
        store.admin_update_account(superuser, account.id, quota=int(used / fill))


def test_an_administrators_first_day_in_the_browser(live_team, page, settings):
    settings.MAIL_HOSTNAME = HOSTNAME
    SHOTS.mkdir(parents=True, exist_ok=True)
    some_history(live_team)

    # An ordinary account is turned away at the door.
    log_in(page, "bob@example.test", "bob-secret")
    assert page.locator("text=no access to the dashboard").is_visible()

    log_in(page, ROOT_ADDRESS, ROOT_PASSWORD)
    page.wait_for_url("**/manage/")
    assert page.locator("h1").inner_text() == "Overview"

    # A new domain, created in the form, lands on its DNS page.
    page.click("nav >> text=Domains")
    page.click("text=New domain")
    page.fill("input[name=name]", "shop.test")
    page.fill("input[name=default_quota]", "500M")
    page.click("button:has-text('Create domain')")
    page.wait_for_url("**/manage/domains/shop.test/dns/")
    page.select_option("select[name=algorithm]", "ed25519")
    page.click("button:has-text('Generate a DKIM key')")
    zone = page.locator("pre.zone").inner_text()
    assert f"shop.test. 3600 IN MX 10 {HOSTNAME}." in zone
    assert "_imaps._tcp.shop.test. 3600 IN SRV" in zone and "mail._domainkey.shop.test. 3600 IN TXT" in zone
    key = store.active_dkim_key("shop.test")
    assert key is not None

    # "Check now" asks a DNS server (a tiny one on loopback) and shows what it found.
    published = {
        ("shop.test", "MX"): [f"10 {HOSTNAME}."],
        ("shop.test", "TXT"): ["v=spf1 mx -all"],
        ("mail._domainkey.shop.test", "TXT"): [key.dns_txt],
        ("_dmarc.shop.test", "TXT"): ["v=DMARC1; p=none"],
        ("autoconfig.shop.test", "CNAME"): [f"{HOSTNAME}."],
    }
    with TinyDns(published) as dns_server:
        settings.MAIL_DNS_NAMESERVERS = [dns_server.address]
        page.click("button:has-text('Check now')")
        page.wait_for_selector("text=In the DNS now")
        assert page.locator("td span.badge.found").count() == 4
        assert page.locator("td span.badge.different").count() == 1
        page.screenshot(path=str(SHOTS / "dashboard-dns.png"), full_page=True)

        # An account with a generated password, shown once.
        page.goto("/manage/accounts/new/?domain=shop.test")
        page.fill("input[name=address]", "dora@shop.test")
        page.fill("input[name=display_name]", "Dora Shop")
        page.click("button:has-text('Create account')")
        password = page.locator("#generated-password").inner_text().strip()
        dora = store.authenticate("dora@shop.test", password)
        assert dora is not None and dora.quota == 500 * 1024**2

        # An alias for it.
        page.goto("/manage/aliases/new/?domain=shop.test")
        page.fill("input[name=source]", "sales@shop.test")
        page.fill("textarea[name=targets]", "dora@shop.test")
        page.click("button:has-text('Create alias')")
        assert page.locator("td >> text=sales@shop.test").is_visible()

        # The new account logs in over IMAP and POP3 with that password, and
        # mail to the alias arrives over SMTP.
        with InProcessServer(["smtp", "imap", "pop3"]) as servers:
            with smtplib.SMTP("127.0.0.1", servers.ports["smtp"], timeout=10) as smtp:
                refused = smtp.sendmail(
                    "customer@example.org",
                    ["sales@shop.test"],
                    sample_message(subject="Order 42", sender="customer@example.org", to="sales@shop.test"),
                )
                assert refused == {}
            imap = imaplib.IMAP4("127.0.0.1", servers.ports["imap"], timeout=10)
            assert imap.login("dora@shop.test", password)[0] == "OK"
            imap.select("INBOX")
            _, found = imap.search(None, "SUBJECT", '"Order 42"')
            assert len(found[0].split()) == 1
            imap.logout()
            pop = poplib.POP3("127.0.0.1", servers.ports["pop3"], timeout=10)
            pop.user("dora@shop.test")
            assert pop.pass_(password).startswith(b"+OK")
            assert pop.stat()[0] == 1
            pop.quit()

    # The account list (largest first) and the overview, for the README.
    page.goto("/manage/accounts/?order=usage")
    assert page.locator("td >> text=dora@shop.test").is_visible()
    page.screenshot(path=str(SHOTS / "dashboard-accounts.png"), full_page=True)
    page.goto("/manage/")
    assert page.locator("svg rect.received").count() == 30
    page.screenshot(path=str(SHOTS / "dashboard-overview.png"), full_page=True)
    actions = [e.action for e in store.admin_audit_log(live_team.actor("superuser"), per_page=200).items]
    assert {"domain.create", "domain.dkim", "account.create", "alias.create"} <= set(actions)


def test_axe_finds_no_serious_violations_on_the_overview(live_team, page):
    some_history(live_team)
    log_in(page, ROOT_ADDRESS, ROOT_PASSWORD)
    page.wait_for_url("**/manage/")
    assert page.locator("h1").inner_text() == "Overview"
    assert serious_violations(page) == []
