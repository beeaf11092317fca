"""The brute-force defence (store.login): one place, every door, every worker."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from mailboxes import store

from .conftest import ROOT, ROOT_PASSWORD, THRESHOLD
from .doors import MAIL_DOORS, WEB_DOORS, imap_login


def _clear(address: str) -> None:
    actor = store.admin_actor(store.get_account(ROOT).id)
    assert actor is not None
    store.admin_clear_login_block("account", address, actor=actor)


@pytest.mark.parametrize("door", MAIL_DOORS)
def test_failures_at_one_worker_block_the_account_at_the_other_through_each_mail_door(two_workers, root, door):
    one, two = two_workers
    attempt = MAIL_DOORS[door]
    store.set_apop_secret(ROOT, ROOT_PASSWORD)  # the APOP door's shared secret
    assert [attempt(one.ports, ROOT, f"guess-{n}") for n in range(THRESHOLD)] == ["fail"] * THRESHOLD
    assert attempt(two.ports, ROOT, ROOT_PASSWORD) == "blocked"  # right password, other process
    _clear(ROOT)
    assert attempt(two.ports, ROOT, ROOT_PASSWORD) == "ok"


@pytest.mark.parametrize("door", WEB_DOORS)
def test_failures_at_a_mail_worker_block_the_web_logins_and_the_reverse(two_workers, root, door, settings):
    settings.MAIL_LOGIN_MAX_FAILURES = THRESHOLD
    one, _two = two_workers
    attempt = WEB_DOORS[door]
    assert [imap_login(one.ports, ROOT, f"guess-{n}") for n in range(THRESHOLD)] == ["fail"] * THRESHOLD
    assert attempt({}, ROOT, ROOT_PASSWORD) == "blocked"
    _clear(ROOT)
    assert [attempt({}, ROOT, f"guess-{n}") for n in range(THRESHOLD)] == ["fail"] * THRESHOLD
    assert imap_login(one.ports, ROOT, ROOT_PASSWORD) == "blocked"  # the web's failures, seen by a worker
    _clear(ROOT)
    assert attempt({}, ROOT, ROOT_PASSWORD) == "ok"


def test_an_ip_with_too_many_failures_is_refused_for_every_account(users, settings):
    settings.MAIL_LOGIN_MAX_FAILURES_PER_IP = 4
    for n in range(4):
        with pytest.raises(store.LoginFailed):
            store.login(f"nobody{n}@example.test", "guess", protocol="imap", ip="192.0.2.7")
    with pytest.raises(store.LoginBlocked) as blocked:
        store.login("alice@example.test", "alice-secret", protocol="imap", ip="192.0.2.7")
    assert blocked.value.retry_after > time.time()
    assert (
        store.login("alice@example.test", "alice-secret", protocol="imap", ip="192.0.2.8").address
        == "alice@example.test"
    )


def test_a_blocked_account_still_logs_in_from_an_ip_it_used_before(users, settings):
    settings.MAIL_LOGIN_MAX_FAILURES = 3
    store.login("alice@example.test", "alice-secret", protocol="pop3", ip="198.51.100.1")
    for _ in range(3):
        with pytest.raises(store.LoginFailed):
            store.login("alice@example.test", "guess", protocol="imap", ip="203.0.113.9")
    with pytest.raises(store.LoginBlocked):
        store.login("alice@example.test", "alice-secret", protocol="imap", ip="203.0.113.10")
    assert store.login("alice@example.test", "alice-secret", protocol="imap", ip="198.51.100.1")
    assert {r.protocol for r in store.last_logins(users["alice@example.test"].id)} == {"pop3", "imap"}


def test_the_block_doubles_with_every_failure_past_the_threshold(users, settings):
    settings.MAIL_LOGIN_MAX_FAILURES, settings.MAIL_LOGIN_BLOCK_DELAY = 2, 10
    settings.MAIL_LOGIN_FAILURE_WINDOW = 3600
    delays = []
    for _ in range(5):
        store.record_failure("bob@example.test", "203.0.113.1", "imap")
        until = store.login_refusal("bob@example.test", "203.0.113.2")
        delays.append(None if until is None else round(until - time.time()))
    assert delays == [None, 10, 20, 40, 80]


def test_administrators_see_and_clear_blocks_on_the_dashboard_page(root, settings):
    settings.MAIL_LOGIN_MAX_FAILURES = 2
    for _ in range(2):
        Client().post("/mail/login/", {"address": "bob@example.test", "password": "guess"})
    admin = Client()
    assert admin.post("/manage/login/", {"address": ROOT, "password": ROOT_PASSWORD}).status_code == 302
    page = admin.get("/manage/blocks/").content.decode()
    assert "bob@example.test" in page and "account" in page
    response = admin.post("/manage/blocks/clear/", {"kind": "account", "value": "bob@example.test"})
    assert response.status_code == 302
    assert "may log in again" in admin.get("/manage/blocks/").content.decode()
    assert "<td>bob@example.test</td>" not in admin.get("/manage/blocks/").content.decode()
    assert Client().post("/mail/login/", {"address": "bob@example.test", "password": "bob-secret"}).status_code == 302


def test_a_domain_admin_sees_account_blocks_of_their_domains_only_and_no_ip_blocks(users, settings):
    settings.MAIL_LOGIN_MAX_FAILURES, settings.MAIL_LOGIN_MAX_FAILURES_PER_IP = 1, 2
    root = store.create_account(ROOT, ROOT_PASSWORD, superuser=True)
    boss = store.admin_actor(root.id)
    assert boss is not None
    store.admin_set_roles(boss, users["alice@example.test"].id, admin_domains=["example.test"])
    for address in ("bob@example.test", "charlie@other.test"):
        store.record_failure(address, "192.0.2.50", "imap")
    alice = store.admin_actor(users["alice@example.test"].id)
    assert alice is not None
    assert [(b.kind, b.value) for b in store.admin_login_blocks(actor=alice)] == [("account", "bob@example.test")]
    assert {(b.kind, b.value) for b in store.admin_login_blocks(actor=boss)} == {
        ("account", "bob@example.test"),
        ("account", "charlie@other.test"),
        ("ip", "192.0.2.50"),
    }
    with pytest.raises(store.NotPermitted):
        store.admin_clear_login_block("ip", "192.0.2.50", actor=alice)
    with pytest.raises(store.NotFound):
        store.admin_clear_login_block("account", "charlie@other.test", actor=alice)


# Spellings of root's address that name no account (RFC 5321 4.1.2 has no
# brackets, no trailing dot and no space in a login name): never logged in, and
# counted against root's budget. POP3 USER/APOP and POP2 HELO cannot carry a
# space (their parsers answer a syntax error: no login attempt at all).
ODD_SPELLINGS = [
    "<root@example.test>",
    "root@example.test.",
    "root@ example.test",
    "root @example.test",
    "<ROOT@Example.Test.>",
]
NO_SPACES = {"pop3-user-pass", "pop3-apop", "pop2-helo"}
ALL_DOORS = {**MAIL_DOORS, **WEB_DOORS}


@pytest.mark.parametrize("spelling", ODD_SPELLINGS)
@pytest.mark.parametrize("door", ALL_DOORS)
def test_an_odd_spelling_of_the_address_never_logs_in_and_spends_the_accounts_budget(
    two_workers, root, door, spelling, settings
):
    settings.MAIL_LOGIN_MAX_FAILURES = THRESHOLD
    one, _two = two_workers
    attempt = ALL_DOORS[door]
    store.set_apop_secret(ROOT, ROOT_PASSWORD)
    assert {attempt(one.ports, spelling, ROOT_PASSWORD) for _ in range(THRESHOLD)} == {"fail"}
    carried = not (door in NO_SPACES and " " in spelling)
    assert attempt(one.ports, ROOT, ROOT_PASSWORD) == ("blocked" if carried else "ok")


@pytest.mark.parametrize("spelling", ["ROOT@EXAMPLE.TEST", "Root@Example.Test", " root@example.test "])
@pytest.mark.parametrize("door", ALL_DOORS)
def test_case_and_surrounding_spaces_are_the_same_account_with_one_budget(two_workers, root, door, spelling, settings):
    settings.MAIL_LOGIN_MAX_FAILURES = THRESHOLD
    one, _two = two_workers
    attempt = ALL_DOORS[door]
    store.set_apop_secret(ROOT, ROOT_PASSWORD)
    if door in NO_SPACES:
        spelling = spelling.strip()  # their parsers take no spaces in a user name
    assert attempt(one.ports, spelling, ROOT_PASSWORD) == "ok"
    _forget_known_ips(ROOT)
    assert [attempt(one.ports, spelling, f"guess-{n}") for n in range(THRESHOLD)] == ["fail"] * THRESHOLD
    assert attempt(one.ports, ROOT, ROOT_PASSWORD) == "blocked"


def _forget_known_ips(address: str) -> None:
    """Drop the account's login records, so the loopback address is new to it again."""
    from mailboxes.models import LoginRecord

    LoginRecord.objects.filter(account__address=address).delete()


