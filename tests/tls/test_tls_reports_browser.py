"""Received TLS reports in Chromium (the dashboard's browser fixture): the
admin goes from the domain's page to its reports; the screenshot is
docs/screenshots/dashboard-tls-reports.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dashboard.conftest import ROOT, ROOT_PASSWORD, make_team
from tests.dashboard.test_browser import CHROMIUM, SHOTS, log_in, page  # noqa: F401  (page: the browser fixture)

from .test_tls_reports_dashboard import receive_some_reports

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make apt-deps)"),
]


def test_in_chromium_the_admin_finds_the_reports_from_the_domain_page(page, transactional_db, settings) -> None:  # noqa: F811
    settings.MAIL_HOSTNAME = "mail.example.test"
    make_team()
    receive_some_reports()
    page.set_viewport_size({"width": 1280, "height": 760})
    log_in(page, ROOT, ROOT_PASSWORD)
    page.goto("/manage/domains/example.test/")
    page.click("#domain-tls-reports")
    page.wait_for_selector("#tls-reports")
    rows = page.locator("#tls-reports tbody tr")
    assert rows.count() == 3
    assert "certificate-host-mismatch" in rows.nth(0).inner_text()
    assert "1204" in rows.nth(2).inner_text()
    page.screenshot(path=str(SHOTS / "dashboard-tls-reports.png"), full_page=True)
