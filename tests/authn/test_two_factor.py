"""Two-factor sign-in (issue #21): a TOTP authenticator and recovery codes
for the webmail and the dashboard (one login flow), each code accepted once,
wrong codes counted by the login throttle; once it is on, the account's own
password opens no mail door (IMAP, POP3, POP2, submission) and each door
says to use an app password, which still opens it."""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import socket
import time
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from django.core.management import call_command
from django.test import Client
from django.test.utils import override_settings

from conftest import PASSWORDS
from mailboxes import store
from mailboxes.models import Account, AuditEntry
from tests.servers import InProcessServer
from tests.webmail.helpers import signed_in

ALICE = "alice@example.test"
IP = "192.0.2.9"


def turn_on(address: str = ALICE) -> pyotp.TOTP:
    """`manage.py twofactor --totp`: the authenticator its printed URI sets up."""
    out = StringIO()
    call_command("twofactor", address, "--totp", stdout=out)
    uri = out.getvalue().splitlines()[0]
    assert uri.startswith("otpauth://totp/") and parse_qs(urlsplit(uri).query)["secret"]
    return pyotp.parse_uri(uri)  # type: ignore[return-value]


def app_password(doors: str = "imap,pop3,smtp") -> str:
    out = StringIO()
    call_command("apppassword", ALICE, "--name", "Mail client", "--doors", doors, stdout=out)
    return out.getvalue().strip()


