"""Images pasted or dropped into the rich editor (issue #24 item 1).

The editor shows a new image from a blob: URL and posts it as a file of the
"inline" field, with its reference in "inline_ref" (the same order) and
`<img src="cid:<reference>">` in the HTML. Here each file must be a PNG,
JPEG, GIF or WebP image by its own first bytes (what the browser says is not
taken on trust), gets a Content-ID of ours, and its references are rewritten
to it by the sanitiser (richtext.clean_html_with_images). An image of the
message being edited (a draft) keeps its Content-ID. Only images the HTML
still shows are sent, as the parts of a multipart/related beside the HTML
(mailboxes.compose)."""

from __future__ import annotations

import re
from email.utils import make_msgid

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mailboxes import compose as mail
from mailboxes import store

from . import render as r
from .messages import part_body
from .richtext import clean_html_with_images

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
MAX_IMAGES = 50
_REF = re.compile(r"[A-Za-z0-9._-]{1,64}")
REFUSED = gettext_lazy(
    "%(name)s cannot be placed in the text: only PNG, JPEG, GIF and WebP images can. Attach it instead."
)


class Refused(Exception):
    """An image that cannot go in the text; the text is for the user."""


def sniff(data: bytes) -> str | None:
    """The image type by the file's signature, of the four we accept."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _uploaded(request: HttpRequest) -> dict[str, mail.Attachment]:
    """reference (lower-cased) -> the posted image, with a new Content-ID."""
    files = request.FILES.getlist("inline")
    refs = request.POST.getlist("inline_ref")
    if len(files) > MAX_IMAGES:
        raise Refused(_("At most %(n)d images can be placed in the text.") % {"n": MAX_IMAGES})
    if len(files) != len(refs) or not all(_REF.fullmatch(ref) for ref in refs):
        raise Refused(_("The images in the text did not arrive whole; place them again."))
    domain = request.user.address.rpartition("@")[2]
    out = {}
    for upload, ref in zip(files, refs, strict=True):
        data = upload.read()
        kind = sniff(data)
        if kind is None or (upload.content_type or "").lower() not in (*IMAGE_TYPES, "image/jpg"):
            raise Refused(str(REFUSED) % {"name": (upload.name or "")[:100]})
        cid = make_msgid(idstring="img", domain=domain)[1:-1]
        out[ref.lower()] = mail.Attachment(upload.name or "image", kind, data, content_id=cid)
    return out


def source_images(me: int, f: int | None, u: int | None) -> dict[str, r.Part]:
    """Content-ID (lower-cased) -> the image part of the message being edited."""
    if f is None or u is None:
        return {}
    layout = r.layout(store.open_message(me, f, u).structure)
    return {p.content_id.lower(): p for p in layout.attachments if p.content_id and p.media_type in IMAGE_TYPES}


def editor_urls(me: int, f: int | None, u: int | None) -> dict[str, str]:
    """Content-ID (lower-cased) -> the URL the editor shows that image of the source message from."""
    return {cid: reverse("webmail:inline", args=[f, u, part.section]) for cid, part in source_images(me, f, u).items()}


def related(request: HttpRequest, markup: str, f: int | None, u: int | None) -> tuple[str, list[mail.Attachment]]:
    """The editor's HTML made safe with its images' references rewritten,
    and the images it shows (Refused: one that may not be sent)."""
    me = int(request.user.pk)
    kept = source_images(me, f, u)
    new = _uploaded(request)
    cids = {cid: part.content_id for cid, part in kept.items()} | {ref: a.content_id for ref, a in new.items()}
    clean, used = clean_html_with_images(markup, cids)
    images = [a for a in new.values() if a.content_id in used]
    for part in kept.values():
        if part.content_id in used and f is not None and u is not None:
            images.append(
                mail.Attachment(part.filename, part.media_type, part_body(me, f, u, part.node), part.content_id)
            )
    return clean, images
