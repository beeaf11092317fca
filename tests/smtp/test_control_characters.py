"""Control characters in HELO/EHLO and MAIL FROM (issue #15 item 11): a bare
CR in either once reached the stored Return-Path and Authentication-Results
fields as a forged header field. Refused on the MX over a raw socket; then
nothing forged is stored."""

from __future__ import annotations

import pytest

from .conftest import ALICE, HELO, inbox, send_script

FORGED = b"Authentication-Results: evil; dmarc=pass"


def _header(stored: bytes) -> bytes:
    return stored.split(b"\r\n\r\n", 1)[0]


@pytest.mark.parametrize("verb", [b"HELO", b"EHLO"])
@pytest.mark.parametrize("junk", [b"\r", b"\x00", b"\x1b", b"\x7f", b"\t"], ids=["CR", "NUL", "ESC", "DEL", "TAB"])
def test_helo_and_ehlo_with_a_control_character_get_501_and_nothing_forged_is_stored(mx, alice, verb, junk):
    mx.send(verb + b" client.test" + junk + FORGED + b"\r\n")
    mx.expect("501 5.5.2 {{.*}}")
    mx.send(b"MAIL FROM:<sender@remote.test>\r\n")
    mx.expect("503 5.5.1 Error: send HELO first")
    mx.run(HELO + send_script("sender@remote.test", [ALICE], "Subject: after"))
    [stored] = inbox(alice.id)
    assert FORGED not in stored and b"\r\n\t" + FORGED not in stored
    assert b"client.test" + junk not in stored


@pytest.mark.parametrize(
    "junk",
    [b"\r", b"\x00", b"\x0b", b"\x7f", "\x85".encode(), "\u2028".encode()],
    ids=["CR", "NUL", "VT", "DEL", "NEL", "LINE-SEPARATOR"],
)
def test_mail_from_with_a_control_character_gets_501_and_nothing_forged_is_stored(mx, alice, junk):
    mx.run(HELO)
    mx.send(b'MAIL FROM:<"x' + junk + FORGED + b'"@evil.test>\r\n')
    mx.expect("501 5.1.7 {{.*}}")
    mx.run(send_script("sender@remote.test", [ALICE], "Subject: after"))
    [stored] = inbox(alice.id)
    assert FORGED not in stored
    assert _header(stored).startswith(b"Return-Path: <sender@remote.test>\r\n")


def test_a_control_character_after_the_address_is_refused_too(mx, users):
    mx.run(HELO)
    mx.send(b"MAIL FROM:<sender@remote.test> SIZE=1\x0c0\r\n")
    mx.expect("501 5.1.7 {{.*}}")


def test_the_submission_port_refuses_them_as_well(submission, users):
    submission.send(b"EHLO client.test\rX\r\n")
    submission.expect("501 5.5.2 {{.*}}")
    submission.send(b"MAIL FROM:<\"a\rb\"@example.test>\r\n")
    submission.expect("503 5.5.1 Error: send HELO first")
