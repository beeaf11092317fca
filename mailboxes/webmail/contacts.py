"""The address book: the list with a form to add, a contact's page to edit or
delete, vCard import (a .vcf upload) and export (all contacts as one .vcf).
Every write is a store call (store/contacts.py)."""

from __future__ import annotations

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from mailboxes import store
from mailboxes.store import search as s

from .common import account_id, page
from .folders import list_rows, sidebar

MAX_UPLOAD = 5 * 1024 * 1024
RECENT = 10  # messages with a contact shown on its page


def with_them(addresses: tuple[str, ...]) -> s.Criterion | None:
    """Mail from, to or copied to any of the addresses."""
    found: s.Criterion | None = None
    for address in addresses:
        one = s.Or(s.Header("from", address), s.Or(s.Header("to", address), s.Header("cc", address)))
        found = one if found is None else s.Or(found, one)
    return found


def _fields(request: HttpRequest) -> dict:
    p = request.POST
    return {
        "name": p.get("name", "")[:1000],
        "phone": p.get("phone", "")[:1000],
        "notes": p.get("notes", "")[:20000],
        "addresses": p.get("addresses", "")[:20000].replace(",", "\n").splitlines(),
    }


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    folders = context.pop("folders", None) or sidebar(request)
    return render(request, template, {"folders": folders, "title": "Contacts", **context}, status=status)


@page
def contacts_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    me, error, posted = account_id(request), "", {}
    if request.method == "POST":
        posted = _fields(request)
        try:
            store.save_contact(me, None, **posted)
            flash.success(request, _("Contact added."))
            return HttpResponseRedirect(reverse("webmail:contacts"))
        except store.InvalidInput as exc:
            error = str(exc)
    query = request.GET.get("q", "")[:200]
    return _render(
        request,
        "mail/contacts.html",
        {"contacts": store.list_contacts(me, query), "q": query, "error": error, "posted": posted},
        status=400 if error else 200,
    )


@page
def contact_view(request: HttpRequest, contact_id: int) -> HttpResponse:
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    me, error = account_id(request), ""
    contact = store.get_contact(me, contact_id)
    if request.method == "POST":
        if request.POST.get("op") == "delete":
            store.delete_contact(me, contact_id)
            flash.success(request, _("Deleted %(name)s.") % {"name": contact.name or contact.addresses[0]})
            return HttpResponseRedirect(reverse("webmail:contacts"))
        try:
            store.save_contact(me, contact_id, **_fields(request))
            flash.success(request, _("Contact saved."))
            return HttpResponseRedirect(reverse("webmail:contact", args=[contact_id]))
        except store.InvalidInput as exc:
            error = str(exc)
    query = with_them(contact.addresses)
    recent = store.search_messages(me, query, per_page=RECENT).items if query else []
    rows = sidebar(request)
    return _render(
        request,
        "mail/contact.html",
        {
            "contact": contact,
            "error": error,
            "folders": rows,
            "rows": list_rows(recent, False, {r.id: r.name for r in rows}),
        },
        status=400 if error else 200,
    )


@page
@require_POST
def import_view(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("vcards")
    if upload is None or upload.size > MAX_UPLOAD:
        flash.error(request, _("Choose a vCard (.vcf) file of at most 5 MB."))
        return HttpResponseRedirect(reverse("webmail:contacts"))
    try:
        count = store.import_vcards(account_id(request), upload.read().decode("utf-8", "replace"))
        flash.success(
            request, ngettext("Imported %(count)d contact.", "Imported %(count)d contacts.", count) % {"count": count}
        )
    except store.InvalidInput as exc:
        flash.error(request, _("Nothing imported: %(reason)s") % {"reason": exc})
    return HttpResponseRedirect(reverse("webmail:contacts"))


@page
def export_view(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(store.export_vcards(account_id(request)), content_type="text/vcard; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, "contacts.vcf")
    return response
