"""CATENATE (RFC 4469), URLAUTH (RFC 4467) and the IMAP URLs they read
(RFC 5092): the pure URL parser, the size limit over a real socket, the
store's mailbox access keys (the rest is in transcripts/catenate.txt and
transcripts/urlauth.txt)."""

from __future__ import annotations

import datetime as dt

import pytest

from mailboxes import store
from protocols.imap.fetch import Section
from protocols.imap.imapurl import MessageUrl, UrlError, parse_message_url, parse_urlauth

from .client import RawClient


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/INBOX/;UID=5", MessageUrl(mailbox="INBOX", uid=5)),
        (
            "/inbox;uidvalidity=77/;uid=5/;section=1.2.MIME/;partial=3",
            MessageUrl(mailbox="INBOX", uid=5, uidvalidity=77, section=Section((1, 2), "MIME"), partial=(3, None)),
        ),
        (
            "/Work/2026%20Q1/;UID=1/;SECTION=HEADER.FIELDS%20(FROM%20TO)/;PARTIAL=0.10",
            MessageUrl(
                mailbox="Work/2026 Q1", uid=1, section=Section((), "HEADER.FIELDS", ("FROM", "TO")), partial=(0, 10)
            ),
        ),
        ("/%C3%84pfel/;UID=2", MessageUrl(mailbox="Äpfel", uid=2)),  # UTF-8, not modified UTF-7 (5092 3.2)
        (
            "imap://alice%40example.test;AUTH=*@mail.example.test:143/Sent/;UID=3",
            MessageUrl(mailbox="Sent", uid=3, user="alice@example.test", host="mail.example.test"),
        ),
        (
            "/INBOX/;UID=1;EXPIRE=2026-12-31T23:59:59Z;URLAUTH=user+alice:INTERNAL:91354a473744909de610943775f92038",
            MessageUrl(
                mailbox="INBOX",
                uid=1,
                urlauth=";EXPIRE=2026-12-31T23:59:59Z;URLAUTH=user+alice:INTERNAL:91354a473744909de610943775f92038",
            ),
        ),
    ],
)
def test_message_urls_parse(text: str, expected: MessageUrl) -> None:
    assert parse_message_url(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "INBOX/;UID=1",
        "//host/INBOX/;UID=1",
        "/INBOX",
        "/INBOX/;UID=0",
        "/INBOX/;UID=99999999999",
        "/INBOX/;UID=1/;UID=2",
        "/INBOX/;SECTION=1/;UID=1",
        "/INBOX/;UID=1/;PARTIAL=1/;SECTION=1",
        "/INBOX/;UID=1/;SECTION=BOGUS",
        "/INBOX/;UID=1/;SECTION=0",
        "/INBOX/;UID=1/;PARTIAL=1.0",
        "/INBOX;FOO=1/;UID=1",
        "/INBOX/;UID=1 ",
        "/IN]BOX/;UID=1",
        "/%ZZ/;UID=1",
        "/%FF/;UID=1",
        "/INBOX?SUBJECT%20x",
        "/;UID=1",
        "imap://host/INBOX?ALL",
    ],
)
def test_what_is_not_a_message_url_is_refused(text: str) -> None:
    with pytest.raises(UrlError):
        parse_message_url(text)


def test_a_catenated_message_over_the_size_limit_is_toobig_and_stores_nothing(settings, client: RawClient) -> None:  # type: ignore[no-untyped-def]
    body = b"Subject: big\r\n\r\n" + b"x" * 1500 + b"\r\n"
    client.ok(b"APPEND INBOX {%d+}\r\n" % len(body) + body)
    settings.MAIL_MAX_MESSAGE_SIZE = 4000
    # Each part fits, the three together do not.
    _, done = client.command(b'APPEND INBOX CATENATE (URL "/INBOX/;UID=1" URL "/INBOX/;UID=1" URL "/INBOX/;UID=1")')
    assert done.endswith(b"NO [TOOBIG] The message would be too big\r\n")
    # MULTIAPPEND: the limit is for all the command's messages together.
    _, done = client.command(
        b'APPEND INBOX CATENATE (URL "/INBOX/;UID=1") CATENATE (URL "/INBOX/;UID=1") CATENATE (URL "/INBOX/;UID=1")'
    )
    assert done.endswith(b"NO [TOOBIG] The message would be too big\r\n")
    untagged = client.ok("STATUS INBOX (MESSAGES)")
    assert untagged == [b"* STATUS INBOX (MESSAGES 1)\r\n"]


def test_urlauth_parts_and_the_rump_they_sign() -> None:
    text = "imap://alice@example.test/INBOX/;UID=1;EXPIRE=2030-01-01T00:00:00Z;URLAUTH=User+bob%40example.test"
    url = parse_message_url(text)
    auth = parse_urlauth(text, url)
    assert url.owner == "alice@example.test"  # a user without "@" is user@host
    assert (auth.access, auth.mechanism, auth.verifier, auth.rump) == ("user+bob@example.test", None, None, text)
    assert auth.expire == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    signed = text + ":INTERNAL:" + "ab" * 32
    assert parse_urlauth(signed, parse_message_url(signed)).rump == text
    for bad in (
        "/INBOX/;UID=1",
        "/INBOX/;UID=1;URLAUTH=everyone",
        "/INBOX/;UID=1;URLAUTH=anonymous:INTERNAL:abc",
        "/INBOX/;UID=1;EXPIRE=2030-01-01T00:00:00;URLAUTH=anonymous",
    ):
        with pytest.raises(UrlError):
            parse_urlauth(bad, parse_message_url(bad))


def test_a_mailbox_key_signs_until_resetkey_and_only_for_its_own_mailbox(alice) -> None:  # type: ignore[no-untyped-def]
    store.create_folder(alice.id, "Work")
    rump = "imap://alice@example.test/INBOX/;UID=1;URLAUTH=anonymous"
    inbox, work = (store.urlauth_sign(alice.id, name, rump) for name in ("INBOX", "Work"))
    assert inbox != work and store.urlauth_sign(alice.id, "INBOX", rump) == inbox  # one key per mailbox, kept
    assert store.urlauth_check("alice@example.test", "INBOX", rump, inbox) is not None
    assert store.urlauth_check("alice@example.test", "INBOX", rump + "x", inbox) is None
    assert store.urlauth_check("alice@example.test", "Work", rump, inbox) is None
    assert store.urlauth_check("bob@example.test", "INBOX", rump, inbox) is None
    store.urlauth_reset(alice.id, "INBOX")
    assert store.urlauth_check("alice@example.test", "INBOX", rump, inbox) is None
    assert store.urlauth_check("alice@example.test", "Work", rump, work) is not None
    store.urlauth_reset(alice.id)
    assert store.urlauth_check("alice@example.test", "Work", rump, work) is None
