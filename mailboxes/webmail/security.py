"""The account's sign-in security: app passwords for mail clients (made,
listed, revoked). A new app password is shown on the page that made it and
never again (it is stored hashed)."""
from __future__ import annotations

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from mailboxes import store

from .common import account_id, page, store_error
from .folders import sidebar

DOOR_NAMES = {"imap": "IMAP", "pop3": "POP3 (and POP2)", "smtp": "SMTP (sending)", "managesieve": "ManageSieve"}


def _page(request: HttpRequest, *, new: store.NewAppPassword | None = None, status: int = 200) -> HttpResponse:
    return render(request, "mail/security.html", {
        "folders": sidebar(request), "title": "Security", "new": new,
        "app_passwords": store.list_app_passwords(account_id(request)),
        "doors": list(DOOR_NAMES.items())}, status=status)


@page
def security_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    return _page(request)


@page
@require_POST
def create_app_password(request: HttpRequest) -> HttpResponse:
    doors = [door for door in store.DOORS if request.POST.get(f"door_{door}") == "on"]
    try:
        made = store.create_app_password(account_id(request), request.POST.get("name", "")[:200], doors)
    except store.InvalidInput as exc:
        flash.error(request, f"The app password: {exc}")
        return _page(request, status=400)
    return _page(request, new=made)  # shown here, once: never through the session's flash store


@page
@require_POST
def revoke_app_password(request: HttpRequest, app_password_id: int) -> HttpResponse:
    try:
        store.revoke_app_password(account_id(request), app_password_id)
        flash.success(request, "App password revoked: it no longer opens anything.")
    except store.StoreError as exc:
        store_error(request, exc, "Revoking the app password")
    return HttpResponseRedirect(reverse("webmail:security"))