def pop2_helo(port: int, password: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        f = sock.makefile("rwb")
        f.readline()
        f.write(f"HELO {ALICE} {password}\r\n".encode())
        f.flush()
        return f.readline()


def test_after_two_factor_is_on_the_own_password_is_refused_at_every_mail_door_and_an_app_password_opens_them(
    users,
) -> None:
    turn_on()
    password, own = app_password(), PASSWORDS[ALICE]
    with InProcessServer(["submission", "imap", "pop3", "pop2"]) as server:
        imap = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
        with pytest.raises(imaplib.IMAP4.error, match=r"\[AUTHENTICATIONFAILED\].*app password"):
            imap.login(ALICE, own)
        imap.login(ALICE, password)
        imap.logout()

        pop = poplib.POP3("127.0.0.1", server.ports["pop3"])
        pop.user(ALICE)
        with pytest.raises(poplib.error_proto, match=r"\[AUTH\].*app password"):
            pop.pass_(own)
        pop.user(ALICE)
        pop.pass_(password)
        pop.quit()

        assert b"app password" in pop2_helo(server.ports["pop2"], own)
        assert pop2_helo(server.ports["pop2"], password).startswith(b"#")

        with smtplib.SMTP("127.0.0.1", server.ports["submission"]) as smtp:
            with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                smtp.login(ALICE, own)
            assert refused.value.smtp_code == 535 and b"5.7.8" in refused.value.smtp_error
            assert b"app password" in refused.value.smtp_error
            smtp.login(ALICE, password)


def test_a_wrong_password_of_a_two_factor_account_gets_the_plain_refusal(users) -> None:
    turn_on()
    with pytest.raises(store.LoginFailed) as refused:
        store.login(ALICE, "not-the-password", protocol="imap", ip=IP)
    assert not isinstance(refused.value, store.AppPasswordRequired)


def test_the_own_password_refused_at_a_mail_door_counts_as_a_failed_login(users) -> None:
    turn_on()
    with pytest.raises(store.AppPasswordRequired):
        store.login(ALICE, PASSWORDS[ALICE], protocol="smtp", ip=IP)
    assert list(AuditEntry.objects.filter(action="login.failed").values_list("target", "detail__protocol")) == [
        (ALICE, "smtp")
    ]


def test_a_code_is_accepted_once_and_a_replay_within_its_window_is_refused(users) -> None:
    totp = turn_on()
    code = totp.now()
    assert store.check_second_factor(users[ALICE].id, code, protocol="web", ip=IP)
    assert not store.check_second_factor(users[ALICE].id, code, protocol="web", ip=IP)
    earlier = totp.at(time.time() - 30)
    assert not store.check_second_factor(users[ALICE].id, earlier, protocol="web", ip=IP)
    assert store.check_second_factor(users[ALICE].id, totp.at(time.time() + 30), protocol="web", ip=IP)


def test_a_recovery_code_signs_in_once(users) -> None:
    me = users[ALICE].id
    enrolment = store.begin_totp(me)
    codes = store.confirm_totp(me, pyotp.TOTP(enrolment.secret).now())
    assert len(set(codes)) == 10 and store.recovery_codes_left(me) == 10
    assert store.check_second_factor(me, codes[3], protocol="web", ip=IP)
    assert not store.check_second_factor(me, codes[3], protocol="web", ip=IP)
    assert store.recovery_codes_left(me) == 9


def test_enrolment_needs_a_right_code_before_anything_changes(users) -> None:
    me = users[ALICE].id
    store.begin_totp(me)
    with pytest.raises(store.InvalidInput):
        store.confirm_totp(me, "000000")
    assert not store.two_factor_enabled(me)
    assert store.login(ALICE, PASSWORDS[ALICE], protocol="imap", ip=IP).address == ALICE


@override_settings(MAIL_LOGIN_MAX_FAILURES=3)
def test_wrong_codes_count_in_the_login_throttle_even_from_the_client_that_gave_the_password(users) -> None:
    totp = turn_on()
    store.login(ALICE, PASSWORDS[ALICE], protocol="web", ip=IP)  # the IP is now one alice logged in from
    for _ in range(3):
        assert not store.check_second_factor(users[ALICE].id, "123456", protocol="web", ip=IP)
    with pytest.raises(store.LoginBlocked):
        store.check_second_factor(users[ALICE].id, totp.now(), protocol="web", ip=IP)


@pytest.mark.parametrize(("login_url", "home"), [("/mail/login/", "/mail/"), ("/manage/login/", "/manage/")])
def test_the_webmail_and_the_dashboard_sign_in_only_after_the_code(users, login_url: str, home: str) -> None:
    address, password = ALICE, PASSWORDS[ALICE]
    if home == "/manage/":
        address, password = "root@example.test", "root-secret-1"
        call_command("addaccount", address, "--password", password, "--superuser", stdout=StringIO())
    totp = turn_on(address)
    client = Client()
    step = client.post(login_url, {"address": address, "password": password})
    assert step.status_code == 302 and step["Location"] == "/mail/login/code"
    assert "/login/" in client.get(home)["Location"]  # half-way is not signed in
    wrong = client.post("/mail/login/code", {"code": "000000"})
    assert wrong.status_code == 403 and "not right" in wrong.content.decode()
    done = client.post("/mail/login/code", {"code": totp.now()})
    assert done.status_code == 302 and done["Location"].startswith(home)
    assert "/login/" not in client.get(home).get("Location", "")
    again = Client()
    again.post(login_url, {"address": address, "password": password})
    assert again.post("/mail/login/code", {"code": totp.now()}).status_code == 403  # the same code, replayed


def test_the_code_page_without_a_password_first_goes_back_to_the_login(users) -> None:
    response = Client().get("/mail/login/code")
    assert response.status_code == 302 and response["Location"] == "/mail/login/"


def test_two_factor_is_turned_off_with_the_password_and_a_code_and_not_without(users) -> None:
    totp = turn_on()
    client = signed_in(ALICE)
    assert (
        client.post(
            "/mail/settings/security/totp/disable", {"password": "wrong-password", "code": totp.now()}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/mail/settings/security/totp/disable", {"password": PASSWORDS[ALICE], "code": "000000"}
        ).status_code
        == 403
    )
    assert store.two_factor_enabled(users[ALICE].id)
    assert (
        client.post(
            "/mail/settings/security/totp/disable", {"password": PASSWORDS[ALICE], "code": totp.now()}
        ).status_code
        == 302
    )
    assert not store.two_factor_enabled(users[ALICE].id)
    assert store.login(ALICE, PASSWORDS[ALICE], protocol="imap", ip=IP).address == ALICE


def test_the_command_turns_two_factor_off(users) -> None:
    turn_on()
    out = StringIO()
    call_command("twofactor", ALICE, "--off", stdout=out)
    assert not store.two_factor_enabled(users[ALICE].id)


def _enrol_step(client: Client, login_url: str, address: str, password: str) -> None:
    step = client.post(login_url, {"address": address, "password": password})
    assert step.status_code == 302 and step["Location"] == "/mail/login/enrol"


def test_an_account_of_a_domain_that_requires_two_factor_must_enrol_and_can_do_nothing_else(users) -> None:
    root = store.admin_actor(store.create_account("root@example.test", "root-secret-1", superuser=True).id)
    assert root is not None
    store.admin_update_domain(root, "example.test", require_two_factor=True)
    client = Client()
    _enrol_step(client, "/mail/login/", ALICE, PASSWORDS[ALICE])
    for elsewhere in ("/mail/", "/mail/settings/", "/mail/settings/security/", "/mail/login/code"):
        assert "/login/" in client.get(elsewhere)["Location"]
    page = client.get("/mail/login/enrol")
    assert page.status_code == 200 and b"<svg" in page.content
    secret = page.context["enrolment"].secret
    assert client.post("/mail/login/enrol", {"code": "000000"}).status_code == 403
    secret = client.get("/mail/login/enrol").context["enrolment"].secret  # each visit makes a new one
    done = client.post("/mail/login/enrol", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200 and len(done.context["recovery_codes"]) == 10
    assert "/login/" not in client.get("/mail/").get("Location", "")
    assert store.two_factor_enabled(users[ALICE].id)
    assert not store.must_enrol(users["charlie@other.test"].id)  # another domain's accounts are free


@pytest.mark.parametrize("required", [False, True])
def test_admins_must_enrol_when_the_setting_says_so(users, settings, required: bool) -> None:
    settings.MAIL_REQUIRE_2FA_FOR_ADMINS = required
    store.create_account("root@example.test", "root-secret-1", superuser=True)
    client = Client()
    step = client.post("/manage/login/", {"address": "root@example.test", "password": "root-secret-1"})
    assert step["Location"] == ("/mail/login/enrol" if required else "/manage/")
    assert not store.must_enrol(users[ALICE].id)  # not an admin


def test_an_administrator_resets_an_accounts_two_factor_and_it_is_audited(users) -> None:
    turn_on()
    root = Client()
    store.create_account("root@example.test", "root-secret-1", superuser=True)
    root.force_login(Account.objects.get(address="root@example.test"))
    page = root.get(f"/manage/accounts/{users[ALICE].id}/").content.decode()
    assert 'id="two-factor-state">On.' in page
    assert root.post(f"/manage/accounts/{users[ALICE].id}/two-factor/reset").status_code == 302
    assert not store.two_factor_enabled(users[ALICE].id)
    assert AuditEntry.objects.filter(action="account.two_factor_reset", target=ALICE).count() == 1


def test_a_domain_admin_cannot_reset_two_factor_of_another_domains_account(users) -> None:
    turn_on()
    charlie = store.admin_actor(users["charlie@other.test"].id)
    assert charlie is None  # not an admin at all: the dashboard refuses first
    root = store.admin_actor(store.create_account("root@example.test", "root-secret-1", superuser=True).id)
    assert root is not None
    store.admin_set_roles(root, users["charlie@other.test"].id, admin_domains=["other.test"])
    other_admin = store.admin_actor(users["charlie@other.test"].id)
    assert other_admin is not None
    with pytest.raises(store.NotFound):
        store.admin_reset_two_factor(other_admin, users[ALICE].id)
    assert store.two_factor_enabled(users[ALICE].id)


def test_a_forged_passkey_answer_is_refused_and_counted_as_a_failed_login(users) -> None:
    rp = store.RelyingParty("localhost", "http://localhost")
    forged = '{"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {}}'
    assert not store.check_passkey(users[ALICE].id, forged, b"challenge", rp, protocol="web", ip=IP)
    assert not store.check_passkey(users[ALICE].id, "not json", b"challenge", rp, protocol="web", ip=IP)
    assert AuditEntry.objects.filter(action="login.failed", target=ALICE).count() == 2


def test_a_passkey_answer_that_names_no_account_is_refused_and_counted_against_the_client(users) -> None:
    rp = store.RelyingParty("localhost", "http://localhost")
    for answer in (
        '{"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {"userHandle": "NA"}}',
        "not json",
        "[]",
    ):
        with pytest.raises(store.LoginFailed):
            store.passkey_login(answer, b"challenge", rp, protocol="web", ip=IP)
    assert AuditEntry.objects.filter(action="login.failed", detail__ip=IP).count() == 3
