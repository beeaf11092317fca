"""Issue #24 in Chromium: an image pasted and one dropped into the rich
editor, sent to a local account as a multipart/related part the HTML refers
to by cid: (a hostile paste and a file that is no image leave nothing);
attachment previews on the message page (a thumbnail, a PDF in the
browser's viewer under a sandboxing CSP, a text file); "Always load images from <sender>" set on a message
and removed in the settings. Saves webmail-attachment-previews.png."""

from __future__ import annotations

import base64
import email
import re
from email import policy

import pytest
from playwright.sync_api import Page, expect

from mailboxes import store
from tests.axe import serious_violations

from .helpers import PNG, deliver_to, folder_id, pdf
from .test_attachment_previews import with_files
from .test_browser import ALICE, BOB, browser, eventually, log_in, page, shot  # noqa: F401

pytestmark = pytest.mark.slow

# An image file in the page, then an event carrying it, as the browser makes them for a paste or a drop.
PLACE = """([kind, b64, name, type]) => {
    const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], name, {type}));
    const editor = document.getElementById("editor");
    const event = kind === "paste"
        ? new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true})
        : new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true, clientX: 20, clientY: 20});
    if (kind === "drop") {
        editor.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true, cancelable: true}));
    }
    editor.dispatchEvent(event);
}"""


def _place(page: Page, kind: str, data: bytes, name: str, media_type: str) -> None:  # noqa: F811
    page.evaluate(PLACE, [kind, base64.b64encode(data).decode(), name, media_type])


def _bobs_newest() -> email.message.EmailMessage | None:
    bob = store.get_account(BOB).id
    inbox = folder_id(bob, "INBOX")
    items = store.message_page(bob, inbox).items
    if not items:
        return None
    return email.message_from_bytes(store.message_bytes(bob, inbox, items[0].uid), policy=policy.default)  # type: ignore[return-value]


def test_pasted_and_dropped_images_are_sent_as_related_parts_by_cid(page):  # noqa: F811
    log_in(page)
    page.click("#compose-link")
    page.fill("#to", BOB)
    page.fill("#subject", "Two pictures")
    page.click("#editor")
    page.keyboard.type("Pasted:")
    _place(page, "paste", PNG, "pasted.png", "image/png")
    images = page.locator("#editor img")
    expect(images).to_have_count(1)
    expect(images.first).to_have_js_property("naturalWidth", 160)  # shown from the file itself (a blob: URL)
    _place(page, "drop", PNG, "dropped.png", "image/png")
    expect(images).to_have_count(2)
    _place(page, "paste", b"%PDF-1.4\n", "report.pdf", "application/pdf")  # refused, with a message
    expect(page.locator("#editor-note")).to_have_text(
        "report.pdf cannot be placed in the text: only PNG, JPEG, GIF and WebP images can. Attach it instead."
    )
    expect(images).to_have_count(2)
    page.click("#send")
    expect(page.locator(".flash")).to_contain_text("Message sent.")
    eventually(lambda: _bobs_newest() is not None)
    msg = _bobs_newest()
    assert msg is not None and msg.get_content_type() == "multipart/alternative"
    plain, related = msg.iter_parts()
    assert related.get_content_type() == "multipart/related"
    html_part, *image_parts = related.iter_parts()
    html = html_part.get_content()
    assert sorted(p.get_filename() for p in image_parts) == ["dropped.png", "pasted.png"]
    for image in image_parts:
        assert image.get_content_type() == "image/png" and image.get_content() == PNG
        assert f'src="cid:{image["Content-ID"].strip("<>")}"' in html
    assert "blob:" not in html and "data-cid" not in html
    assert "[image: pasted.png]" in plain.get_content() and "[image: dropped.png]" in plain.get_content()


def test_a_hostile_paste_with_images_leaves_nothing_that_runs_or_loads(page):  # noqa: F811
    log_in(page)
    page.click("#compose-link")
    page.click("#editor")
    page.evaluate("""() => {
        const data = new DataTransfer();
        data.setData("text/html", '<p>fine<img src="cid:someone-elses" onerror="window.pwned=1">'
                     + '<img src="data:image/svg+xml,<svg onload=window.pwned=2>">'
                     + '<img src="javascript:window.pwned=3"><img data-cid="new-x" src="https://example.net/x.png">'
                     + '<script>window.pwned=4<\\/script></p>');
        document.getElementById("editor").dispatchEvent(
            new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
    }""")
    expect(page.locator("#editor")).to_contain_text("fine")
    markup = page.inner_html("#editor")
    for bad in ("<img", "<script", "onerror", "onload", "javascript:", "data:"):
        assert bad not in markup
    assert page.evaluate("window.pwned") is None


