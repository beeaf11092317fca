"""QRESYNC (RFC 7162 3.2) beyond the transcript (transcripts/qresync.txt):
the view's VANISHED, the store's tombstone read, and real clients (imaplib,
IMAPClient) resynchronising over a real socket."""

from __future__ import annotations

import imaplib

import pytest
from imapclient import IMAPClient

from conftest import PASSWORDS, sample_message
from mailboxes import store
from mailboxes.store import Changes
from protocols.imap.sequence import SequenceSet
from protocols.imap.view import MailboxView, missing, vanished_line

ALICE = "alice@example.test"


def _view(uids: list[int], *, vanished: bool) -> MailboxView:
    return MailboxView.create(1, "INBOX", 7, max(uids) + 1, 10, uids, readonly=False, vanished=vanished)


def test_with_qresync_expunges_are_one_vanished_line_under_the_same_rules() -> None:
    view = _view([1, 2, 3, 5, 8], vanished=True)
    assert view.expunge([2, 3, 8, 40]) == b"* VANISHED 2:3,8\r\n"
    assert list(view.uids) == [1, 5]
    view.apply(Changes(12, 9, [], [5]), expunge_ok=False, condstore=True)
    assert view.seq_of(5) == 2  # held, like an EXPUNGE, while numbers must keep their meaning
    assert view.apply(Changes(12, 9, [], []), expunge_ok=True, condstore=True) == b"* VANISHED 5\r\n"
    assert _view([1, 2, 3], vanished=False).expunge([2, 3]) == b"* 2 EXPUNGE\r\n* 2 EXPUNGE\r\n"


def test_vanished_line_and_the_gaps_between_existing_uids() -> None:
    assert vanished_line(SequenceSet(())) == b""
    assert vanished_line(SequenceSet.from_ints([1, 3, 4]), earlier=True) == b"* VANISHED (EARLIER) 1,3:4\r\n"
    assert missing([(1, 10)], [2, 5, 6, 10]) == [(1, 1), (3, 4), (7, 9)]
    assert missing([(1, 3), (8, 9)], [1, 2, 3, 8]) == [(9, 9)]
    assert missing([(5, 4_000_000_000)], []) == [(5, 4_000_000_000)]
    assert missing([(2, 4)], [1, 2, 3, 4, 7]) == []


def test_vanished_since_reads_the_tombstones_after_a_modseq_within_the_set(alice, bob) -> None:  # type: ignore[no-untyped-def]
    for n in range(6):
        store.append(alice.id, "INBOX", sample_message(subject=f"m{n}"), ["\\Deleted"] if n in (1, 4) else [])
    folder = store.select_folder(alice.id, "INBOX")
    store.expunge(alice.id, folder.id)
    after_first = store.folder_status(alice.id, "INBOX").highestmodseq
    store.delete_messages(alice.id, folder.id, [(6, 6)])
    assert store.vanished_since(alice.id, folder.id, 1, [(1, 10)]) == [2, 5, 6]
    assert store.vanished_since(alice.id, folder.id, after_first, [(1, 10)]) == [6]
    assert store.vanished_since(alice.id, folder.id, 1, [(3, 5), (9, 9)]) == [5]
    assert store.vanished_since(alice.id, folder.id, 1, []) == []
    assert store.vanished_since(bob.id, folder.id, 1, [(1, 10)]) == []  # not bob's folder


@pytest.fixture
def imap4(imap_port: int):  # type: ignore[no-untyped-def]
    imap = imaplib.IMAP4("127.0.0.1", imap_port)
    imap.login(ALICE, PASSWORDS[ALICE])
    yield imap
    imap.logout()


def test_imaplib_resynchronises_a_mailbox_in_one_select(imap4: imaplib.IMAP4, imap_port: int) -> None:
    for subject in ("one", "two", "three", "four"):
        store.deliver(sample_message(subject=subject), [ALICE])
    typ, data = imap4.status("INBOX", "(UIDVALIDITY HIGHESTMODSEQ)")
    uidvalidity, modseq = (int(v) for v in data[0].decode().rstrip(")").split()[-3::2])
    # Meanwhile, elsewhere: message 2 flagged, 3 expunged.
    account = store.get_account(ALICE).id
    folder = store.select_folder(account, "INBOX").id
    store.set_flags(account, folder, [(2, 2)], "add", ["\\Flagged"])
    store.delete_messages(account, folder, [(3, 3)])
    with pytest.raises(imaplib.IMAP4.error):  # BAD before ENABLE QRESYNC
        imap4.select(f"INBOX (QRESYNC ({uidvalidity} {modseq}))")
    assert imap4.enable("QRESYNC") == ("OK", [b"ENABLE completed"])
    assert imap4.untagged_responses.pop("ENABLED") == [b"QRESYNC"]
    typ, data = imap4.select(f"INBOX (QRESYNC ({uidvalidity} {modseq} 1:4))")
    assert (typ, data) == ("OK", [b"3"])
    assert imap4.untagged_responses.pop("VANISHED") == [b"(EARLIER) 3"]
    assert imap4.untagged_responses["FETCH"] == [b"2 (UID 2 FLAGS (\\Flagged \\Recent) MODSEQ (%d))" % (modseq + 1)]
    # The client's own expunge is reported as VANISHED, not EXPUNGE.
    imap4.uid("STORE", "4", "+FLAGS.SILENT", "(\\Deleted)")
    typ, data = imap4.expunge()
    assert (typ, data) == ("OK", [None])  # no EXPUNGE response
    assert imap4.untagged_responses.get("VANISHED") == [b"4"]


def test_imapclient_gets_vanished_for_another_sessions_expunge(imap_server) -> None:  # type: ignore[no-untyped-def]
    for subject in ("alpha", "beta", "gamma"):
        store.deliver(sample_message(subject=subject), [ALICE])
    port = imap_server.ports["imap"]
    with (
        IMAPClient("127.0.0.1", port=port, ssl=False) as client,
        IMAPClient("127.0.0.1", port=port, ssl=False) as other,
    ):
        client.login(ALICE, PASSWORDS[ALICE])
        other.login(ALICE, PASSWORDS[ALICE])
        assert b"QRESYNC" in client.capabilities()
        assert client.enable("QRESYNC") == [b"QRESYNC"]
        assert client.select_folder("INBOX")[b"EXISTS"] == 3
        other.select_folder("INBOX")
        other.delete_messages([1, 3])
        other.expunge()
        _text, responses = client.noop()
        assert responses == [(b"VANISHED", b"1,3"), (1, b"RECENT")]
        assert client.search() == [2]
        # UID FETCH ... (CHANGEDSINCE 1 VANISHED): IMAPClient keeps the FETCHes and leaves the VANISHED aside.
        assert set(client.fetch([1, 2, 3], ["FLAGS"], modifiers=["CHANGEDSINCE 1", "VANISHED"])) == {2}
        assert client._imap.untagged_responses["VANISHED"][-1] == b"(EARLIER) 1,3"
