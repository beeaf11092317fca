"""NOTIFY's STATUS items (RFC 5465 5.2-5.3); the behaviour over sockets is transcripts/notify.txt."""

from __future__ import annotations

import pytest

from protocols.imap.notify import status_items


@pytest.mark.parametrize(
    ("events", "condstore", "expected"),
    [
        ({"MESSAGEEXPUNGE"}, False, ["MESSAGES"]),
        ({"MESSAGENEW", "MESSAGEEXPUNGE"}, False, ["MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN"]),
        ({"FLAGCHANGE"}, False, ["UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ"]),
        ({"MESSAGEEXPUNGE"}, True, ["MESSAGES", "HIGHESTMODSEQ"]),
        ({"MAILBOXNAME"}, True, []),
    ],
)
def test_status_items_say_what_each_event_changes(events: set[str], condstore: bool, expected: list[str]) -> None:
    assert status_items(frozenset(events), condstore) == expected
