"""App passwords (issue #21): a generated password per mail client, opening
only the doors it was given, its last use recorded, revoked at once in every
worker; made with `manage.py apppassword` or on the webmail's security page."""

from __future__ import annotations

import imaplib
import poplib
import smtplib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from conftest import PASSWORDS
from mailboxes import store
from mailboxes.models import AppPassword
from tests.markers import needs_postgres, slow
from tests.servers import InProcessServer, SubprocessServer
from tests.webmail.helpers import signed_in

ALICE = "alice@example.test"


def apppassword(*args: str) -> str:
    out = StringIO()
    call_command("apppassword", *args, stdout=out)
    return out.getvalue().strip()


def imap_login(port: int, password: str) -> None:
    imap = imaplib.IMAP4("127.0.0.1", port)
    try:
        imap.login(ALICE, password)
    finally:
        imap.shutdown()


def test_an_app_password_limited_to_imap_opens_imap_and_is_refused_on_submission(users) -> None:
    password = apppassword(ALICE, "--name", "Phone", "--doors", "imap")
    with InProcessServer(["submission", "imap"]) as server:
        imap_login(server.ports["imap"], password)
        with smtplib.SMTP("127.0.0.1", server.ports["submission"]) as smtp:
            with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                smtp.login(ALICE, password)
            assert refused.value.smtp_code == 535
            smtp.login(ALICE, PASSWORDS[ALICE])  # the account's own password still does, 2FA being off
    [app] = store.list_app_passwords(users[ALICE].id)
    assert (app.name, app.doors, app.last_used_door, app.last_used_ip) == ("Phone", ("imap",), "imap", "127.0.0.1")


def test_an_app_password_for_pop3_opens_pop3_and_pop2_too(users) -> None:
    password = apppassword(ALICE, "--name", "Old laptop", "--doors", "pop3")
    for protocol in ("pop3", "pop2"):
        assert store.login(ALICE, password, protocol=protocol, ip="192.0.2.7").address == ALICE
    with pytest.raises(store.LoginFailed):
        store.login(ALICE, password, protocol="imap", ip="192.0.2.7")


def test_an_app_password_never_opens_the_web(users) -> None:
    password = apppassword(ALICE, "--name", "Phone")
    for protocol in ("web", "manage"):
        with pytest.raises(store.LoginFailed):
            store.login(ALICE, password, protocol=protocol, ip="192.0.2.7")


def test_the_command_prints_a_new_password_each_time_and_stores_only_its_hash(users) -> None:
    first, second = apppassword(ALICE, "--name", "Phone"), apppassword(ALICE, "--name", "Tablet")
    assert first != second and len(first) == 19
    assert all(first not in row.password and second not in row.password for row in AppPassword.objects.all())
    assert [a.name for a in store.list_app_passwords(users[ALICE].id)] == ["Phone", "Tablet"]


@pytest.mark.parametrize("doors", ["imap,web", "", "smtp,,nonsense"])
def test_unknown_doors_are_one_clear_error_and_nothing_is_made(users, doors: str) -> None:
    with pytest.raises(CommandError, match="doors are some of"):
        apppassword(ALICE, "--name", "Phone", "--doors", doors)
    assert store.list_app_passwords(users[ALICE].id) == []


def test_a_revoked_app_password_is_refused_at_the_next_login_even_from_the_cache(users) -> None:
    password = apppassword(ALICE, "--name", "Phone")
    with InProcessServer(["imap", "pop3"]) as server:
        for _ in range(2):  # the second login comes from the verified-credential cache
            imap_login(server.ports["imap"], password)
        [app] = store.list_app_passwords(users[ALICE].id)
        store.revoke_app_password(users[ALICE].id, app.id)
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            imap_login(server.ports["imap"], password)
        pop = poplib.POP3("127.0.0.1", server.ports["pop3"])
        pop.user(ALICE)
        with pytest.raises(poplib.error_proto, match="AUTH"):
            pop.pass_(password)
        pop.quit()


@slow
@needs_postgres
def test_a_revoked_app_password_is_refused_at_the_next_login_in_every_worker(users) -> None:
    password = apppassword(ALICE, "--name", "Phone", "--doors", "imap")
    with SubprocessServer("imap") as one, SubprocessServer("imap") as two:
        for server in (one, two, one, two):  # each worker has it in its cache
            imap_login(server.ports["imap"], password)
        [app] = store.list_app_passwords(users[ALICE].id)
        store.revoke_app_password(users[ALICE].id, app.id)
        for server in (one, two):
            with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
                imap_login(server.ports["imap"], password)


def test_one_account_cannot_revoke_anothers_app_password(users) -> None:
    apppassword(ALICE, "--name", "Phone")
    [app] = store.list_app_passwords(users[ALICE].id)
    with pytest.raises(store.NotFound):
        store.revoke_app_password(users["bob@example.test"].id, app.id)
    response = signed_in("bob@example.test").post(f"/mail/settings/security/app-passwords/{app.id}/revoke")
    assert response.status_code == 302
    assert store.list_app_passwords(users[ALICE].id) == [app]


def test_the_security_page_makes_an_app_password_shows_it_once_and_revokes_it(users) -> None:
    client: Client = signed_in(ALICE)
    made = client.post("/mail/settings/security/app-passwords", {"name": "Phone", "door_imap": "on"})
    assert made.status_code == 200
    password = made.context["new"].password
    assert password in made.content.decode()
    assert store.login(ALICE, password, protocol="imap", ip="192.0.2.7").address == ALICE
    listed = client.get("/mail/settings/security/").content.decode()
    assert "Phone" in listed and password not in listed and "by imap from 192.0.2.7" in listed
    [app] = store.list_app_passwords(users[ALICE].id)
    assert client.post(f"/mail/settings/security/app-passwords/{app.id}/revoke").status_code == 302
    assert store.list_app_passwords(users[ALICE].id) == []
    with pytest.raises(store.LoginFailed):
        store.login(ALICE, password, protocol="imap", ip="192.0.2.7")


def test_the_security_page_refuses_an_app_password_without_a_name_or_a_door(users) -> None:
    client = signed_in(ALICE)
    assert client.post("/mail/settings/security/app-passwords", {"name": "", "door_imap": "on"}).status_code == 400
    assert client.post("/mail/settings/security/app-passwords", {"name": "Phone"}).status_code == 400
    assert store.list_app_passwords(users[ALICE].id) == []
