"""Real clients against the real server: imaplib, IMAPClient, mbsync (isync),
and a message delivered by SMTP read back byte-exact."""

from __future__ import annotations

import email
import imaplib
import shutil
import smtplib
import subprocess
from pathlib import Path

import pytest
from imapclient import IMAPClient

from conftest import PASSWORDS, sample_message
from mailboxes import store
from tests.servers import InProcessServer

from .client import insecure_context

pytestmark = pytest.mark.slow

ALICE = "alice@example.test"


def test_imaplib_round_trip_over_starttls(imap_port: int) -> None:
    imap = imaplib.IMAP4("127.0.0.1", imap_port)
    imap.starttls(insecure_context())
    assert imap.login(ALICE, PASSWORDS[ALICE])[0] == "OK"
    assert imap.create("Projects/Mailhost")[0] == "OK"
    typ, boxes = imap.list()
    assert typ == "OK" and b'(\\HasNoChildren) "/" Projects/Mailhost' in boxes
    message = sample_message(subject="imaplib", body="Round trip.\r\n")
    typ, data = imap.append("Projects/Mailhost", "(\\Flagged)", None, message)
    assert typ == "OK" and data[0].startswith(b"[APPENDUID ")
    typ, data = imap.select("Projects/Mailhost")
    assert (typ, data) == ("OK", [b"1"])
    assert imap.search(None, "FLAGGED", "SUBJECT", "imaplib") == ("OK", [b"1"])
    typ, data = imap.fetch("1", "(FLAGS BODY.PEEK[])")
    assert typ == "OK" and data[0][1] == message and b"\\Flagged" in data[0][0]
    typ, data = imap.uid("STORE", "1", "+FLAGS", "(\\Deleted)")
    assert typ == "OK"
    typ, data = imap.copy("1", "INBOX")
    assert typ == "OK"
    typ, data = imap.expunge()
    assert (typ, data) == ("OK", [b"1"])
    assert imap.status("INBOX", "(MESSAGES)") == ("OK", [b"INBOX (MESSAGES 1)"])
    assert imap.close()[0] == "OK"
    assert imap.logout()[0] == "BYE"


def test_imapclient_round_trip_over_imaps(imap_server: InProcessServer) -> None:
    for subject in ("alpha", "beta", "gamma"):
        store.deliver(sample_message(subject=subject), [ALICE])
    with IMAPClient("127.0.0.1", port=imap_server.ports["imaps"], ssl=True, ssl_context=insecure_context()) as client:
        client.login(ALICE, PASSWORDS[ALICE])
        assert {b"IDLE", b"MOVE", b"CONDSTORE", b"ESEARCH", b"SORT", b"UIDPLUS"} <= set(client.capabilities())
        assert client.namespace().personal == (("", "/"),)
        assert client.find_special_folder(b"\\Sent") == "Sent"
        assert client.get_quota_root("INBOX")[0].quota_roots == [""]
        assert client.enable("CONDSTORE") == [b"CONDSTORE"]
        selected = client.select_folder("INBOX")
        assert selected[b"EXISTS"] == 3 and selected[b"HIGHESTMODSEQ"] == 4
        assert client.search(["SUBJECT", "beta"]) == [2]
        assert client.sort(["REVERSE", "SUBJECT"]) == [3, 2, 1]
        fetched = client.fetch([1, 2], ["ENVELOPE", "BODYSTRUCTURE", "RFC822.SIZE", "FLAGS"])
        assert fetched[2][b"ENVELOPE"].subject == b"beta"
        assert fetched[1][b"BODYSTRUCTURE"][0] == b"TEXT"
        # This session's SELECT was the first: its messages are \Recent here (RFC 3501 2.3.2).
        assert selected[b"RECENT"] == 3
        assert client.add_flags([1], [b"$Important"])[1] == (b"\\Recent", b"$Important")
        assert client.folder_status("INBOX", ["MESSAGES", "UNSEEN"]) == {b"MESSAGES": 3, b"UNSEEN": 3}
        client.move([3], "Archive")
        assert client.search() == [1, 2]
        client.idle()
        store.deliver(sample_message(subject="delta"), [ALICE])
        responses = client.idle_check(timeout=10)
        client.idle_done()
        assert (3, b"EXISTS") in responses and (3, b"RECENT") in responses
        client.delete_messages([1])
        assert client.expunge()[1] == [(1, b"EXPUNGE"), (2, b"RECENT")]
        changed = client.fetch([1, 2], ["FLAGS"], modifiers=["CHANGEDSINCE 4"])
        assert all(b"MODSEQ" in data for data in changed.values())


