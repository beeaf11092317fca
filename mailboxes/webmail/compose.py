"""Writing mail: new, reply, reply all, forward (inline or as attachment),
drafts saved and resumed, address suggestions.

Sending takes the path SMTP submission takes: store.deliver (local copies
and the outbound queue, in one transaction), then the sender's copy (with
Bcc) is filed in Sent, the draft it came from removed and the message it
answers flagged \\Answered (store.record_sent, one transaction). The message
is built by mailboxes.compose with the standard library's email package."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesHeaderParser
from email.utils import make_msgid
from html import unescape as unescape_entities
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from mailboxes import compose as mail
from mailboxes import mime, store

from . import inline_images
from . import render as r
from .common import PAGE_CSP, account_id, page, store_error
from .folders import sidebar
from .messages import part_body, part_text
from .richtext import clean_html, clean_html_with_images, html_to_text, quote_html

log = logging.getLogger("mailboxes.webmail")

MODES = ("new", "reply", "all", "forward", "attach", "draft")
MAX_FIELD = 20_000


@dataclass
class Form:
    """What the compose page shows and posts back."""

    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    body: str = ""
    html: str = ""  # from the rich editor, sanitised (richtext.clean_html)
    mode: str = "new"
    f: int | None = None  # the source message (replied to, forwarded, or the draft)
    u: int | None = None
    draft: int | None = None  # the Drafts UID this edit replaces
    in_reply_to: str = ""
    references: str = ""
    attach_original: bool = False
    keep: list[str] = field(default_factory=list)  # sections of the source kept as attachments
    parts: list[r.Part] = field(default_factory=list)  # the source's attachments, offered to keep


def _addr(name: str, address: str) -> str:
    if not name:
        return address
    if any(c in name for c in ',;:<>@"()[]\\'):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>"


def _join(pairs: list[tuple[str, str]], exclude: set[str]) -> str:
    seen = set(exclude)
    out = []
    for name, address in pairs:
        if address.lower() not in seen:
            seen.add(address.lower())
            out.append(_addr(name, address))
    return ", ".join(out)


def _body_text(me: int, f: int, u: int, layout: r.Layout) -> str:
    """The message's text for quoting or editing (an HTML-only message's text content)."""
    if layout.text_parts:
        text = "\n".join(part_text(me, f, u, p.node) for p in layout.text_parts)
    elif layout.html is not None:
        text = unescape_entities(strip_tags(part_text(me, f, u, layout.html.node))).strip() + "\n"
    else:
        text = ""
    return text.replace("\r\n", "\n")


def _references(me: int, f: int, u: int, detail: store.MessageDetail) -> str:
    header = BytesHeaderParser(policy=policy.compat32).parsebytes(store.message_bytes(me, f, u, 0, detail.header_bytes))
    return str(header.get("references") or header.get("in-reply-to") or "")


def prefill(request: HttpRequest, mode: str, f: int | None, u: int | None) -> Form:
    me, own = account_id(request), request.user.address.lower()
    prefs = store.get_preferences(me)
    signature = f"\n\n-- \n{prefs.signature}" if prefs.signature.strip() else ""
    if mode == "new" or f is None or u is None:
        return Form(body=signature)
    detail = store.open_message(me, f, u)
    layout = r.layout(detail.structure)
    env = detail.envelope or {}
    text = _body_text(me, f, u, layout)
    form = Form(mode=mode, f=f, u=u)
    if mode in ("reply", "all"):
        form.to = _join(mail.envelope_addresses(env, "reply_to") or mail.envelope_addresses(env, "from"), {own})
        if mode == "all":
            form.cc = _join(
                mail.envelope_addresses(env, "to", "cc"), {own} | {a.lower() for _n, a in mail.parse_addresses(form.to)}
            )
        form.subject = mail.reply_subject(detail.subject)
        form.in_reply_to = detail.message_id
        form.references = mail.references_for(detail.message_id, _references(me, f, u, detail))
        author = r.short_name(detail.from_text) or "someone"
        form.body = signature + "\n\n" + mail.quote(text, author, detail.sent_date)
        if layout.html is not None and prefs.rich_compose:  # an HTML original is quoted as HTML
            form.html = quote_html(
                part_text(me, f, u, layout.html.node), mail.attribution(author, detail.sent_date), signature
            )
    elif mode in ("forward", "attach"):
        form.subject = mail.forward_subject(detail.subject)
        if mode == "attach":
            form.attach_original = True
            form.body = signature
        else:
            form.parts = layout.attachments
            form.keep = [p.section for p in layout.attachments]
            when = f"{detail.sent_date:%a, %d %b %Y %H:%M %z}" if detail.sent_date else ""
            form.body = (
                f"{signature}\n\n---------- Forwarded message ----------\nFrom: {detail.from_text}\n"
                f"Date: {when}\nSubject: {detail.subject}\nTo: {detail.to_text}\n\n{text}"
            )
    elif mode == "draft":
        form.to = _join(mail.envelope_addresses(env, "to"), set())
        form.cc = _join(mail.envelope_addresses(env, "cc"), set())
        form.bcc = _join(mail.envelope_addresses(env, "bcc"), set())
        form.subject = detail.subject
        form.body = text.rstrip("\n")
        used: set[str] = set()
        if layout.html is not None and prefs.rich_compose:  # a draft written with formatting keeps it, images too
            own = {cid: part.content_id for cid, part in inline_images.source_images(me, f, u).items()}
            form.html, used = clean_html_with_images(part_text(me, f, u, layout.html.node), own)
            form.html = form.html.strip()
        form.in_reply_to = env.get("in_reply_to") or ""
        form.references = _references(me, f, u, detail) if form.in_reply_to else ""
        form.parts = [p for p in layout.attachments if p.content_id not in used]  # images in the text stay there
        form.keep = [p.section for p in layout.attachments]
        if detail.folder.special_use == "\\Drafts":
            form.draft = u
    return form


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


def _posted(request: HttpRequest) -> Form:
    p = request.POST
    mode = p.get("mode", "new")
    return Form(
        to=p.get("to", "")[:MAX_FIELD],
        cc=p.get("cc", "")[:MAX_FIELD],
        bcc=p.get("bcc", "")[:MAX_FIELD],
        subject=p.get("subject", "")[:1000],
        body=p.get("body", ""),
        html=p["html"] if p.get("html", "").strip() else "",  # made safe by _compose (inline_images.related)
        mode=mode if mode in MODES else "new",
        f=_int(p.get("f")),
        u=_int(p.get("u")),
        draft=_int(p.get("draft")),
        in_reply_to=p.get("in_reply_to", "")[:1000],
        references=p.get("references", "")[:8000],
        attach_original=p.get("attach_original") == "1",
        keep=[s for s in p.getlist("keep")[:200] if r.parse_section(s)],
    )


def _attachments(request: HttpRequest, form: Form) -> list[mail.Attachment]:
    me = account_id(request)
    out = [
        mail.Attachment(f.name or "attachment", f.content_type or "application/octet-stream", f.read())
        for f in request.FILES.getlist("files")[:100]
    ]
    if form.f is None or form.u is None or not (form.keep or form.attach_original):
        return out
    detail = store.open_message(me, form.f, form.u)
    for section in form.keep:
        node = mime.part_at(detail.structure, r.parse_section(section) or [])
        if node is not None and not node.get("parts"):
            part = r.Part(section, node)
            out.append(mail.Attachment(part.filename, part.media_type, part_body(me, form.f, form.u, node)))
    if form.attach_original:
        name = (detail.subject or "message")[:60].replace("/", "_") + ".eml"
        out.append(mail.Attachment(name, "message/rfc822", store.message_bytes(me, form.f, form.u)))
    return out


def _source_parts(request: HttpRequest, form: Form) -> list[r.Part]:
    if form.f is None or form.u is None or form.mode not in ("forward", "draft"):
        return []
    return r.layout(store.open_message(account_id(request), form.f, form.u).structure).attachments


@csrf_exempt  # checked by _compose, once the size is known to be acceptable
@page
def compose_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    limit = settings.MAIL_MAX_MESSAGE_SIZE
    if request.method == "POST" and (_int(request.META.get("CONTENT_LENGTH")) or 0) > limit * 4 // 3 + 65536:
        # Refused before anything (the CSRF check included) reads and spools the upload.
        return _page(request, Form(), f"Attachments are limited to {limit // 1024 // 1024} MB in all.", 413)
    return _compose(request)


@csrf_protect
def _compose(request: HttpRequest) -> HttpResponse:
    limit = settings.MAIL_MAX_MESSAGE_SIZE
    if request.method != "POST":
        mode = request.GET.get("mode", "new")
        form = prefill(
            request, mode if mode in MODES else "new", _int(request.GET.get("f")), _int(request.GET.get("u"))
        )
        form.to = form.to or request.GET.get("to", "")[:1000]
        return _page(request, form)
    form = _posted(request)
    form.parts = _source_parts(request, form)
    try:
        form.html, related = inline_images.related(request, form.html, form.f, form.u) if form.html else ("", [])
    except inline_images.Refused as exc:
        form.html = clean_html(form.html)
        return _page(request, form, str(exc), 400)
    try:
        to, cc, bcc = (mail.parse_addresses(v) for v in (form.to, form.cc, form.bcc))
    except ValueError as exc:
        return _page(request, form, f"{exc}. Separate addresses with commas.", 400)
    sending = request.POST.get("action") != "save"
    recipients = list(dict.fromkeys(a.lower() for _n, a in to + cc + bcc))
    if sending and not recipients:
        return _page(request, form, "Add at least one recipient.", 400)
    if len(recipients) > settings.MAIL_MAX_RECIPIENTS:
        return _page(request, form, f"At most {settings.MAIL_MAX_RECIPIENTS} recipients.", 400)
    attachments = _attachments(request, form)
    rich = bool(form.html) and store.get_preferences(account_id(request)).rich_compose
    related = related if rich else []
    if sum(len(a.data) for a in attachments + related) > limit:
        return _page(request, form, f"Attachments are limited to {limit // 1024 // 1024} MB in all.", 413)
    outgoing = mail.Outgoing(
        from_address=request.user.address,
        from_name=request.user.display_name,
        to=tuple(to),
        cc=tuple(cc),
        bcc=tuple(bcc),
        subject=form.subject,
        text=html_to_text(form.html) if rich else form.body,
        html=form.html if rich else "",
        in_reply_to=form.in_reply_to,
        references=form.references,
        attachments=tuple(attachments),
        related=tuple(related),
        message_id=make_msgid(domain=request.user.address.rpartition("@")[2]),
    )
    own_copy = mail.build(outgoing, include_bcc=True)
    if len(own_copy) > limit:
        return _page(request, form, "The message is larger than this server accepts.", 413)
    if sending:
        return _send(request, form, mail.build(outgoing), own_copy, recipients)
    return _save(request, form, own_copy)


def _send(request: HttpRequest, form: Form, raw: bytes, own_copy: bytes, recipients: list[str]) -> HttpResponse:
    me = account_id(request)
    try:
        if store.unowned_authors(me, raw):  # the rule SMTP submission follows (issue #15 item 1)
            return _page(request, form, "Not sent: this account may not send as that From: address.", 403)
        store.check_sending(me, len(recipients))
        mail_from = request.user.address
        store.deliver(raw, recipients, mail_from, local_headers=store.return_path(mail_from), sender_account_id=me)
    except store.StoreError as exc:
        if isinstance(exc, store.SendingLimited):
            return _page(
                request,
                form,
                f"Not sent: this account may send to at most {settings.MAIL_SEND_LIMIT} "
                "recipients an hour. Try again later.",
                429,
            )
        if isinstance(exc, store.OverQuota):
            return _page(request, form, "Not sent: a recipient's mailbox here is full.", 409)
        if isinstance(exc, store.Unavailable):
            return _page(request, form, "Not sent: the mail store is not reachable; try again shortly.", 503)
        raise
    answered = (form.f, form.u) if form.mode in ("reply", "all") and form.f and form.u else None
    try:  # the message went: a failed count must not hide that
        store.record_sending(me, len(recipients))
    except store.StoreError:
        log.exception("counting the recipients account %s sent to failed", me)
    try:  # the people written to join the address book (automatic contacts)
        store.remember_recipients(me, mail.parse_addresses(", ".join((form.to, form.cc, form.bcc))))
    except store.StoreError:
        log.exception("adding the recipients of account %s to its contacts failed", me)
    try:
        store.record_sent(me, own_copy, draft_uid=form.draft, answered=answered)
        flash.success(request, _("Message sent."))
    except store.StoreError as exc:
        store_error(request, exc, _("Sent, but the copy in Sent was not saved"))
    return HttpResponseRedirect(reverse("webmail:home"))


def _save(request: HttpRequest, form: Form, own_copy: bytes) -> HttpResponse:
    try:
        saved = store.save_draft(account_id(request), own_copy, replaces=form.draft)
    except store.StoreError as exc:
        store_error(request, exc, _("The draft was not saved"))
        return _page(request, form, "The draft was not saved.", 409)
    flash.success(request, _("Draft saved."))
    query = urlencode({"mode": "draft", "f": saved.folder_id, "u": saved.uid})
    return HttpResponseRedirect(f"{reverse('webmail:compose')}?{query}")


def _page(request: HttpRequest, form: Form, error: str = "", status: int = 200) -> HttpResponse:
    me = account_id(request)
    response = render(
        request,
        "mail/compose.html",
        {
            "folders": sidebar(request),
            "form": form,
            "error": error,
            "title": _("Write"),
            "rich": store.get_preferences(me).rich_compose,
            "limit_mb": settings.MAIL_MAX_MESSAGE_SIZE // 1024 // 1024,
            "limit": settings.MAIL_MAX_MESSAGE_SIZE,
            "image_urls": inline_images.editor_urls(me, form.f, form.u),
            "image_refused": inline_images.REFUSED,  # the editor puts the file's name in
        },
        status=status,
    )
    # images pasted into the editor are shown from blob: URLs of the page's own making until sent
    response["Content-Security-Policy"] = PAGE_CSP.replace("img-src 'self'", "img-src 'self' blob:")
    return response


@page
def suggest(request: HttpRequest) -> HttpResponse:
    """Addresses from the account's contacts and correspondence matching what is being typed."""
    me, typed = account_id(request), request.GET.get("q", "")[:100]
    found = store.contact_suggestions(me, typed) + store.correspondents(me, typed)
    unique: dict[str, str] = {}  # the address book first, then past correspondents
    for name, address in found:
        unique.setdefault(address.lower(), _addr(name, address))
    groups = [  # a group chosen writes its members' addresses
        {
            "label": ngettext("%(name)s (group of %(count)d)", "%(name)s (group of %(count)d)", len(people))
            % {"name": name, "count": len(people)},
            "insert": ", ".join(_addr(n, a) for n, a in people),
        }
        for name, people in store.group_suggestions(me, typed)
    ]
    return JsonResponse({"groups": groups, "suggestions": list(unique.values())[:8]})
