"""Rich-text compose on the server: the editor's HTML is sanitised with the
rules incoming mail is shown by before it is sent or stored, and sent as
multipart/alternative with a text/plain part written from it."""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape

from conftest import sample_message
from mailboxes import store
from mailboxes.webmail.richtext import clean_html, html_to_text

from .helpers import deliver_to
from .test_compose import newest, parse, text

HOSTILE = (
    '<div>Hi <strong>Bob</strong></div><img src="x" onerror="alert(1)"><script>alert(2)</script>'
    '<a href="javascript:alert(3)">click</a><div onclick="alert(4)">ok</div>'
)


def test_the_text_part_keeps_paragraphs_emphasis_lists_quotes_and_links():
    html = (
        '<div>Hello <b>world</b> and <i>you</i></div><ul><li>one</li><li>two</li></ul>'
        '<ol><li>a</li><li>b</li></ol><blockquote>quoted<br>line 2</blockquote>'
        '<p>see <a href="https://example.org/">the site</a></p>'
    )
    assert html_to_text(html) == (
        "Hello *world* and _you_\n\n- one\n- two\n\n1. a\n2. b\n\n> quoted\n> line 2\n\n"
        "see the site <https://example.org/>\n"
    )


def test_hostile_markup_does_not_survive_cleaning():
    clean = clean_html(HOSTILE)
    for bad in ("<script", "onerror", "onclick", "javascript:", "alert(2)"):
        assert bad not in clean
    assert "<strong>Bob</strong>" in clean


def test_rich_mail_is_multipart_alternative_sanitised_with_a_matching_text_part(alice, bob, alice_client):
    response = alice_client.post(
        "/mail/compose/",
        {"to": "bob@example.test", "subject": "Formatted", "body": "ignored when there is HTML", "html": HOSTILE},
    )
    assert response.status_code == 302
    for account, folder in ((bob, "INBOX"), (alice, "Sent")):
        msg = parse(newest(account.id, folder)[1])
        assert msg.get_content_type() == "multipart/alternative"
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert "<strong>Bob</strong>" in html
        for bad in ("<script", "onerror", "onclick", "javascript:"):
            assert bad not in html
        assert text(msg) == "Hi *Bob*\nclick\nok\n"  # a <div> is a line, as the editor makes them


def test_with_rich_compose_off_the_html_is_ignored_and_plain_text_sent(alice, bob, alice_client):
    store.save_preferences(alice.id, replace(store.get_preferences(alice.id), rich_compose=False))
    alice_client.post(
        "/mail/compose/",
        {"to": "bob@example.test", "subject": "Plain", "body": "Just text.", "html": "<b>not this</b>"},
    )
    msg = parse(newest(bob.id, "INBOX")[1])
    assert msg.get_content_type() == "text/plain"
    assert text(msg) == "Just text.\n"


def _html_field(page: str) -> str:
    found = re.search(r'<input type="hidden" name="html" id="html" value="([^"]*)">', page)
    assert found is not None
    return unescape(found.group(1))


def test_a_reply_quotes_an_html_original_as_html_and_a_text_original_as_text(alice, alice_client):
    html_mail = (
        b"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: Styled\r\n"
        b"Message-ID: <styled@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p>The <b>plan</b></p><script>alert(1)</script>\r\n"
    )
    inbox, uid = deliver_to(alice.address, html_mail)
    field = _html_field(alice_client.get(f"/mail/compose/?mode=reply&f={inbox}&u={uid}").content.decode())
    assert "Bob wrote:</div><blockquote><p>The <b>plan</b></p></blockquote>" in field
    assert "<script" not in field
    _inbox, plain = deliver_to(alice.address, sample_message(subject="Plain one"))
    assert _html_field(alice_client.get(f"/mail/compose/?mode=reply&f={inbox}&u={plain}").content.decode()) == ""


def test_a_draft_written_with_formatting_resumes_with_it(alice, alice_client):
    response = alice_client.post(
        "/mail/compose/",
        {
            "to": "bob@example.test",
            "subject": "Later",
            "body": "",
            "html": "<div>Keep <strong>this</strong></div>",
            "action": "save",
        },
    )
    assert response.status_code == 302
    resumed = alice_client.get(response["Location"]).content.decode()
    assert _html_field(resumed) == "<div>Keep <strong>this</strong></div>"
