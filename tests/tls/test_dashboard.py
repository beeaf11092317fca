"""The dashboard's overview shows the superuser the server certificate's
names and expiry, and warns from 14 days before it expires."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocols.tls import generate_self_signed
from tests.dashboard.conftest import Team, client_as, make_team


@pytest.fixture
def team(db) -> Team:  # type: ignore[no-untyped-def]
    return make_team()


@pytest.mark.parametrize(("days", "warned"), [(10, True), (60, False)])
def test_the_overview_shows_the_certificate_names_and_expiry_and_warns_within_14_days(
    team: Team, settings, tmp_path: Path, days: int, warned: bool
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    generate_self_signed(cert, key, "mail.example.test", valid_days=days)
    settings.MAIL_TLS_CERT, settings.MAIL_TLS_KEY = str(cert), str(key)
    page = client_as(team, "superuser").get("/manage/").content.decode()
    assert 'id="certificate"' in page and "mail.example.test, localhost" in page
    assert (f'<span class="badge warn">in {days - 1} days</span>' in page) is warned
    assert f"in {days - 1} days" in page


def test_a_domain_admin_does_not_see_the_server_certificate(team: Team) -> None:
    page = client_as(team, "admin_a").get("/manage/").content.decode()
    assert 'id="certificate"' not in page
