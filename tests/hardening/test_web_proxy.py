"""The web behind a reverse proxy: the client is the right-most
X-Forwarded-For hop that is not a trusted proxy (MAIL_TRUSTED_PROXIES), and
only when the peer is one; through the real web app."""

from __future__ import annotations

import pytest
from django.test import Client

from conftest import PASSWORDS
from mailboxes import store

from .conftest import ROOT, ROOT_PASSWORD
from .doors import WEB_DOORS

ALICE = "alice@example.test"
PROXY, CLIENT, OTHER = "10.0.0.2", "198.51.100.7", "198.51.100.8"


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "trusted", "client"),
    [
        (PROXY, CLIENT, ["10.0.0.0/8"], CLIENT),
        (PROXY, f"203.0.113.66, {CLIENT}", ["10.0.0.0/8"], CLIENT),  # the left hop is the client's to forge
        (PROXY, f"{CLIENT}, 10.0.0.3", ["10.0.0.0/8"], CLIENT),  # two proxies
        (PROXY, f"{CLIENT}, 10.0.0.3", ["10.0.0.2", "10.0.0.3"], CLIENT),  # addresses, not networks
        ("::ffff:10.0.0.2", "[2001:db8::7]:4711", ["10.0.0.2"], "2001:db8::7"),
        (PROXY, "", ["10.0.0.0/8"], PROXY),
        (PROXY, "not-an-address", ["10.0.0.0/8"], PROXY),
        ("192.0.2.9", CLIENT, ["10.0.0.0/8"], "192.0.2.9"),  # not a proxy of ours: the header is ignored
        (PROXY, CLIENT, [], PROXY),  # no proxy trusted
    ],
)
def test_a_web_login_is_recorded_from_the_client_the_trusted_proxies_name(
    users, settings, peer, forwarded_for, trusted, client
):
    settings.MAIL_TRUSTED_PROXIES = trusted
    assert WEB_DOORS["webmail"]({}, ALICE, PASSWORDS[ALICE], ip=peer, forwarded_for=forwarded_for) == "ok"
    assert [r.ip for r in store.last_logins(users[ALICE].id)] == [client]


@pytest.mark.parametrize("door", WEB_DOORS)
def test_failures_through_a_trusted_proxy_block_that_client_and_not_the_proxys_other_clients(root, settings, door):
    settings.MAIL_TRUSTED_PROXIES, settings.MAIL_LOGIN_MAX_FAILURES_PER_IP = [PROXY], 3
    attempt = WEB_DOORS[door]
    for n in range(3):
        assert attempt({}, f"nobody{n}@example.test", "guess", ip=PROXY, forwarded_for=CLIENT) == "fail"
    assert attempt({}, ROOT, ROOT_PASSWORD, ip=PROXY, forwarded_for=CLIENT) == "blocked"
    assert attempt({}, ROOT, ROOT_PASSWORD, ip=PROXY, forwarded_for=f"{OTHER}, {CLIENT}") == "blocked"  # forged
    assert attempt({}, ROOT, ROOT_PASSWORD, ip=PROXY, forwarded_for=OTHER) == "ok"


@pytest.mark.parametrize("door", WEB_DOORS)
def test_a_forwarded_for_header_from_an_untrusted_peer_does_not_escape_its_block(root, settings, door):
    settings.MAIL_TRUSTED_PROXIES, settings.MAIL_LOGIN_MAX_FAILURES_PER_IP = [PROXY], 3
    attempt = WEB_DOORS[door]
    for n in range(3):
        assert attempt({}, f"nobody{n}@example.test", "guess", ip=CLIENT, forwarded_for=f"192.0.2.{n}") == "fail"
    assert attempt({}, ROOT, ROOT_PASSWORD, ip=CLIENT, forwarded_for=OTHER) == "blocked"


def test_a_wrong_old_password_in_the_webmail_settings_counts_against_the_forwarded_client(users, settings):
    settings.MAIL_TRUSTED_PROXIES, settings.MAIL_LOGIN_MAX_FAILURES_PER_IP = [PROXY], 2
    client = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)
    assert client.post("/mail/login/", {"address": ALICE, "password": PASSWORDS[ALICE]}).status_code == 302
    for _ in range(2):
        client.post("/mail/settings/password", {"old": "guess", "new": "new-secret-1", "again": "new-secret-1"})
    assert (
        WEB_DOORS["webmail"]({}, "bob@example.test", PASSWORDS["bob@example.test"], ip=PROXY, forwarded_for=CLIENT)
        == "blocked"
    )
    assert (
        WEB_DOORS["webmail"]({}, "bob@example.test", PASSWORDS["bob@example.test"], ip=PROXY, forwarded_for=OTHER)
        == "ok"
    )
