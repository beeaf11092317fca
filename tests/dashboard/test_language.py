"""The dashboard in Italian when the browser asks for it: the frame, the
pages, the forms' labels and the messages after an action."""

from __future__ import annotations

from .conftest import client_as


def test_the_overview_and_a_domain_page_are_in_italian(team):
    client = client_as(team, "superuser", HTTP_ACCEPT_LANGUAGE="it-IT,it;q=0.9")
    overview = client.get("/manage/").content.decode()
    assert '<html lang="it">' in overview and "<h1>Panoramica</h1>" in overview and ">Domini</a>" in overview
    domain = client.get("/manage/domains/example.test/").content.decode()
    for text in (
        "Quota predefinita",
        "Conserva Cestino e Indesiderata per (giorni)",
        "Salva impostazioni",
        "Chiavi di firma DKIM",
    ):
        assert text in domain, text
    assert "Default quota" not in domain


def test_a_message_after_an_action_is_in_italian(team):
    client = client_as(team, "superuser", HTTP_ACCEPT_LANGUAGE="it")
    answer = client.post(
        "/manage/domains/example.test/",
        {"default_quota": "1G", "trash_retention_days": "30", "active": "on", "max_accounts": "0"},
        follow=True,
    )
    assert "Impostazioni di example.test salvate." in answer.content.decode()


def test_the_dashboard_stays_in_english_by_default(team):
    overview = client_as(team, "superuser").get("/manage/").content.decode()
    assert "<h1>Overview</h1>" in overview and "Panoramica" not in overview