def test_attachments_are_previewed_on_the_message_page(page, live_server):  # noqa: F811
    text = b"Minutes\n<script>window.pwned=1</script>\n"
    raw = with_files(
        ("chart.png", "image/png", PNG),
        ("report.pdf", "application/pdf", pdf("Quarterly report")),
        ("notes.txt", "text/plain", text),
    )
    inbox, uid = deliver_to(ALICE, raw)
    loaded: list[str] = []
    page.on("request", lambda r: loaded.append(r.url))
    log_in(page)
    page.set_viewport_size({"width": 1280, "height": 1100})
    page.goto(f"/mail/m/{inbox}/{uid}/")
    thumb = page.locator("#attachments li[data-section='2'] img")
    expect(thumb).to_have_js_property("naturalWidth", 160)
    pdf_item = page.locator("#attachments li[data-section='3']")
    pdf_item.locator("summary").click()
    frame = pdf_item.locator("iframe")
    # the browser's own viewer shows it (it would not in a frame with a sandbox attribute: see messages.PDF_CSP)
    expect(frame).not_to_have_attribute("sandbox", re.compile(".*"))
    for _ in range(75):  # Playwright's events arrive while it is called: wait with it, not with time.sleep
        if any(u.startswith("chrome-extension://") and u.endswith("/index.html") for u in loaded):
            break
        page.wait_for_timeout(200)
    else:
        raise AssertionError("the browser's PDF viewer did not open in the preview")
    response = page.request.get(frame.get_attribute("src") or "")
    assert response.status == 200 and response.body().startswith(b"%PDF-1.4")
    headers = response.headers
    assert headers["content-type"] == "application/pdf"
    assert headers["content-disposition"] == 'inline; filename="report.pdf"'
    assert headers["x-content-type-options"] == "nosniff"
    csp = [d.strip() for d in headers["content-security-policy"].split(";")]
    assert "script-src 'none'" in csp and "sandbox" in csp
    notes = page.locator("#attachments li[data-section='4']")
    notes.locator("summary").click()
    expect(notes.locator("pre")).to_have_text(text.decode())  # escaped: shown, not run
    assert page.evaluate("window.pwned") is None
    assert serious_violations(page) == []
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(500)  # the viewer's first paint
    shot(page, "webmail-attachment-previews")


def test_always_load_images_from_a_sender_toggles_persists_and_is_removed_in_settings(page, live_server):  # noqa: F811
    # an absolute http(s) URL is remote to the sanitiser; this one is the live server's, so the test loads nothing elsewhere
    remote = f"{live_server.url}/mail/assets/clip.svg"
    raw = (
        f"From: Bob <{BOB}>\r\nTo: {ALICE}\r\nSubject: Newsletter\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: text/html; charset=utf-8\r\n\r\n<p>News</p><img src="{remote}" alt="banner">\r\n'
    ).encode()
    inbox, uid = deliver_to(ALICE, raw)
    log_in(page)
    page.goto(f"/mail/m/{inbox}/{uid}/")
    expect(page.locator("#remote-blocked")).to_be_visible()
    expect(page.frame_locator("#html-body").locator("img")).not_to_have_attribute("src", remote)
    page.click("#always-images")
    expect(page.locator(".flash")).to_contain_text(f"Images from {BOB} will always be loaded.")
    expect(page.locator("#images-by-list")).to_be_visible()
    expect(page.frame_locator("#html-body").locator("img")).to_have_attribute("src", remote)
    page.reload()  # it persists
    expect(page.frame_locator("#html-body").locator("img")).to_have_attribute("src", remote)
    assert serious_violations(page) == []
    page.goto("/mail/settings/")
    listed = page.locator("#image-senders li")
    expect(listed).to_have_text([f"{BOB} Remove"])
    assert serious_violations(page) == []
    listed.locator("button").click()
    expect(page.locator("#image-senders li")).to_have_count(0)
    page.goto(f"/mail/m/{inbox}/{uid}/")
    expect(page.locator("#always-images")).to_be_visible()
    expect(page.frame_locator("#html-body").locator("img")).not_to_have_attribute("src", remote)
