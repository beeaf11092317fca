"""Reading one message: the page, the sandboxed frame with its HTML, its
parts (attachments, inline images) and its raw source. Bytes come from the
store cut to the part wanted (message_bytes), parts are found by the
structure stored at delivery (mime.part_at), never by parsing again."""

from __future__ import annotations

from collections.abc import Callable, Collection
from urllib.parse import urlencode

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from mailboxes import mime, store
from mailboxes.compose import valid_media_type

from . import render as r
from .common import INERT_CSP, account_id, page
from .folders import sidebar

FRAME_CSP = (
    "default-src 'none'; img-src 'self'{remote}; style-src 'unsafe-inline'; font-src 'none'; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'self'; "
    "sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox"
)
MAX_SHOWN_TEXT = 2 * 1024 * 1024  # bytes of one text part shown in the page; the rest via "show original"
MAX_PREVIEW_TEXT = 64 * 1024  # bytes of a text/plain attachment previewed in the page
# A PDF previewed in an iframe of the message page, in the browser's own viewer: nothing of it may script,
# and the response sandboxes itself (the CSP sandbox directive: an opaque origin, no scripts, forms, popups
# or top navigation). Not the iframe's sandbox attribute: Chromium refuses to show a PDF in a frame that has
# one, whatever it allows, but shows it under this policy (docs/SECURITY.md, "Attachment previews").
PDF_CSP = (
    "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; form-action 'none'; "
    "frame-ancestors 'self'; sandbox"
)


def _slice(me: int, folder_id: int, uid: int, node: dict, limit: int | None) -> tuple[bytes, dict]:
    """The part's body bytes, read alone from the store, and the part re-based onto them."""
    _h, start, end = node["offsets"]
    if limit is not None:
        end = min(end, start + limit)
    data = store.message_bytes(me, folder_id, uid, start, end)
    return data, {**node, "offsets": [0, 0, len(data)]}


def part_body(me: int, folder_id: int, uid: int, node: dict) -> bytes:
    """A part's body with its transfer encoding undone."""
    return mime.decoded_part_body(*_slice(me, folder_id, uid, node, None))


def part_text(me: int, folder_id: int, uid: int, node: dict, limit: int | None = MAX_SHOWN_TEXT) -> str:
    """A text part decoded with its charset (at most `limit` bytes of it)."""
    return mime.part_text(*_slice(me, folder_id, uid, node, limit))


def _inline_url(folder_id: int, uid: int) -> Callable[[str], str]:
    prefix = reverse("webmail:inline", args=[folder_id, uid, "1"])[:-1]
    return lambda section: prefix + section


def _sanitized(me: int, folder_id: int, uid: int, layout: r.Layout, allow_remote: bool) -> tuple[str, int, set[str]]:
    assert layout.html is not None
    markup = part_text(me, folder_id, uid, layout.html.node)
    return r.sanitize_html(
        markup, part_url=_inline_url(folder_id, uid), cids=r.cid_map(layout.attachments), allow_remote=allow_remote
    )


def _body(me: int, detail: store.MessageDetail, allow_remote: bool) -> dict:
    """What the page shows of a message's body: its text parts as HTML, its
    layout (the HTML part goes in a frame), the remote images blocked and
    the attachments that are not inline images of the HTML."""
    folder_id, uid = detail.folder.id, detail.uid
    layout = r.layout(detail.structure)
    texts = [r.text_to_html(part_text(me, folder_id, uid, p.node)) for p in layout.text_parts]
    blocked, inline = 0, set[str]()
    if layout.html is not None:
        _html, blocked, inline = _sanitized(me, folder_id, uid, layout, allow_remote)
    return {
        "texts": texts,
        "layout": layout,
        "blocked": blocked,
        "attachments": [p for p in layout.attachments if p.section not in inline],
    }


def _previews(me: int, folder_id: int, uid: int, parts: list[r.Part]) -> list[dict]:
    """Each attachment with how the page previews it: "image" (a raster
    image, served by inline_view), "pdf" (preview_view in a sandboxed
    iframe), "text" (text/plain, escaped in the page), or "" (a download
    only: SVG, HTML and everything else)."""
    out = []
    for p in parts:
        kind, text = "", ""
        if p.media_type in r.INLINE_IMAGE_TYPES:
            kind = "image"
        elif p.media_type == "application/pdf":
            kind = "pdf"
        elif p.media_type == "text/plain":
            kind, text = "text", part_text(me, folder_id, uid, p.node, MAX_PREVIEW_TEXT)
        out.append({"part": p, "kind": kind, "text": text, "cut": kind == "text" and p.size > MAX_PREVIEW_TEXT})
    return out


