"""The webmail in the reader's language: Italian from the browser's
Accept-Language, special folders named in it, sizes and dates in its format,
and a choice in the settings that wins over the browser's."""

from __future__ import annotations

import re

from conftest import sample_message

from .helpers import deliver_to, folder_id


def test_the_inbox_is_in_italian_when_the_browser_asks_for_it(alice, alice_client):
    deliver_to(alice.address, sample_message(subject="Ciao", body="x" * 2000 + "\r\n"))
    inbox = folder_id(alice.id, "INBOX")
    page = alice_client.get(f"/mail/f/{inbox}/", HTTP_ACCEPT_LANGUAGE="it-IT,it;q=0.9,en;q=0.5").content.decode()
    assert '<html lang="it">' in page
    assert "<title>(1) Posta in arrivo · Mailhost</title>" in page
    for text in (
        ">Scrivi<",
        ">Cestino<",
        ">Inviati<",
        ">Bozze<",
        ">Indesiderata<",
        ">Archivio<",
        "1 messaggio",
        "1 non letti",
        "Segna come letti",
    ):
        assert text in page, text
    assert re.search(r'class="size">\d,\d\xa0KB<', page)  # a decimal comma
    assert re.search(r'class="date"><time [^>]*>\d\d/\d\d/\d{4} \d\d:\d\d<', page)  # day first
    assert "Mark read" not in page and ">Trash<" not in page


def test_english_is_the_default_and_the_folders_keep_their_english_names(alice, alice_client):
    page = alice_client.get(f"/mail/f/{folder_id(alice.id, 'INBOX')}/").content.decode()
    assert '<html lang="en">' in page and ">Trash<" in page and "Mark read" in page and "Posta" not in page


def test_the_language_chosen_in_the_settings_wins_over_the_browser(alice, alice_client):
    settings = alice_client.get("/mail/settings/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert 'id="language-form"' in settings and "Salva lingua" in settings
    answer = alice_client.post(
        "/i18n/setlang/", {"language": "en", "next": "/mail/settings/"}, HTTP_ACCEPT_LANGUAGE="it"
    )
    assert answer.status_code == 302 and answer["Location"] == "/mail/settings/"
    page = alice_client.get("/mail/settings/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert "Save language" in page and "Salva lingua" not in page


def test_flash_messages_are_translated(alice, alice_client):
    inbox = folder_id(alice.id, "INBOX")
    page = alice_client.post(f"/mail/f/{inbox}/act", {"action": "read"}, HTTP_ACCEPT_LANGUAGE="it", follow=True)
    assert "Seleziona prima uno o più messaggi." in page.content.decode()
