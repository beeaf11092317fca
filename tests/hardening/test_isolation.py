"""alice can never reach bob's folders or messages, by any door."""

from __future__ import annotations

import imaplib
import poplib
import socket

import pytest
from django.test import Client

from conftest import PASSWORDS, sample_message
from mailboxes import store
from tests.servers import InProcessServer

ALICE, BOB = "alice@example.test", "bob@example.test"
SECRET = "bob-only-secret-subject"
NAMES = [
    "../bob@example.test/INBOX",
    "bob@example.test/INBOX",
    "/bob@example.test/INBOX",
    "..",
    "../INBOX",
    "~bob/INBOX",
    "#user/bob/INBOX",
    "INBOX/../../bob@example.test/INBOX",
    "&AC4ALg-/bob",
    "&-bob",
    "Other Users/bob/INBOX",
    "*",
    "%",
    "INBOX/*",
    "\\\\bob",
]


@pytest.fixture(scope="module")
def doors():  # type: ignore[no-untyped-def]
    with InProcessServer(["imap", "pop3", "pop2"]) as server:
        yield server


@pytest.fixture
def bobs_mail(users):  # type: ignore[no-untyped-def]
    store.deliver(sample_message(subject=SECRET, to=BOB), [BOB])
    store.create_folder(users[BOB].id, "Private")
    return users


def _refused(call) -> bool:  # type: ignore[no-untyped-def]
    """NO, or BAD for a name that is not even valid (imaplib raises on BAD)."""
    try:
        return call()[0] == "NO"
    except imaplib.IMAP4.error as exc:
        return "BAD" in str(exc) or "error" in str(exc)


def test_imap_names_never_reach_another_account(doors, bobs_mail):
    imap = imaplib.IMAP4("127.0.0.1", doors.ports["imap"], timeout=10)
    imap.login(ALICE, PASSWORDS[ALICE])
    for pattern in ("*", "%", "*/*", "../*", "bob*", "%/%", "*bob*"):
        listed = b" ".join(x for x in imap.list('""', pattern)[1] if x)
        assert b"bob" not in listed.lower() and b"Private" not in listed
    for name in NAMES:
        quoted = '"' + name.replace("\\", "\\\\") + '"'
        for command in (imap.select, imap.delete, lambda n: imap.status(n, "(MESSAGES)")):
            assert _refused(lambda: command(quoted)), name
    imap.select("INBOX")
    imap.append("INBOX", None, None, sample_message(subject="alice's own"))
    for name in NAMES[:10]:
        assert _refused(lambda: imap.copy("1", '"' + name + '"')), name
    imap.logout()
    bob_inbox = store.select_folder(bobs_mail[BOB].id, "INBOX")
    assert len(bob_inbox.uids) == 1  # nothing copied in, nothing deleted
    assert [f.name for f in store.list_folders(bobs_mail[BOB].id) if f.name == "Private"] == ["Private"]


def test_pop2_fold_never_reaches_another_account(doors, bobs_mail):
    with socket.create_connection(("127.0.0.1", doors.ports["pop2"]), timeout=10) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(f"HELO {ALICE} {PASSWORDS[ALICE]}\r\n".encode())
        assert reader.readline().startswith(b"#")
        for name in NAMES:
            sock.sendall(f"FOLD {name}\r\n".encode())
            reply = reader.readline()
            assert reply.startswith(b"-") or reply.startswith(b"#0"), (name, reply)


def test_pop3_serves_only_the_logged_in_accounts_maildrop(doors, bobs_mail):
    store.deliver(sample_message(subject="alice's own", to=ALICE), [ALICE])
    pop = poplib.POP3("127.0.0.1", doors.ports["pop3"], timeout=10)
    pop.user(ALICE)
    pop.pass_(PASSWORDS[ALICE])
    count, _ = pop.stat()
    assert count == 1
    for n in (0, 2, 3, -1, 4294967297):  # no number reaches past alice's own one message
        for command in (pop.retr, pop.dele, lambda m: pop.top(m, 0), pop.list, pop.uidl):
            with pytest.raises(poplib.error_proto):
                command(n)
    assert SECRET.encode() not in b"\r\n".join(pop.retr(1)[1])
    pop.dele(1)
    pop.quit()
    bob_inbox = store.select_folder(bobs_mail[BOB].id, "INBOX")
    assert len(bob_inbox.uids) == 1  # bob's message is untouched
    # bob's own name with alice's password is refused
    other = poplib.POP3("127.0.0.1", doors.ports["pop3"], timeout=10)
    other.user(BOB)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        other.pass_(PASSWORDS[ALICE])
    other.close()


def test_webmail_and_dashboard_urls_of_bobs_folders_answer_404_to_alice(bobs_mail):
    bob_inbox = store.select_folder(bobs_mail[BOB].id, "INBOX")
    client = Client()
    assert client.post("/mail/login/", {"address": ALICE, "password": PASSWORDS[ALICE]}).status_code == 302
    for url in (
        f"/mail/f/{bob_inbox.id}/",
        f"/mail/m/{bob_inbox.id}/1/",
        f"/mail/m/{bob_inbox.id}/1/raw",
        f"/manage/accounts/{bobs_mail[BOB].id}/",
    ):
        response = client.get(url)
        assert response.status_code in (302, 403, 404), url
        assert SECRET.encode() not in response.content
