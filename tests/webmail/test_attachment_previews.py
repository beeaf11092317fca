"""Attachment previews on the message page (issue #24 item 2): a raster image
as a thumbnail, a PDF in an iframe, served inline with a CSP that forbids
script and sandboxes it, text/plain escaped in the page; SVG and HTML are downloads
only. Another account's message is 404 like a missing one."""

from __future__ import annotations

import base64

from .helpers import PNG, deliver_to, with_attachments

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def with_files(*files: tuple[str, str, bytes]) -> bytes:
    """multipart/mixed: a line of text and the files (name, type, bytes), base64."""
    parts = "".join(
        f'--B\r\nContent-Type: {ctype}; name="{name}"\r\nContent-Transfer-Encoding: base64\r\n'
        f'Content-Disposition: attachment; filename="{name}"\r\n\r\n{base64.b64encode(data).decode()}\r\n'
        for name, ctype, data in files
    )
    return (
        "From: bob@example.test\r\nTo: alice@example.test\r\nSubject: Files\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        f"--B\r\nContent-Type: text/plain\r\n\r\nThe files.\r\n{parts}--B--\r\n"
    ).encode()


def test_a_pdf_is_served_for_the_sandboxed_preview_inline_with_no_script(alice, alice_client):
    inbox, uid = deliver_to(alice.address, with_attachments())
    page = alice_client.get(f"/mail/m/{inbox}/{uid}/").content.decode()
    assert f'<iframe class="pdf" src="/mail/m/{inbox}/{uid}/preview/2" ' in page
    pdf = alice_client.get(f"/mail/m/{inbox}/{uid}/preview/2")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-1.4")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == 'inline; filename="report.pdf"'
    assert pdf["X-Content-Type-Options"] == "nosniff"
    csp = [d.strip() for d in pdf["Content-Security-Policy"].split(";")]
    assert "script-src 'none'" in csp and "default-src 'none'" in csp and "sandbox" in csp  # sandboxed by itself
    assert pdf["X-Frame-Options"] == "SAMEORIGIN"


def test_only_pdfs_are_previewed_that_way_and_only_the_owners(alice, alice_client, bob_client):
    inbox, uid = deliver_to(alice.address, with_attachments())
    assert alice_client.get(f"/mail/m/{inbox}/{uid}/preview/3").status_code == 404  # text/plain
    assert alice_client.get(f"/mail/m/{inbox}/{uid}/preview/1.2.1").status_code == 404  # text/html
    assert alice_client.get(f"/mail/m/{inbox}/{uid}/preview/9").status_code == 404
    assert bob_client.get(f"/mail/m/{inbox}/{uid}/preview/2").status_code == 404  # alice's message


def test_an_image_attachment_gets_a_thumbnail_and_svg_and_html_stay_downloads(alice, alice_client):
    raw = with_files(
        ("chart.png", "image/png", PNG),
        ("logo.svg", "image/svg+xml", SVG),
        ("page.html", "text/html", b"<script>alert(1)</script>"),
    )
    inbox, uid = deliver_to(alice.address, raw)
    page = alice_client.get(f"/mail/m/{inbox}/{uid}/").content.decode()
    assert f'<img src="/mail/m/{inbox}/{uid}/inline/2" alt="Preview of chart.png"' in page
    assert "/inline/3" not in page and "/preview/3" not in page and "/inline/4" not in page
    assert alice_client.get(f"/mail/m/{inbox}/{uid}/inline/2")["Content-Type"] == "image/png"
    assert alice_client.get(f"/mail/m/{inbox}/{uid}/inline/3").status_code == 404  # SVG is never inline
    svg = alice_client.get(f"/mail/m/{inbox}/{uid}/part/3")
    assert svg["Content-Disposition"].startswith("attachment") and "sandbox" in svg["Content-Security-Policy"]
    html = alice_client.get(f"/mail/m/{inbox}/{uid}/part/4")
    assert html["Content-Disposition"].startswith("attachment")


def test_a_text_attachment_is_previewed_escaped_in_the_page(alice, alice_client):
    raw = with_files(("notes.txt", "text/plain", b"<script>alert('x')</script> & more"))
    inbox, uid = deliver_to(alice.address, raw)
    page = alice_client.get(f"/mail/m/{inbox}/{uid}/").content.decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    assert "<script>alert" not in page


def test_a_long_text_attachment_is_previewed_in_part(alice, alice_client):
    raw = with_files(("long.txt", "text/plain", b"line of text\n" * 10_000))
    inbox, uid = deliver_to(alice.address, raw)
    page = alice_client.get(f"/mail/m/{inbox}/{uid}/").content.decode()
    assert "Only the beginning is shown" in page
    assert page.count("line of text") < 10_000
