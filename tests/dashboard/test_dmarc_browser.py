"""The DMARC page of a domain in a real browser: aggregate reports other
receivers mailed about example.test, shown as who sent mail as it (chart and
table); saved as docs/screenshots/dashboard-dmarc.png."""

from __future__ import annotations

import gzip

import pytest

from mailboxes import store
from tests.smtp.test_dmarc_reports import report_mail, report_xml

from .conftest import ROOT as ROOT_ADDRESS
from .conftest import ROOT_PASSWORD
from .test_browser import CHROMIUM, SHOTS, log_in, page  # noqa: F401

pytestmark = [pytest.mark.slow]


def test_an_administrator_sees_who_sends_mail_as_the_domain(live_team, page):  # noqa: F811
    assert CHROMIUM
    for reporter, report_id in (("Big Mailbox Provider", "r-1"), ("Other Receiver", "r-2")):
        assert (
            store.take_dmarc_report(
                report_mail(gzip.compress(report_xml(org=reporter, report_id=report_id)), "r.xml.gz")
            )
            == 1
        )
    log_in(page, ROOT_ADDRESS, ROOT_PASSWORD)
    page.wait_for_url("**/manage/")
    page.goto("/manage/domains/example.test/")
    page.click("#domain-dmarc")
    page.wait_for_url("**/manage/domains/example.test/dmarc/")
    assert page.locator("#dmarc-reports").inner_text() == "2"
    rows = page.locator("#dmarc-senders tbody tr")
    assert rows.count() == 6
    assert rows.nth(0).locator("td").all_inner_texts() == [
        "192.0.2.1",
        "Big Mailbox Provider",
        "40",
        "100%",
        "100%",
        "100%",
    ]
    assert rows.nth(5).locator("td").all_inner_texts()[2:] == ["5", "0%", "0%", "0%"]
    # the chart: one bar a source, the biggest full length, and the all-failing ones red only
    assert page.locator("#dmarc-chart rect.delivered").count() == 6
    assert page.locator("#dmarc-chart rect.delivered").first.get_attribute("width") == "520.0"
    assert page.locator("#dmarc-chart rect.rejected").last.get_attribute("width") == "65.0"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard-dmarc.png"), full_page=True)

    # charlie administers other.test only: example.test is not there for him
    log_in(page, "charlie@other.test", "charlie-secret")
    response = page.goto("/manage/domains/example.test/dmarc/")
    assert response is not None and response.status == 404
