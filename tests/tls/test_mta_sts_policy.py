"""Our own MTA-STS policy (RFC 8461): a domain admin chooses the mode in the
dashboard, the web app serves the policy on mta-sts.<domain>, and the DNS
page lists the _mta-sts TXT record whose id changes with the mode."""

from __future__ import annotations

import re

import pytest

from protocols.relay import mtasts
from tests.dashboard.conftest import Team, client_as, make_team


@pytest.fixture
def team(db, settings) -> Team:  # type: ignore[no-untyped-def]
    # the hosted domains' mta-sts names added to ALLOWED_HOSTS, as the README says
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, ".example.test", ".other.test"]
    return make_team()


def _set_mode(team: Team, mode: str, role: str = "admin_a") -> int:
    return (
        client_as(team, role)
        .post(
            "/manage/domains/example.test/",
            {"default_quota": "0", "trash_retention_days": "30", "catch_all": "", "mta_sts_mode": mode},
        )
        .status_code
    )


def _policy(client, host: str = "mta-sts.example.test"):  # type: ignore[no-untyped-def]
    return client.get("/.well-known/mta-sts.txt", HTTP_HOST=host)


def _txt_id(team: Team) -> str:
    page = client_as(team, "admin_a").get("/manage/domains/example.test/dns/").content.decode()
    found = re.search(r"_mta-sts\.example\.test\. \d+ IN TXT &quot;v=STSv1; id=(\w+)&quot;", page)
    assert found, page
    return found.group(1)


def test_a_domain_admin_enforces_a_policy_that_the_web_app_serves_and_the_relay_would_accept(
    team: Team, settings
) -> None:
    settings.MAIL_HOSTNAME = "mail.example.test"
    anonymous = client_as(team, None)
    assert _policy(anonymous).status_code == 404  # off by default
    assert _set_mode(team, "enforce") == 302
    response = _policy(anonymous)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert mtasts.parse_policy(response.content.decode()) == mtasts.Policy("enforce", ("mail.example.test",), 604800)
    assert _policy(anonymous, "mta-sts.other.test").status_code == 404  # that domain publishes none
    assert _policy(anonymous, "example.test").status_code == 404  # only on the mta-sts host


def test_the_dns_page_lists_the_txt_record_whose_id_changes_with_the_mode(team: Team) -> None:
    page = client_as(team, "admin_a").get("/manage/domains/example.test/dns/").content.decode()
    assert "_mta-sts" not in page  # no policy, no record
    _set_mode(team, "testing")
    first = _txt_id(team)
    assert (
        "mta-sts.example.test." in client_as(team, "admin_a").get("/manage/domains/example.test/dns/").content.decode()
    )
    _set_mode(team, "testing")
    assert _txt_id(team) == first  # saved again unchanged: same id
    _set_mode(team, "enforce")
    assert _txt_id(team) != first


def test_an_unknown_mode_is_refused_and_another_domain_admin_cannot_set_one(team: Team) -> None:
    assert _set_mode(team, "strict") == 200  # the form shows the error
    assert _set_mode(team, "enforce", role="admin_b") in (403, 404)
    assert _policy(client_as(team, None)).status_code == 404