def _has_remote(me: int, detail: store.MessageDetail, layout: r.Layout) -> bool:
    """Whether the HTML has remote images (that the sender's place on the list lets load)."""
    return layout.html is not None and _sanitized(me, detail.folder.id, detail.uid, layout, False)[1] > 0


@page
def conversation_view(request: HttpRequest, folder_id: int, uid: int) -> HttpResponse:
    """Every message of the conversation holding uid, oldest first; all but
    the newest folded. Opening it marks them read."""
    me = account_id(request)
    uids = store.conversation_uids(me, folder_id, uid)
    items = []
    for one in uids:
        detail = store.open_message(me, folder_id, one, mark_seen=True)
        always = store.sender_images(me, folder_id, one).always
        items.append(
            {
                "m": detail,
                **_body(me, detail, always),
                "url": reverse("webmail:message", args=[folder_id, one]),
                "frame_url": reverse("webmail:frame", args=[folder_id, one]) + ("?images=1" if always else ""),
            }
        )
    latest = items[-1]["m"]
    folder_url = reverse("webmail:folder", args=[folder_id])
    source = urlencode({"f": folder_id, "u": latest.uid})
    compose = reverse("webmail:compose")
    return render(
        request,
        "mail/conversation.html",
        {
            "folders": sidebar(request),
            "folder": latest.folder,
            "items": items,
            "uids": ",".join(map(str, uids)),
            "folder_url": folder_url,
            "reply_url": f"{compose}?{source}&mode=reply",
            "reply_all_url": f"{compose}?{source}&mode=all",
            "forward_url": f"{compose}?{source}&mode=forward",
            "title": items[0]["m"].subject or _("(no subject)"),
        },
    )


@page
def message_view(request: HttpRequest, folder_id: int, uid: int) -> HttpResponse:
    me = account_id(request)
    detail = store.open_message(me, folder_id, uid, mark_seen=True, neighbours=True)
    rows = sidebar(request)
    sender = store.sender_images(me, folder_id, uid)
    asked = request.GET.get("images") == "1"
    allow_remote = asked or sender.always
    body = _body(me, detail, allow_remote)
    body["previews"] = _previews(me, folder_id, uid, body["attachments"])
    folder_url = reverse("webmail:folder", args=[folder_id])
    message_url = lambda u: reverse("webmail:message", args=[folder_id, u])  # noqa: E731
    frame_query = "?images=1" if allow_remote else ""
    compose = reverse("webmail:compose")
    source = {"f": folder_id, "u": uid}
    return render(
        request,
        "mail/message.html",
        {
            "folders": rows,
            "folder": detail.folder,
            "m": detail,
            **body,
            "allow_remote": allow_remote,
            "sender": sender,
            "images_by_list": sender.always and not asked and _has_remote(me, detail, body["layout"]),
            "frame_url": reverse("webmail:frame", args=[folder_id, uid]) + frame_query,
            "folder_url": folder_url,
            "newer_url": message_url(detail.previous_uid) if detail.previous_uid else "",
            "older_url": message_url(detail.next_uid) if detail.next_uid else "",
            "after_delete": message_url(detail.next_uid) if detail.next_uid else folder_url,
            "reply_url": f"{compose}?{urlencode({**source, 'mode': 'reply'})}",
            "reply_all_url": f"{compose}?{urlencode({**source, 'mode': 'all'})}",
            "forward_url": f"{compose}?{urlencode({**source, 'mode': 'forward'})}",
            "attach_url": f"{compose}?{urlencode({**source, 'mode': 'attach'})}",
            "edit_url": f"{compose}?{urlencode({**source, 'mode': 'draft'})}",
            "seen": "\\Seen" in detail.flags,
            "flagged": "\\Flagged" in detail.flags,
            "is_draft": "\\Draft" in detail.flags or detail.folder.special_use == "\\Drafts",
            "show_bcc": detail.folder.special_use in ("\\Sent", "\\Drafts"),
            "title": detail.subject or _("(no subject)"),
        },
    )


