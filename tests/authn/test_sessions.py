"""The account's sessions (issue #21): its signed-in browsers listed (device,
address, last seen) and signed out one by one or all but this one; "sign out
everywhere", a password change and an administrator's reset end every other
browser session and every IMAP (IDLE too: BYE), POP3 and POP2 session."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from django.test import Client

from conftest import PASSWORDS
from mailboxes import store
from tests.servers import InProcessServer

ALICE = "alice@example.test"


@pytest.fixture
def mail_server() -> Iterator[InProcessServer]:
    with InProcessServer(["imap", "pop3", "pop2"]) as server:
        yield server


class Line:
    """A line-at-a-time client over a real socket."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.file = self.sock.makefile("rwb")

    def send(self, text: str) -> None:
        self.file.write(text.encode() + b"\r\n")
        self.file.flush()

    def read(self) -> str:
        return self.file.readline().decode()

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def idling(port: int) -> Line:
    imap = Line(port)
    imap.read()
    imap.send(f"a LOGIN {ALICE} {PASSWORDS[ALICE]}")
    assert imap.read().startswith("a OK")
    imap.send("b SELECT INBOX")
    while not imap.read().startswith("b OK"):
        pass
    imap.send("c IDLE")
    assert imap.read().startswith("+")
    return imap


def pop3_in_transaction(port: int) -> Line:
    pop = Line(port)
    pop.read()
    pop.send(f"USER {ALICE}")
    pop.read()
    pop.send(f"PASS {PASSWORDS[ALICE]}")
    assert pop.read().startswith("+OK")
    return pop


def pop2_logged_in(port: int) -> Line:
    pop2 = Line(port)
    pop2.read()
    pop2.send(f"HELO {ALICE} {PASSWORDS[ALICE]}")
    assert pop2.read().startswith("#")
    return pop2


def browser(user_agent: str) -> Client:
    client = Client(HTTP_USER_AGENT=user_agent)
    response = client.post("/mail/login/", {"address": ALICE, "password": PASSWORDS[ALICE]})
    assert response.status_code == 302
    return client


def signed_in(client: Client) -> bool:
    return "/login/" not in client.get("/mail/settings/").get("Location", "")


def test_sign_out_everywhere_ends_an_imap_idle_session_with_bye_and_pop_sessions(users, mail_server) -> None:
    imap = idling(mail_server.ports["imap"])
    pop = pop3_in_transaction(mail_server.ports["pop3"])
    here, elsewhere = browser("Firefox on a laptop"), browser("Safari on a phone")
    assert here.post("/mail/settings/security/sessions/end").status_code == 302
    assert imap.read().startswith("* BYE Signed out")
    assert imap.read() == ""  # and hung up
    assert pop.read().startswith("-ERR [AUTH] signed out")
    assert signed_in(here) and not signed_in(elsewhere)
    for line in (imap, pop):
        line.close()


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(users, mail_server) -> None:
    imap = idling(mail_server.ports["imap"])
    pop2 = pop2_logged_in(mail_server.ports["pop2"])  # POP2 and POP3 share the maildrop lock: one at a time
    here, elsewhere = browser("Firefox on a laptop"), browser("Safari on a phone")
    changed = here.post(
        "/mail/settings/password", {"old": PASSWORDS[ALICE], "new": "a-new-password-1", "again": "a-new-password-1"}
    )
    assert changed.status_code == 302
    assert imap.read().startswith("* BYE Signed out")
    assert pop2.read().startswith("- signed out")
    assert signed_in(here) and not signed_in(elsewhere)
    assert len(store.list_web_sessions(users[ALICE].id)) == 1
    imap.close()
    pop2.close()


def test_an_administrators_password_reset_ends_every_session(users, mail_server) -> None:
    root = store.admin_actor(store.create_account("root@example.test", "root-secret-1", superuser=True).id)
    assert root is not None
    imap = idling(mail_server.ports["imap"])
    pop = pop3_in_transaction(mail_server.ports["pop3"])
    phone = browser("Safari on a phone")
    store.admin_set_password(root, users[ALICE].id, "reset-by-admin-1")
    assert imap.read().startswith("* BYE Signed out")
    assert pop.read().startswith("-ERR [AUTH] signed out")
    assert not signed_in(phone)
    assert store.list_web_sessions(users[ALICE].id) == []
    imap.close()
    pop.close()


def test_the_signed_in_browsers_are_listed_and_one_can_be_signed_out(users) -> None:
    here, phone = browser("Firefox on a laptop"), browser("Safari on a phone")
    page = here.get("/mail/settings/security/").content.decode()
    assert "Firefox on a laptop" in page and "Safari on a phone" in page and "this browser" in page
    sessions = store.list_web_sessions(users[ALICE].id)
    assert sorted(s.device for s in sessions) == ["Firefox on a laptop", "Safari on a phone"]
    assert all(s.ip == "127.0.0.1" for s in sessions)
    [other] = [s for s in sessions if s.device == "Safari on a phone"]
    assert here.post(f"/mail/settings/security/sessions/{other.id}/end").status_code == 302
    assert signed_in(here) and not signed_in(phone)


def test_one_account_cannot_sign_out_anothers_browser(users) -> None:
    browser("Firefox on a laptop")
    [alices] = store.list_web_sessions(users[ALICE].id)
    bob = Client()
    bob.post("/mail/login/", {"address": "bob@example.test", "password": PASSWORDS["bob@example.test"]})
    bob.post(f"/mail/settings/security/sessions/{alices.id}/end")
    assert store.list_web_sessions(users[ALICE].id) == [alices]
