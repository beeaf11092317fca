"""Hostile mail: whatever the HTML tries, what we serve has no script, no
event handler, no javascript: URL, nothing that loads a remote resource
before the user allows images, and the frame's CSP would stop it anyway.
The browser test (test_browser.py) renders the same corpus in Chromium."""

from __future__ import annotations

import re

import pytest

from mailboxes.webmail import render

from .helpers import HOSTILE, deliver_to

FORBIDDEN = re.compile(
    r"<\s*(script|iframe|frame|object|embed|applet|form|input|button|textarea|svg|math|meta|link|base|style"
    r"|video|audio|source|portal|template|noscript|isindex)\b|\bon[a-z]+\s*=|javascript:|vbscript:|data:|"
    r"srcset|formaction|xlink|url\(",
    re.I,
)


@pytest.mark.parametrize("path", HOSTILE, ids=lambda p: p.stem)
def test_hostile_html_is_served_without_script_or_remote_content(alice, alice_client, path):
    inbox, uid = deliver_to(alice.address, path.read_bytes(), "mallory@evil.test")
    page = alice_client.get(f"/mail/m/{inbox}/{uid}/")
    assert page.status_code == 200
    frame = alice_client.get(f"/mail/m/{inbox}/{uid}/frame")
    served = [page.content.decode()]
    if frame.status_code == 200:
        html = frame.content.decode().split("<body>", 1)[1]
        served.append(html)
        assert not FORBIDDEN.search(html), FORBIDDEN.search(html)
        assert "evil.test" not in html
        csp = frame["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp and "img-src 'self';" in csp
        assert "sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox" in csp
        assert "allow-scripts" not in csp
    # The page itself shows the hostile text escaped, never as markup.
    body = served[0].split('<article class="message"', 1)[1]
    assert "<script" not in body
    assert not re.search(r"<img[^>]*onerror", body)


def test_remote_images_are_counted_and_shown_only_when_allowed(alice, alice_client):
    path = next(p for p in HOSTILE if p.stem == "10-remote-images")
    inbox, uid = deliver_to(alice.address, path.read_bytes())
    page = alice_client.get(f"/mail/m/{inbox}/{uid}/").content.decode()
    assert "2 remote images blocked" in page
    blocked = alice_client.get(f"/mail/m/{inbox}/{uid}/frame").content.decode()
    assert "evil.test" not in blocked
    allowed = alice_client.get(f"/mail/m/{inbox}/{uid}/frame?images=1")
    assert '<img src="https://evil.test/logo.png"' in allowed.content.decode()
    assert "img-src 'self' https: http:;" in allowed["Content-Security-Policy"]
    assert "script-src" not in allowed["Content-Security-Policy"]


def test_svg_and_html_parts_are_never_served_inline(alice, alice_client):
    path = next(p for p in HOSTILE if p.stem == "13-cid-svg")
    inbox, uid = deliver_to(alice.address, path.read_bytes())
    frame = alice_client.get(f"/mail/m/{inbox}/{uid}/frame").content.decode()
    assert f"/mail/m/{inbox}/{uid}/inline/2" in frame  # the cid: reference is rewritten ...
    assert alice_client.get(f"/mail/m/{inbox}/{uid}/inline/2").status_code == 404  # ... and refused: SVG
    download = alice_client.get(f"/mail/m/{inbox}/{uid}/part/2")
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff" and "sandbox" in download["Content-Security-Policy"]
    assert "/mail/logout/" not in frame and "/mail/settings/" not in frame


@pytest.mark.parametrize(
    "markup, expected",
    [
        (
            '<a href="https://example.test/">x</a>',
            '<a href="https://example.test/" target="_blank" rel="noopener noreferrer">x</a>',
        ),
        ('<p style="color:red;position:fixed;background:url(http://x.test/a)">p</p>', '<p style="color:red">p</p>'),
        ('<b onclick="x()">b</b>', "<b>b</b>"),
        ('<img src="cid:a@b" alt="a">', '<img src="/p/1.2" alt="a">'),
        ('<img src="cid:unknown@b">', "<img>"),
        ('<img src="/p/1.2"><img src="/mail/logout/">', '<img src="/p/1.2"><img>'),
        (
            "<table><tr><td bgcolor=#fff width=10>t</td></tr></table>",
            '<table><tbody><tr><td bgcolor="#fff" width="10">t</td></tr></tbody></table>',
        ),
    ],
)
def test_sanitizer_keeps_harmless_markup_and_drops_the_rest(markup, expected):
    clean, _blocked, _inline = render.sanitize_html(
        markup, part_url=lambda s: f"/p/{s}", cids={"a@b": "1.2"}, allow_remote=False
    )
    assert clean == expected
