"""The account's sign-in security: two-factor sign-in (a TOTP authenticator
enrolled with a QR code and a confirming code, ten recovery codes, turned
off with the password and a code) and app passwords for mail clients (made,
listed, revoked). A new app password, an authenticator's secret and the
recovery codes are shown on the page that made them and never again: they
never pass through the session's message store."""
from __future__ import annotations

import json
from collections.abc import Callable

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from mailboxes import store
from mailhost.clientip import client_ip

from .auth import BLOCKED, PROTOCOL
from .common import account_id, page, store_error
from .folders import sidebar
from .second_factor import begin_ceremony, ceremony_answer, qr_svg, relying_party

DOOR_NAMES = {"imap": "IMAP", "pop3": gettext_lazy("POP3 (and POP2)"), "smtp": gettext_lazy("SMTP (sending)"),
              "managesieve": "ManageSieve"}


def _page(request: HttpRequest, *, new: store.NewAppPassword | None = None, status: int = 200,
          enrolment: store.Enrolment | None = None, recovery_codes: list[str] | None = None,
          error: str = "") -> HttpResponse:
    me = account_id(request)
    return render(request, "mail/security.html", {
        "folders": sidebar(request), "title": _("Security"), "new": new, "error": error,
        "app_passwords": store.list_app_passwords(me), "doors": list(DOOR_NAMES.items()),
        "two_factor": store.totp_enabled(me), "passkeys": store.list_passkeys(me), "codes_left": store.recovery_codes_left(me),
        "enrolment": enrolment, "recovery_codes": recovery_codes,
        "sessions": store.list_web_sessions(me, current_key=request.session.session_key or ""),
        "qr_svg": qr_svg(enrolment.uri) if enrolment else ""},
        status=status)


@page
@require_POST
def totp_begin(request: HttpRequest) -> HttpResponse:
    try:
        return _page(request, enrolment=store.begin_totp(account_id(request)))
    except store.NotPermitted as exc:
        return _page(request, error=str(exc), status=400)


@sensitive_post_parameters("code")
@page
@require_POST
def totp_confirm(request: HttpRequest) -> HttpResponse:
    try:
        codes = store.confirm_totp(account_id(request), request.POST.get("code", "")[:64])
    except store.InvalidInput as exc:
        return _page(request, error=f"Two-factor sign-in is not on: {exc}.", status=400)
    return _page(request, recovery_codes=codes)


@sensitive_post_parameters("password", "code")
@page
@require_POST
def totp_disable(request: HttpRequest) -> HttpResponse:
    try:
        store.disable_two_factor(account_id(request), request.POST.get("password", "")[:1024],
                                 request.POST.get("code", "")[:64], protocol=PROTOCOL, ip=client_ip(request))
    except store.LoginBlocked:
        return _page(request, error=BLOCKED, status=403)
    except store.InvalidInput as exc:
        return _page(request, error=f"Two-factor sign-in is still on: {exc}.", status=403)
    flash.success(request, _("Two-factor sign-in is off."))
    return HttpResponseRedirect(reverse("webmail:security"))


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
        flash.error(request, _("The app password: %(error)s") % {"error": exc})
        return _page(request, status=400)
    return _page(request, new=made)  # shown here, once: never through the session's flash store


def _act(request: HttpRequest, action: Callable[[], object], *, success: str, what: str) -> HttpResponse:
    """One store action for a button, a message either way, back to the page."""
    try:
        action()
        flash.success(request, success)
    except store.StoreError as exc:
        store_error(request, exc, what)
    return HttpResponseRedirect(reverse("webmail:security"))


@page
@require_POST
def end_session(request: HttpRequest, web_session_id: int) -> HttpResponse:
    return _act(request, lambda: store.end_web_session(account_id(request), web_session_id),
                success=_("That browser is signed out."), what=_("Signing that browser out"))


@page
@require_POST
def end_sessions(request: HttpRequest) -> HttpResponse:
    """Every other browser, and every IMAP, POP3 and POP2 session."""
    return _act(request, lambda: store.end_sessions(account_id(request), keep=request.session.session_key or ""),
                success=_("Signed out everywhere else."), what=_("Signing out everywhere"))


@page
@require_POST
def passkey_options(request: HttpRequest) -> HttpResponse:
    return begin_ceremony(request, store.passkey_registration(account_id(request), relying_party(request)))


@page
@require_POST
def passkey_add(request: HttpRequest) -> HttpResponse:
    body, challenge = ceremony_answer(request)
    try:
        store.add_passkey(account_id(request), str(body.get("name", ""))[:200], json.dumps(body.get("credential")),
                          challenge, relying_party(request))
    except store.InvalidInput as exc:
        return JsonResponse({"error": f"The passkey was not added: {exc}."}, status=400)
    return JsonResponse({"ok": True})


@page
@require_POST
def passkey_remove(request: HttpRequest, passkey_id: int) -> HttpResponse:
    return _act(request, lambda: store.remove_passkey(account_id(request), passkey_id),
                success=_("Passkey removed."), what=_("Removing the passkey"))


@page
@require_POST
def revoke_app_password(request: HttpRequest, app_password_id: int) -> HttpResponse:
    return _act(request, lambda: store.revoke_app_password(account_id(request), app_password_id),
                success=_("App password revoked: it no longer opens anything."), what=_("Revoking the app password"))
