"""The account's own settings: display name, signature, vacation reply,
forwarding, the password, and the senders never filed as Junk."""

from __future__ import annotations

from dataclasses import replace

from django.contrib import messages as flash
from django.contrib.auth import update_session_auth_hash
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from mailboxes import store
from mailhost.clientip import client_ip

from .auth import BLOCKED, PROTOCOL
from .common import account_id, page, store_error
from .folders import sidebar

MIN_PASSWORD = 8


@page
def settings_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    me = account_id(request)
    prefs = store.get_preferences(me)
    error = ""
    if request.method == "POST":
        p = request.POST
        days = p.get("vacation_days", "")
        wanted = replace(
            prefs,
            display_name=p.get("display_name", "")[:1000],
            signature=p.get("signature", "")[:20000],
            vacation_enabled=p.get("vacation_enabled") == "on",
            vacation_subject=p.get("vacation_subject", "")[:1000],
            vacation_body=p.get("vacation_body", "")[:100_000],
            vacation_days=int(days) if days.isdigit() and len(days) < 5 else 0,
            forward_to=p.get("forward_to", "")[:400],
            forward_keep_copy=p.get("forward_keep_copy") == "on",
            conversations=p.get("conversations") == "on",
            rich_compose=p.get("rich_compose") == "on",
        )
        try:
            store.save_preferences(me, wanted)
            flash.success(request, _("Settings saved."))
            return HttpResponseRedirect(reverse("webmail:settings"))
        except store.InvalidInput as exc:
            error, prefs = str(exc), wanted
    return render(
        request,
        "mail/settings.html",
        {
            "folders": sidebar(request),
            "prefs": prefs,
            "error": error,
            "title": _("Settings"),
            "min_password": MIN_PASSWORD,
            "spam_allow": "\n".join(store.spam_allow_list(me)),
            "image_senders": store.image_senders(me),
        },
        status=400 if error else 200,
    )


@page
@require_POST
def spam_allow_view(request: HttpRequest) -> HttpResponse:
    """The "never Junk mail from" list (docs/SPAM.md): addresses or domains."""
    entries = request.POST.get("spam_allow", "")[:50_000].replace(",", "\n").splitlines()
    try:
        stored = store.save_spam_allow_list(account_id(request), entries)
        flash.success(
            request,
            ngettext(
                "Never Junk: %(n)d sender or domain saved.", "Never Junk: %(n)d senders or domains saved.", len(stored)
            )
            % {"n": len(stored)},
        )
    except store.InvalidInput as exc:
        flash.error(request, str(exc))
    return HttpResponseRedirect(reverse("webmail:settings"))


@page
@require_POST
def image_senders_view(request: HttpRequest) -> HttpResponse:
    """Take a sender off the "always load images" list (store/remote_images.py)."""
    address = request.POST.get("remove", "")[:400]
    if store.forget_sender_images(account_id(request), address):
        flash.success(request, _("Images from %(sender)s will be asked for again.") % {"sender": address.strip()})
    return HttpResponseRedirect(reverse("webmail:settings") + "#image-senders")


@sensitive_post_parameters("old", "new", "again")
@page
@require_POST
def password_view(request: HttpRequest) -> HttpResponse:
    """Change the password: the old one must be right; other sessions end."""
    address = request.user.address
    old, new, again = (request.POST.get(k, "")[:1024] for k in ("old", "new", "again"))
    back = HttpResponseRedirect(reverse("webmail:settings"))
    ip = client_ip(request)
    if store.login_blocked(address, ip):  # the old password is a password guess like any other
        flash.error(request, BLOCKED)
    elif store.authenticate(address, old) is None:
        store.record_login_failure(address, ip, PROTOCOL)
        flash.error(request, _("The current password is not right."))
    elif len(new) < MIN_PASSWORD:
        flash.error(request, _("The new password needs at least %(n)d characters.") % {"n": MIN_PASSWORD})
    elif new != again:
        flash.error(request, _("The new passwords do not match."))
    else:
        try:
            store.set_password(address, new, keep_session=request.session.session_key or "")
        except store.StoreError as exc:
            store_error(request, exc, "The password change")
            return back
        request.user.refresh_from_db(fields=["password"])
        update_session_auth_hash(request, request.user)  # this session stays signed in
        flash.success(request, _("Password changed."))
    return back
