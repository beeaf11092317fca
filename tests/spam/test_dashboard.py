"""The spam pages of the dashboard and the webmail's "never Junk mail from"
list, through the real web app (Django's test client), fed by real SMTP
transactions against the suite's rspamd."""

from __future__ import annotations

import smtplib

import pytest
from django.test import Client

from mailboxes import store
from mailboxes.models import Account

from .conftest import GTUBE_ADD_HEADER, GTUBE_REJECT, message
from .test_scan_at_data import LUNCH, send


def signed_in(account_id: int) -> Client:
    client = Client()
    client.force_login(Account.objects.get(pk=account_id))
    return client


@pytest.fixture
def root(users):  # type: ignore[no-untyped-def]
    return store.create_account("root@example.test", "root-secret", superuser=True)


def test_the_spam_page_counts_each_outcome_and_shows_the_last_rejection_with_its_symbols(
    scanning, smtp_ports, root, alice
):
    for body in (GTUBE_REJECT, GTUBE_ADD_HEADER, LUNCH):
        send(smtp_ports["smtp"], message(body), sender="bulk@remote.test")
    page = signed_in(root.id).get("/manage/spam/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "rejected (1)" in html and "junk (1)" in html and "delivered (1)" in html
    rejections = html.split('id="spam-rejections"')[1]
    assert "bulk@remote.test" in rejections and "GTUBE" in rejections and "Gtube pattern" in rejections


def test_an_account_whose_outgoing_mail_is_rejected_is_flagged_on_the_spam_page(scanning, smtp_ports, root, bob):
    with smtplib.SMTP("127.0.0.1", smtp_ports["submission"], timeout=30) as smtp:
        smtp.login("bob@example.test", "bob-secret")
        with pytest.raises(smtplib.SMTPDataError):
            smtp.sendmail("bob@example.test", ["friend@remote.test"], message(GTUBE_REJECT, sender="bob@example.test"))
    flagged = signed_in(root.id).get("/manage/spam/").content.decode().split('id="spam-flagged"')[1]
    assert f'href="/manage/accounts/{bob.id}/"' in flagged.split("</table>")[0]


def test_the_spam_page_warns_when_rspamd_did_not_answer_today(scanning, settings, smtp_ports, root, alice):
    settings.MAIL_RSPAMD_URL = "http://127.0.0.1:9"  # discard: nothing answers there
    assert send(smtp_ports["smtp"], message(LUNCH))[0] == 250
    assert b'id="spam-unchecked"' in signed_in(root.id).get("/manage/spam/").content


def test_the_spam_page_is_for_superusers_only(root, alice):
    store.admin_set_roles(store.admin_actor(root.id), alice.id, admin_domains=["example.test"])  # type: ignore[arg-type]
    assert signed_in(alice.id).get("/manage/spam/").status_code == 403


FORM = {
    "enabled": "on",
    "reject_score": "12",
    "junk_score": "5.5",
    "greylist_score": "",
    "greylisting": "on",
    "allow": "Friends.Test\nboss@partner.test",
    "block": "pest.test",
}


def test_a_domain_admin_sets_the_spam_settings_of_their_domain_and_not_of_another(root, alice, charlie):
    store.admin_set_roles(store.admin_actor(root.id), alice.id, admin_domains=["example.test"])  # type: ignore[arg-type]
    web = signed_in(alice.id)
    assert web.post("/manage/domains/example.test/spam/", FORM).status_code == 302
    assert store.admin_spam_settings(store.admin_actor(root.id), "example.test") == store.SpamSettings(  # type: ignore[arg-type]
        True, 12.0, 5.5, None, True, ("friends.test", "boss@partner.test"), ("pest.test",)
    )
    assert web.post("/manage/domains/other.test/spam/", FORM).status_code == 404


def test_thresholds_that_do_not_rise_are_refused_with_the_reason(root):
    page = signed_in(root.id).post("/manage/domains/example.test/spam/", {**FORM, "reject_score": "3"})
    assert page.status_code == 200 and b"thresholds must rise" in page.content


def test_the_webmail_never_junk_list_is_saved_normalised_and_bad_entries_refused(alice):
    web = signed_in(alice.id)
    web.post("/mail/settings/spam", {"spam_allow": "News@Remote.Test\nfriends.test"})
    assert store.spam_allow_list(alice.id) == ("news@remote.test", "friends.test")
    web.post("/mail/settings/spam", {"spam_allow": "not an address!"})
    assert store.spam_allow_list(alice.id) == ("news@remote.test", "friends.test")
    assert b"friends.test" in web.get("/mail/settings/").content
