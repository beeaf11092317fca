"""Received TLS reports on the dashboard, per domain: organisation, period,
sessions and failure types; only for the domain's admins and the
superuser. In Chromium: test_tls_reports_browser.py."""

from __future__ import annotations

import datetime
import json

import pytest

from mailboxes import store, tlsrpt_report
from tests.dashboard.conftest import Team, client_as, make_team

from .test_tlsrpt_received import outbound_report


def receive_some_reports() -> None:
    """Three reporters' days about example.test; one about other.test."""
    senders = [
        ("Google Inc.", "smtp-tls-reporting@google.com"),
        ("Microsoft Corporation", "tlsrpt-noreply@microsoft.com"),
        ("mail.example.org", "postmaster@mail.example.org"),
    ]
    for days_ago, (organization, contact) in enumerate(senders):
        report = outbound_report(report_id=f"{days_ago}.{organization}")
        report.update({"organization-name": organization, "contact-info": contact})
        begin = datetime.datetime(2026, 12, 6 - days_ago, tzinfo=datetime.UTC)
        report["date-range"] = {
            "start-datetime": begin.isoformat(),
            "end-datetime": (begin + datetime.timedelta(seconds=86399)).isoformat(),
        }
        if days_ago == 2:  # a clean day: no failures at all
            report["policies"][0].pop("failure-details")
            report["policies"][0]["summary"] = {
                "total-successful-session-count": 1204,
                "total-failure-session-count": 0,
            }
        store.record_received_tls_report(
            tlsrpt_report.parse(json.dumps(report).encode(), tlsrpt_report.JSON_TYPE), "mail" if days_ago else "https"
        )
    other = outbound_report("other.test", report_id="other")
    store.record_received_tls_report(tlsrpt_report.parse(json.dumps(other).encode(), tlsrpt_report.JSON_TYPE), "mail")


@pytest.fixture
def team(db) -> Team:  # type: ignore[no-untyped-def]
    team = make_team()
    receive_some_reports()
    return team


@pytest.mark.parametrize("role", ["superuser", "admin_a"])
def test_the_domain_s_admins_see_each_report_with_its_sessions_and_failure_types(team: Team, role: str) -> None:
    page = client_as(team, role).get("/manage/domains/example.test/tls-reports/").content.decode()
    table = page[page.index('id="tls-reports"') :]
    assert table.index("Google Inc.") < table.index("Microsoft Corporation") < table.index("mail.example.org")
    assert "Dec 6, 00:00 – Dec 6, 23:59 UTC" in table
    assert '<span class="badge warn">certificate-expired</span> 2' in table
    assert '<span class="badge warn">certificate-host-mismatch</span> 1' in table
    assert "1204" in table
    assert table.split("</table>")[0].count("<tr>") == 1 + 3  # other.test's report is not among them
    assert 'id="domain-tls-reports"' in client_as(team, role).get("/manage/domains/example.test/").content.decode()


@pytest.mark.parametrize("role, status", [("admin_b", 404), ("ordinary", 403)])
def test_nobody_else_sees_a_domain_s_tls_reports(team: Team, role: str, status: int) -> None:
    response = client_as(team, role).get("/manage/domains/example.test/tls-reports/")
    assert response.status_code == status
    assert b"Google" not in response.content


def test_each_domain_shows_its_own_reports_and_one_without_any_says_so(team: Team) -> None:
    page = client_as(team, "admin_b").get("/manage/domains/other.test/tls-reports/").content.decode()
    assert page.split("</table>")[0].count("<tr>") == 1 + 1 and "No TLS report" not in page
    store.admin_create_domain(team.actor("superuser"), "third.test")
    page = client_as(team, "superuser").get("/manage/domains/third.test/tls-reports/").content.decode()
    assert "No TLS report has arrived for this domain yet." in page
