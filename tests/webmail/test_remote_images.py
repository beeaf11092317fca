""" "Always load images from <sender>" (issue #24 item 3): the store's list,
when it is honoured (our own Authentication-Results says dmarc=pass for the
From: domain, or the mail was written here by one of our domains), the
button on the message page and the list in the settings."""

from __future__ import annotations

import pytest
from django.conf import settings

from mailboxes import store
from mailboxes.store.remote_images import author_verified

from .helpers import deliver_to

REMOTE = '<p>Hello</p><img src="https://tracker.example.net/pixel.png" alt="pixel">'


def html_mail(sender: str, auth: str = "") -> bytes:
    """An HTML message with one remote image, optionally under an Authentication-Results field."""
    return (
        f"{auth}From: Sender <{sender}>\r\nTo: alice@example.test\r\nSubject: News\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/html; charset=utf-8\r\n\r\n{REMOTE}\r\n"
    ).encode()


def ours(dmarc: str, domain: str) -> str:
    return (
        f"Authentication-Results: {settings.MAIL_HOSTNAME};\r\n\tspf=pass smtp.mailfrom=n@{domain};\r\n"
        f"\tdkim=pass header.d={domain};\r\n\tdmarc={dmarc} (p=none) header.from={domain}\r\n"
    )


@pytest.mark.parametrize(
    ("header", "hosted", "verified"),
    [
        (b"Authentication-Results: mx.test;\r\n\tdmarc=pass header.from=news.example.net\r\n\r\n", False, True),
        (b"Authentication-Results: mx.test; dmarc=fail (p=reject) header.from=news.example.net\r\n\r\n", False, False),
        (b"Authentication-Results: mx.test; dmarc=none header.from=news.example.net\r\n\r\n", False, False),
        (b"Authentication-Results: mx.test; dmarc=pass header.from=other.example.net\r\n\r\n", False, False),
        (b"Authentication-Results: elsewhere.test; dmarc=pass header.from=news.example.net\r\n\r\n", False, False),
        (b"Subject: written here\r\n\r\n", True, True),
        (b"Subject: imported from somewhere\r\n\r\n", False, False),
        (b"Authentication-Results: mx.test; dmarc=fail header.from=news.example.net\r\n\r\n", True, False),
    ],
)
def test_the_author_is_vouched_for_only_by_our_own_dmarc_pass_or_by_being_ours(header, hosted, verified):
    assert author_verified(header, "n@news.example.net", authserv_id="mx.test", hosted=hosted) is verified


def test_the_list_keeps_each_address_once_normalised_and_forgets_on_request(alice):
    assert store.allow_sender_images(alice.id, " News@Example.NET ") == "news@example.net"
    store.allow_sender_images(alice.id, "news@example.net")
    store.allow_sender_images(alice.id, "a@example.org")
    assert store.image_senders(alice.id) == ("a@example.org", "news@example.net")
    with pytest.raises(store.InvalidInput):
        store.allow_sender_images(alice.id, "not an address")
    assert store.forget_sender_images(alice.id, "NEWS@example.net") is True
    assert store.forget_sender_images(alice.id, "news@example.net") is False
    assert store.image_senders(alice.id) == ("a@example.org",)


def test_a_listed_sender_whose_mail_passed_dmarc_shows_images_without_asking(alice, alice_client):
    inbox, uid = deliver_to(alice.address, html_mail("n@news.example.net", ours("pass", "news.example.net")))
    page = alice_client.get(f"/mail/m/{inbox}/{uid}/").content.decode()
    assert 'id="remote-blocked"' in page and "Always load images from n@news.example.net" in page
    response = alice_client.post(f"/mail/m/{inbox}/{uid}/images")
    assert response.status_code == 302
    assert store.image_senders(alice.id) == ("n@news.example.net",)
    page = alice_client.get(f"/mail/m/{inbox}/{uid}/").content.decode()
    assert 'id="remote-blocked"' not in page and 'id="images-by-list"' in page
    assert f'src="/mail/m/{inbox}/{uid}/frame?images=1"' in page
    # another message from the same sender, later: loaded too
    inbox, later = deliver_to(alice.address, html_mail("n@news.example.net", ours("pass", "news.example.net")))
    assert "/frame?images=1" in alice_client.get(f"/mail/m/{inbox}/{later}/").content.decode()


def test_the_note_that_images_were_loaded_by_the_list_is_only_where_there_were_some(alice, alice_client):
    store.allow_sender_images(alice.id, "bob@example.test")
    plain = b"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: Plain\r\n\r\nNo images.\r\n"
    inbox, uid = deliver_to(alice.address, plain)
    assert 'id="images-by-list"' not in alice_client.get(f"/mail/m/{inbox}/{uid}/").content.decode()
    inbox, uid = deliver_to(alice.address, html_mail("bob@example.test"))
    assert 'id="images-by-list"' in alice_client.get(f"/mail/m/{inbox}/{uid}/").content.decode()


def test_mail_that_failed_dmarc_is_not_shown_with_images_whatever_the_list(alice, alice_client):
    store.allow_sender_images(alice.id, "n@news.example.net")
    inbox, uid = deliver_to(alice.address, html_mail("n@news.example.net", ours("fail", "news.example.net")))
    page = alice_client.get(f"/mail/m/{inbox}/{uid}/").content.decode()
    assert 'id="remote-blocked"' in page and 'id="images-unverified"' in page and "frame?images=1" not in page
    # nor can the button be forced for it
    store.forget_sender_images(alice.id, "n@news.example.net")
    alice_client.post(f"/mail/m/{inbox}/{uid}/images")
    assert store.image_senders(alice.id) == ()


def test_mail_without_our_checks_counts_only_from_our_own_domains(alice, alice_client):
    inbox, local = deliver_to(alice.address, html_mail("bob@example.test"))
    inbox, foreign = deliver_to(alice.address, html_mail("n@news.example.net"))
    assert "Always load images from bob@example.test" in alice_client.get(f"/mail/m/{inbox}/{local}/").content.decode()
    assert "Always load images" not in alice_client.get(f"/mail/m/{inbox}/{foreign}/").content.decode()


def test_the_button_and_the_list_are_the_accounts_own(alice, bob, alice_client, bob_client):
    inbox, uid = deliver_to(alice.address, html_mail("bob@example.test"))
    assert bob_client.post(f"/mail/m/{inbox}/{uid}/images").status_code == 404
    assert bob_client.get(f"/mail/m/{inbox}/{uid}/images").status_code == 405
    assert store.image_senders(bob.id) == () and store.image_senders(alice.id) == ()
    store.allow_sender_images(alice.id, "carol@example.test")
    bob_client.post("/mail/settings/images", {"remove": "carol@example.test"})
    assert store.image_senders(alice.id) == ("carol@example.test",)


def test_the_settings_list_the_senders_and_remove_one(alice, alice_client):
    store.allow_sender_images(alice.id, "bob@example.test")
    store.allow_sender_images(alice.id, "n@news.example.net")
    page = alice_client.get("/mail/settings/").content.decode()
    assert "bob@example.test" in page.split('id="image-senders"')[1] and 'value="n@news.example.net"' in page
    response = alice_client.post("/mail/settings/images", {"remove": "bob@example.test"})
    assert response.status_code == 302 and response["Location"].endswith("#image-senders")
    assert store.image_senders(alice.id) == ("n@news.example.net",)
