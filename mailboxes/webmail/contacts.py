"""The address book: the list with a form to add, a contact's page to edit or
delete (and put in groups), a group's page, vCard import (a .vcf upload) and
export (all contacts as one .vcf).
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
RECENT = 20  # messages with a contact shown on its page


def with_them(addresses: tuple[str, ...]) -> s.Criterion | None:
    """Mail from, to or copied to any of the addresses (whole addresses:
    a contact al@example.test is not shown sal@example.test's mail)."""
    found: s.Criterion | None = None
    for address in addresses:
        one = s.Or(s.Address("from", address), s.Or(s.Address("to", address), s.Address("cc", address)))
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
    if request.method == "POST":
        posted = _fields(request)
        try:
            store.save_contact(account_id(request), None, **posted)
            flash.success(request, _("Contact added."))
            return HttpResponseRedirect(reverse("webmail:contacts"))
        except store.InvalidInput as exc:
            return _contacts_page(request, error=str(exc), posted=posted)
    return _contacts_page(request)


def _contacts_page(
    request: HttpRequest, *, error: str = "", group_error: str = "", posted: dict | None = None
) -> HttpResponse:
    """The contacts and the groups, with a form's error and what was posted when there is one."""
    me, query = account_id(request), request.GET.get("q", "")[:200]
    return _render(
        request,
        "mail/contacts.html",
        {
            "contacts": store.list_contacts(me, query),
            "groups": store.list_groups(me),
            "q": query,
            "error": error,
            "group_error": group_error,
            "posted": posted or {},
        },
        status=400 if error or group_error else 200,
    )


@page
def contact_view(request: HttpRequest, contact_id: int) -> HttpResponse:
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    me, error = account_id(request), ""
    contact = store.get_contact(me, contact_id)
    if request.method == "POST":
        op = request.POST.get("op")
        if op == "delete":
            store.delete_contact(me, contact_id)
            flash.success(request, _("Deleted %(name)s.") % {"name": contact.name or contact.addresses[0]})
            return HttpResponseRedirect(reverse("webmail:contacts"))
        if op in ("join", "leave"):
            group = _number(request.POST.get("group"))
            (store.add_to_group if op == "join" else store.remove_from_group)(me, group, contact_id)
            return HttpResponseRedirect(reverse("webmail:contact", args=[contact_id]))
        try:
            store.save_contact(me, contact_id, **_fields(request))
            flash.success(request, _("Contact saved."))
            return HttpResponseRedirect(reverse("webmail:contact", args=[contact_id]))
        except store.InvalidInput as exc:
            error = str(exc)
    query = with_them(contact.addresses)
    recent = store.search_messages(me, query, per_page=RECENT).items if query else []
    rows = sidebar(request)
    groups = store.list_groups(me)
    return _render(
        request,
        "mail/contact.html",
        {
            "contact": contact,
            "error": error,
            "folders": rows,
            "rows": list_rows(recent, False, {r.id: r.name for r in rows}),
            "in_groups": [g for g in groups if contact_id in g.member_ids],
            "other_groups": [g for g in groups if contact_id not in g.member_ids],
        },
        status=400 if error else 200,
    )


def _number(text: str | None) -> int:
    """A posted id; anything else is no such thing (404)."""
    if not (text or "").isdigit() or len(text or "") > 18:
        raise store.NotFound("no such group or contact")
    return int(text or "")


@page
@require_POST
def groups_view(request: HttpRequest) -> HttpResponse:
    """A new group, made from the Contacts page."""
    me = account_id(request)
    try:
        group = store.create_group(me, request.POST.get("name", "")[:1000])
    except store.InvalidInput as exc:
        return _contacts_page(request, group_error=str(exc))
    flash.success(request, _("Group %(name)s made.") % {"name": group.name})
    return HttpResponseRedirect(reverse("webmail:contact_group", args=[group.id]))


@page
def group_view(request: HttpRequest, group_id: int) -> HttpResponse:
    """A group's page: its members (each can be taken out), rename, delete."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    me, error = account_id(request), ""
    members = store.group_members(me, group_id)  # NotFound (404) for a group not the account's
    group = next((g for g in store.list_groups(me) if g.id == group_id), None)
    if group is None:  # deleted between the two reads
        raise store.NotFound("no such group")
    if request.method == "POST":
        op = request.POST.get("op")
        if op == "delete":
            store.delete_group(me, group_id)
            flash.success(request, _("Deleted the group %(name)s.") % {"name": group.name})
            return HttpResponseRedirect(reverse("webmail:contacts"))
        if op == "remove":
            store.remove_from_group(me, group_id, _number(request.POST.get("contact")))
            return HttpResponseRedirect(reverse("webmail:contact_group", args=[group_id]))
        try:
            store.rename_group(me, group_id, request.POST.get("name", "")[:1000])
            flash.success(request, _("Group renamed."))
            return HttpResponseRedirect(reverse("webmail:contact_group", args=[group_id]))
        except store.InvalidInput as exc:
            error = str(exc)
    return _render(
        request,
        "mail/contact_group.html",
        {"group": group, "members": members, "error": error},
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