@pytest.mark.parametrize("door", WEB_DOORS)
def test_ipv6_clients_are_counted_per_64_and_ipv4_mapped_ones_as_ipv4(root, door, settings):
    settings.MAIL_LOGIN_MAX_FAILURES_PER_IP = 3
    attempt = WEB_DOORS[door]
    for n, ip in enumerate(["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff"]):
        assert attempt({}, f"nobody{n}@example.test", "guess", ip=ip) == "fail"
    assert attempt({}, ROOT, ROOT_PASSWORD, ip="2001:db8:1:2:a:b:c:d") == "blocked"
    assert attempt({}, ROOT, ROOT_PASSWORD, ip="2001:db8:1:3::1") == "ok"  # the next /64
    for n in range(3):
        assert attempt({}, f"nobody{n}@example.test", "guess", ip="::ffff:192.0.2.7") == "fail"
    assert attempt({}, "bob@example.test", "bob-secret", ip="192.0.2.7") == "blocked"
    assert [(b.kind, b.value) for b in store.admin_login_blocks(actor=_root_actor())] == [
        ("ip", "192.0.2.7"),
        ("ip", "2001:db8:1:2::/64"),
    ]
    store.admin_clear_login_block("ip", "2001:db8:1:2::/64", actor=_root_actor())
    assert attempt({}, ROOT, ROOT_PASSWORD, ip="2001:db8:1:2::5") == "ok"


def _root_actor() -> store.Actor:
    actor = store.admin_actor(store.get_account(ROOT).id)
    assert actor is not None
    return actor