def _mbsync(config: Path, *channels: str) -> None:
    result = subprocess.run(["mbsync", "-c", str(config), *channels], capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Error" not in output and "Warning" not in output, output


@pytest.mark.skipif(shutil.which("mbsync") is None, reason="needs mbsync (Debian package isync)")
def test_mbsync_syncs_a_folder_of_fifty_to_a_maildir_and_back(imap_port: int, tmp_path: Path) -> None:
    store.create_folder(store.get_account(ALICE).id, "Lists")
    for n in range(50):
        store.append(
            store.get_account(ALICE).id,
            "Lists",
            sample_message(subject=f"list message {n}", body=f"Body {n}.\r\n"),
            ["\\Seen"] if n % 3 == 0 else [],
        )
    maildir = tmp_path / "mail"
    maildir.mkdir()
    config = tmp_path / "mbsyncrc"
    config.write_text(f"""
IMAPAccount test
Host 127.0.0.1
Port {imap_port}
User {ALICE}
Pass {PASSWORDS[ALICE]}
SSLType None
AuthMechs PLAIN LOGIN

IMAPStore remote
Account test

MaildirStore local
Path {maildir}/
Inbox {maildir}/INBOX
SubFolders Verbatim

Channel lists
Far :remote:Lists
Near :local:Lists
Create Both
Expunge Both
SyncState *
""")
    _mbsync(config, "lists")
    files = sorted((maildir / "Lists" / "cur").iterdir()) + sorted((maildir / "Lists" / "new").iterdir())
    assert len(files) == 50
    seen = [f for f in files if ":2," in f.name and "S" in f.name.split(":2,")[1]]
    assert len(seen) == 17
    # Locally: flag one, delete one, add one; then sync back.
    flagged = files[0]
    flagged.rename(flagged.with_name(flagged.name.split(":2,")[0] + ":2,FS"))
    deleted = files[1]
    deleted.rename(deleted.with_name(deleted.name.split(":2,")[0] + ":2,T"))
    new = maildir / "Lists" / "new" / "1700000000.local.test"
    new.write_bytes(sample_message(subject="written locally"))
    _mbsync(config, "lists")
    account = store.get_account(ALICE).id
    status = store.folder_status(account, "Lists")
    assert status.messages == 50
    view = store.select_folder(account, "Lists")
    subjects = {email.message_from_bytes(store.message_data(account, view.id, uid))["Subject"] for uid in view.uids}
    assert "written locally" in subjects
    flags = [m.flags for m in store.fetch_messages(account, view.id, [(1, view.uidnext)])]
    assert sum("\\Flagged" in f for f in flags) == 1
    # A second run finds nothing to do.
    _mbsync(config, "lists")


def test_a_message_delivered_by_smtp_reads_back_byte_exact(users) -> None:  # type: ignore[no-untyped-def]
    message = (
        b"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: over the wire\r\n"
        b"Date: Mon, 30 Nov 2026 07:00:00 +0000\r\nMessage-ID: <wire@example.test>\r\n\r\n"
        b"Line one.\r\n.starts with a dot\r\n\r\n\xc3\xa9 8-bit last line\r\n"
    )
    with InProcessServer(["smtp", "imap"]) as server:
        with smtplib.SMTP("127.0.0.1", server.ports["smtp"]) as smtp:
            smtp.sendmail("bob@example.test", [ALICE], message)
        imap = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
        imap.login(ALICE, PASSWORDS[ALICE])
        imap.select("INBOX")
        typ, data = imap.fetch("1", "(BODY.PEEK[])")
        imap.logout()
    assert typ == "OK"
    fetched = data[0][1]
    account = store.get_account(ALICE).id
    inbox = store.select_folder(account, "INBOX")
    assert fetched == store.message_data(account, inbox.id, inbox.uids[0])
    # The MX only adds its trace fields on top: the rest is the bytes sent, dot-stuffing undone.
    assert fetched.startswith(b"Return-Path: <bob@example.test>\r\n") and fetched.endswith(message)


def test_binary_fetch_gives_clients_the_decoded_attachment(imap_port: int) -> None:
    """RFC 3516 with imaplib (it reads a ~{n} literal8 like a literal) and IMAPClient
    (which cannot read a literal8, so it gets the quoted-printable text part)."""
    payload = b"%PDF-1.4\x00\x01\xff" * 50
    message = email.message.EmailMessage()
    message["Subject"] = "binary"
    message.set_content("café, see attachment\n", cte="quoted-printable")
    message.add_attachment(payload, maintype="application", subtype="pdf", filename="a.pdf")
    store.deliver(message.as_bytes(), [ALICE])
    imap = imaplib.IMAP4("127.0.0.1", imap_port)
    imap.starttls(insecure_context())
    imap.login(ALICE, PASSWORDS[ALICE])
    assert "BINARY" in imap.capabilities
    imap.select("INBOX")
    typ, data = imap.fetch("1", "(BINARY.SIZE[2] BINARY.PEEK[2])")
    assert typ == "OK" and data[0][1] == payload and b"BINARY.SIZE[2] %d " % len(payload) in data[0][0]
    assert imap.fetch("1", "FLAGS")[1] == [b"1 (FLAGS (\\Recent))"]
    imap.logout()
    with IMAPClient("127.0.0.1", port=imap_port, ssl=False) as client:
        client.starttls(insecure_context())
        client.login(ALICE, PASSWORDS[ALICE])
        client.select_folder("INBOX")
        assert client.fetch([1], ["BINARY[1]"])[1][b"BINARY[1]"] == "café, see attachment\n".encode()
        assert b"\\Seen" in client.get_flags([1])[1]


def test_imapclient_threads_and_sorts_a_conversation(imap_server: InProcessServer) -> None:
    def message(mid: str, subject: str, day: int, parent: str = "") -> bytes:
        reply = f"In-Reply-To: <{parent}>\r\nReferences: <{parent}>\r\n" if parent else ""
        return (
            f"From: Bob <bob@example.test>\r\nTo: {ALICE}\r\nSubject: {subject}\r\nMessage-ID: <{mid}>\r\n"
            f"{reply}Date: {day} Dec 2026 09:00:00 +0000\r\n\r\nx\r\n"
        ).encode()

    for raw in (
        message("root@x", "Plans", 1),
        message("other@x", "Lunch", 2),
        message("reply@x", "Re: Plans", 3, parent="root@x"),
        message("deeper@x", "Re: Plans", 4, "reply@x"),
    ):
        store.deliver(raw, [ALICE])
    with IMAPClient("127.0.0.1", port=imap_server.ports["imaps"], ssl=True, ssl_context=insecure_context()) as client:
        client.login(ALICE, PASSWORDS[ALICE])
        assert {b"THREAD=REFERENCES", b"THREAD=ORDEREDSUBJECT", b"ESORT", b"CONTEXT=SEARCH"} <= set(
            client.capabilities()
        )
        client.select_folder("INBOX")
        assert client.thread("REFERENCES") == ((1, 3, 4), (2,))
        assert client.thread("ORDEREDSUBJECT", ["SUBJECT", "plans"]) == ((1, (3,), (4,)),)
        assert client.sort(["REVERSE DATE"]) == [4, 3, 2, 1]
