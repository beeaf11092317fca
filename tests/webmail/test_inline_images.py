"""Images placed in the rich editor's text (issue #24 item 1), on the server:
sent as multipart/alternative[text/plain, multipart/related[text/html,
image]] with the HTML's cid: matching the image's Content-ID, "[image: name]"
in the text; only PNG, JPEG, GIF and WebP by their own bytes; within the
message size limit; kept by drafts; shown inline to the recipient."""

from __future__ import annotations

import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from mailboxes import store
from mailboxes.webmail.inline_images import sniff

from .helpers import PNG, folder_id
from .test_compose import newest, parse, text

GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"


def post(client, html: str, *images: tuple[str, str, str, bytes], **fields: str):  # type: ignore[no-untyped-def]
    """Compose as the editor posts: the HTML, each image a file of "inline" with its reference."""
    data: dict = {"to": "bob@example.test", "subject": "Picture", "body": "", "html": html, **fields}
    data["inline"] = [SimpleUploadedFile(name, content, content_type=ctype) for _ref, name, ctype, content in images]
    data["inline_ref"] = [ref for ref, *_rest in images]
    return client.post("/mail/compose/", data)


def related_image(msg):  # type: ignore[no-untyped-def]
    """(the multipart/related part, its HTML, its image part) of a message the editor sent."""
    alternative = msg if msg.get_content_type() == "multipart/alternative" else next(msg.iter_parts())
    plain, related = list(alternative.iter_parts())
    assert (plain.get_content_type(), related.get_content_type()) == ("text/plain", "multipart/related")
    html, image = list(related.iter_parts())
    return related, html.get_content(), image


def test_a_pasted_image_is_sent_as_a_related_part_the_html_refers_to_by_cid(alice, bob, alice_client):
    html = '<div>Look:</div><div><img src="cid:new-1" alt="chart.png" onerror="alert(1)"></div><div>Nice?</div>'
    response = post(alice_client, html, ("new-1", "chart.png", "image/png", PNG))
    assert response.status_code == 302
    for account, folder in ((bob, "INBOX"), (alice, "Sent")):
        msg = parse(newest(account.id, folder)[1])
        assert msg.get_content_type() == "multipart/alternative"
        related, html_text, image = related_image(msg)
        assert related.get_param("type") == "text/html"
        assert image.get_content_type() == "image/png" and image.get_content() == PNG
        assert image.get_content_disposition() == "inline" and image.get_filename() == "chart.png"
        cid = image["Content-ID"].strip("<>")
        assert cid.endswith("@example.test") and cid != "new-1"
        assert f'<img src="cid:{cid}" alt="chart.png">' in html_text and "onerror" not in html_text
        assert text(msg) == "Look:\n\n[image: chart.png]\n\nNice?\n"  # each editor line a block


def test_the_recipient_sees_the_image_in_the_message_from_its_own_part(bob, alice_client, bob_client):
    post(alice_client, '<div><img src="cid:x1" alt="a.gif"></div>', ("x1", "a.gif", "image/gif", GIF))
    inbox = folder_id(bob.id, "INBOX")
    uid = newest(bob.id, "INBOX")[0]
    page = bob_client.get(f"/mail/m/{inbox}/{uid}/").content.decode()
    assert 'id="attachments"' not in page  # the image is in the text, not listed as an attachment
    frame = bob_client.get(f"/mail/m/{inbox}/{uid}/frame").content.decode()
    source = re.search(r'<img src="([^"]+)"', frame)
    assert source is not None and source.group(1) == f"/mail/m/{inbox}/{uid}/inline/2.2"
    assert bob_client.get(source.group(1)).content == GIF


def test_only_the_images_the_text_still_shows_are_sent(bob, alice_client):
    post(alice_client, "<div>no image left</div>", ("gone", "a.png", "image/png", PNG))
    msg = parse(newest(bob.id, "INBOX")[1])
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]


def test_anything_but_png_jpeg_gif_and_webp_is_refused_with_a_clear_message(bob, alice_client):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    for name, ctype, content in (
        ("x.svg", "image/svg+xml", svg),
        ("x.pdf", "application/pdf", b"%PDF-1.4\n"),
        ("fake.png", "image/png", b"<html><script>alert(1)</script>"),  # says PNG, is not
    ):
        response = post(alice_client, '<img src="cid:r1">', ("r1", name, ctype, content))
        assert response.status_code == 400
        assert (
            f"{name} cannot be placed in the text: only PNG, JPEG, GIF and WebP images can. Attach it instead."
            in response.content.decode()
        )
    assert store.message_page(bob.id, folder_id(bob.id, "INBOX")).items == []


def test_references_must_come_whole(bob, alice_client):
    response = alice_client.post(
        "/mail/compose/",
        {
            "to": "bob@example.test",
            "html": '<img src="cid:a">',
            "inline_ref": ["a", "b"],
            "inline": [SimpleUploadedFile("a.png", PNG, content_type="image/png")],
        },
    )
    assert response.status_code == 400 and "did not arrive whole" in response.content.decode()


@override_settings(MAIL_MAX_MESSAGE_SIZE=1024 * 1024)
def test_images_count_against_the_attachment_limit(bob, alice_client):
    big = PNG + b"\0" * (1024 * 1024)
    response = post(alice_client, '<img src="cid:big">', ("big", "big.png", "image/png", big))
    assert response.status_code == 413 and "limited to 1 MB" in response.content.decode()


def test_a_draft_keeps_its_images_and_sending_it_sends_them(alice, bob, alice_client):
    response = post(
        alice_client,
        '<div>draft <img src="cid:d1" alt="d.png"></div>',
        ("d1", "d.png", "image/png", PNG),
        action="save",
    )
    assert response.status_code == 302
    drafts = folder_id(alice.id, "Drafts")
    uid, raw = newest(alice.id, "Drafts")
    _related, html_text, image = related_image(parse(raw))
    cid = image["Content-ID"].strip("<>")
    page = alice_client.get(f"/mail/compose/?mode=draft&f={drafts}&u={uid}").content.decode()
    assert f"cid:{cid}" in page  # the editor gets the image by its Content-ID ...
    assert f'"{cid.lower()}": "/mail/m/{drafts}/{uid}/inline/2.2"' in page  # ... and where to show it from
    assert 'name="keep"' not in page  # not offered again as an attachment
    response = alice_client.post(
        "/mail/compose/",
        {
            "to": "bob@example.test",
            "subject": "From the draft",
            "html": f'<div>sent <img src="cid:{cid}" alt="d.png"></div>',
            "mode": "draft",
            "f": drafts,
            "u": uid,
            "draft": uid,
        },
    )
    assert response.status_code == 302
    _related, sent_html, sent_image = related_image(parse(newest(bob.id, "INBOX")[1]))
    assert sent_image.get_content() == PNG and sent_image["Content-ID"] == f"<{cid}>"
    assert f'src="cid:{cid}"' in sent_html
    assert store.message_page(alice.id, drafts).items == []  # the draft it came from is gone


def test_image_types_are_known_by_their_own_bytes():
    assert sniff(PNG) == "image/png" and sniff(GIF) == "image/gif"
    assert sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF") == "image/jpeg"
    assert sniff(b"RIFF\x24\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(b"<svg") is None and sniff(b"") is None
