"""The pure parts: rspamd's answer read, our X-Spam fields written, foreign
ones removed, and the start-up checks of the rspamd settings."""

from __future__ import annotations

import pytest

from mailboxes.checks import mail_settings
from mailboxes.spam.verdict import Verdict, header_fields, parse, strip_spam_fields


@pytest.mark.parametrize(
    ("action", "outcome"),
    [
        ("reject", "reject"),
        ("soft reject", "defer"),
        ("greylist", "defer"),
        ("add header", "junk"),
        ("rewrite subject", "junk"),
        ("no action", "inbox"),
        ("something new", "inbox"),
    ],
)
def test_each_rspamd_action_has_one_outcome(action, outcome):
    assert parse({"action": action}).outcome == outcome


def test_an_answer_is_read_with_its_score_symbols_and_message():
    verdict = parse(
        {
            "action": "reject",
            "score": 15.5,
            "required_score": 15,
            "symbols": {"B": {}, "A": {}},
            "messages": {"smtp_message": "Spam\r\nmessage\x00"},
        }
    )
    assert verdict == Verdict("reject", 15.5, 15.0, ("A", "B"), "Spam\r\nmessage\x00")
    assert verdict.reply_text("x") == "Spam  message"  # one printable line on the wire


def test_an_answer_without_an_action_is_refused():
    with pytest.raises(ValueError):
        parse({"error": "boom"})


def test_the_fields_say_spam_with_the_flag_and_fold_a_long_symbol_list():
    fields = header_fields(Verdict("add header", 7.25, 15, tuple(f"SYMBOL_NUMBER_{n}" for n in range(12))))
    lines = fields.decode().split("\r\n")
    assert lines[:3] == [
        "X-Spam-Status: Yes, score=7.25 required=15.00 action=add header",
        "X-Spam-Score: 7.25",
        "X-Spam-Flag: YES",
    ]
    assert lines[3].startswith("X-Spam-Symbols: SYMBOL_NUMBER_0,") and lines[4].startswith("\tSYMBOL_")
    assert all(len(line) <= 78 for line in lines)


def test_a_scan_that_could_not_be_made_is_marked_unchecked():
    assert header_fields(None) == b"X-Spam-Status: unchecked\r\n"


@pytest.mark.parametrize(
    ("data", "kept"),
    [
        (b"X-Spam-Flag: YES\r\nSubject: a\r\n\r\nX-Spam-Flag: body\r\n", b"Subject: a\r\n\r\nX-Spam-Flag: body\r\n"),
        (b"Subject: a\r\nx-spam-status: No,\r\n score=-5\r\nTo: b\r\n\r\nhi", b"Subject: a\r\nTo: b\r\n\r\nhi"),
        (b"Subject: a\r\nX-Spammy: kept\r\n\r\n", b"Subject: a\r\nX-Spammy: kept\r\n\r\n"),
        (b"Subject: no body\r\nX-Spam-Score: 1\r\n", b"Subject: no body\r\n"),
    ],
)
def test_foreign_spam_fields_are_removed_with_their_folded_lines_and_the_body_is_left_alone(data, kept):
    assert strip_spam_fields(data) == kept


def test_an_rspamd_url_that_is_not_http_stops_start_up(settings):
    settings.MAIL_RSPAMD_URL = "127.0.0.1:11333"
    assert [p.id for p in mail_settings(None)] == ["mailhost.E003"]


def test_a_controller_without_a_password_is_warned_about(settings):
    settings.MAIL_RSPAMD_CONTROLLER_URL = "http://127.0.0.1:11334"
    settings.MAIL_RSPAMD_PASSWORD = ""
    assert [p.id for p in mail_settings(None)] == ["mailhost.W002"]