@page
@xframe_options_sameorigin
def frame_view(request: HttpRequest, folder_id: int, uid: int) -> HttpResponse:
    """The HTML body as its own document, for a sandboxed iframe of the message page."""
    me = account_id(request)
    detail = store.open_message(me, folder_id, uid)
    layout = r.layout(detail.structure)
    if layout.html is None:
        raise store.NotFound("no HTML part")
    allow_remote = request.GET.get("images") == "1"
    html, _blocked, _inline = _sanitized(me, folder_id, uid, layout, allow_remote)
    response = render(request, "mail/frame.html", {"html": html})
    response["Content-Security-Policy"] = FRAME_CSP.format(remote=" https: http:" if allow_remote else "")
    return response


def _part(me: int, folder_id: int, uid: int, section: str) -> r.Part:
    numbers = r.parse_section(section)
    detail = store.open_message(me, folder_id, uid)
    node = mime.part_at(detail.structure, numbers) if numbers else None
    if node is None or node.get("parts"):
        raise store.NotFound("no such part")
    return r.Part(section, node)


@page
def attachment_view(request: HttpRequest, folder_id: int, uid: int, section: str) -> HttpResponse:
    """A part as a download, whatever it claims to be (never rendered by us)."""
    me = account_id(request)
    part = _part(me, folder_id, uid, section)
    body = part_body(me, folder_id, uid, part.node)
    media_type = part.media_type if valid_media_type(part.media_type) else "application/octet-stream"
    response = HttpResponse(body, content_type=media_type)
    response["Content-Disposition"] = content_disposition_header(True, part.filename)
    response["Content-Security-Policy"] = INERT_CSP
    return response


@page
def inline_view(request: HttpRequest, folder_id: int, uid: int, section: str) -> HttpResponse:
    """A raster image part for the HTML frame (cid: references); nothing else is served inline."""
    return _inline_part(request, folder_id, uid, section, r.INLINE_IMAGE_TYPES, INERT_CSP)


def _inline_part(
    request: HttpRequest, folder_id: int, uid: int, section: str, types: Collection[str], csp: str
) -> HttpResponse:
    """One part of one of the user's messages, served inline under its own
    CSP, if its type is one of `types` (anything else: 404)."""
    me = account_id(request)
    part = _part(me, folder_id, uid, section)
    if part.media_type not in types:
        raise store.NotFound("not served inline")
    response = HttpResponse(part_body(me, folder_id, uid, part.node), content_type=part.media_type)
    response["Content-Disposition"] = content_disposition_header(False, part.filename)
    response["Content-Security-Policy"] = csp
    response["Cache-Control"] = "private, max-age=3600"
    return response


@page
@xframe_options_sameorigin
def preview_view(request: HttpRequest, folder_id: int, uid: int, section: str) -> HttpResponse:
    """A PDF attachment for the browser's own viewer in an iframe of the
    message page, sandboxed by its own CSP; nothing else is served this way (images: inline_view; text: in the page)."""
    return _inline_part(request, folder_id, uid, section, ("application/pdf",), PDF_CSP)


@page
@require_POST
def always_images_view(request: HttpRequest, folder_id: int, uid: int) -> HttpResponse:
    """The button "Always load images from <sender>": the message's own From: address
    goes on the account's list (store/remote_images.py), if the message's
    author passed our checks; nothing the browser posts names the address."""
    me = account_id(request)
    sender = store.sender_images(me, folder_id, uid)
    back = HttpResponseRedirect(reverse("webmail:message", args=[folder_id, uid]))
    if not sender.sender or not sender.verified:
        flash.error(request, _("Images are loaded always only for a sender whose mail passes authentication checks."))
        return back
    store.allow_sender_images(me, sender.sender)
    flash.success(request, _("Images from %(sender)s will always be loaded.") % {"sender": sender.sender})
    return back


@page
def raw_view(request: HttpRequest, folder_id: int, uid: int) -> HttpResponse:
    """Show original: the message exactly as stored, as text (or a .eml download)."""
    data = store.message_bytes(account_id(request), folder_id, uid)
    download = request.GET.get("download") == "1"
    response = HttpResponse(data, content_type="message/rfc822" if download else "text/plain; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(download, f"message-{uid}.eml")
    response["Content-Security-Policy"] = INERT_CSP
    return response
