"""The account's sign-in security: two-factor sign-in (a TOTP authenticator
enrolled with a QR code and a confirming code, ten recovery codes, turned
off with the password and a code) and app passwords for mail clients (made,
listed, revoked). A new app password, an authenticator's secret and the
recovery codes are shown on the page that made them and never again: they
never pass through the session's message store.

One implementation serves two pages: the webmail's Settings -> Security
(/mail/settings/security/) and the dashboard's own Security page for the
signed-in administrator (/manage/security/, mailboxes/dashboard/urls.py).
ROUTES lists the views once; each URL namespace mounts them, and `own`
puts each view behind that namespace's gate (the webmail's `page`, or
`dashboard_view`) and renders into its template (Where)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from mailboxes import store
from mailboxes.dashboard import auth as dashboard_auth
from mailboxes.dashboard.access import PASSKEY_PAGE_CSP, dashboard_view
from mailhost.clientip import client_ip

from .auth import BLOCKED, PROTOCOL
from .common import View, account_id, page, store_error
from .folders import sidebar
from .second_factor import begin_ceremony, ceremony_answer, qr_svg, relying_party

DOOR_NAMES = {
    "imap": "IMAP",
    "pop3": gettext_lazy("POP3 (and POP2)"),
    "smtp": gettext_lazy("SMTP (sending)"),
    "managesieve": "ManageSieve",
}


@dataclass(frozen=True)
class Where:
    """The page a security view answers on."""

    namespace: str  # its URL namespace
    template: str
    protocol: str  # the login door a wrong code is counted for
    context: Callable[[HttpRequest], dict[str, object]]
    gate: Callable[[View], View]  # signed in, and allowed there


WEBMAIL = Where(
    "webmail",
    "mail/security.html",
    PROTOCOL,
    lambda request: {"folders": sidebar(request), "title": _("Security")},
    page,
)
DASHBOARD = Where(
    "manage", "manage/security.html", dashboard_auth.PROTOCOL, lambda request: {"section": "security"}, dashboard_view
)


def _where(request: HttpRequest) -> Where:
    return DASHBOARD if request.resolver_match and request.resolver_match.namespace == DASHBOARD.namespace else WEBMAIL


def own(view: View) -> View:
    """A view of the signed-in account's own security, behind the gate of
    the page it is mounted on; the dashboard's page runs our passkey script."""
    gated = {where.namespace: where.gate(view) for where in (WEBMAIL, DASHBOARD)}

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        where = _where(request)
        response = gated[where.namespace](request, *args, **kwargs)
        if where is DASHBOARD and response.get("Content-Type", "").startswith("text/html"):
            response["Content-Security-Policy"] = PASSKEY_PAGE_CSP
        return response

    return wrapper


def _page(
    request: HttpRequest,
    *,
    new: store.NewAppPassword | None = None,
    status: int = 200,
    enrolment: store.Enrolment | None = None,
    recovery_codes: list[str] | None = None,
    error: str = "",
) -> HttpResponse:
    me, where = account_id(request), _where(request)
    return render(
        request,
        where.template,
        {
            **where.context(request),
            "ns": where.namespace,
            "new": new,
            "error": error,
            "app_passwords": store.list_app_passwords(me),
            "doors": list(DOOR_NAMES.items()),
            "two_factor": store.totp_enabled(me),
            "passkeys": store.list_passkeys(me),
            "codes_left": store.recovery_codes_left(me),
            "enrolment": enrolment,
            "recovery_codes": recovery_codes,
            "sessions": store.list_web_sessions(me, current_key=request.session.session_key or ""),
            "qr_svg": qr_svg(enrolment.uri) if enrolment else "",
        },
        status=status,
    )


def _back(request: HttpRequest) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse(f"{_where(request).namespace}:security"))


@own
@require_POST
def totp_begin(request: HttpRequest) -> HttpResponse:
    try:
        return _page(request, enrolment=store.begin_totp(account_id(request)))
    except store.NotPermitted as exc:
        return _page(request, error=str(exc), status=400)


@sensitive_post_parameters("code")
@own
@require_POST
def totp_confirm(request: HttpRequest) -> HttpResponse:
    try:
        codes = store.confirm_totp(account_id(request), request.POST.get("code", "")[:64])
    except store.InvalidInput as exc:
        return _page(request, error=_("Two-factor sign-in is not on: %(reason)s.") % {"reason": exc}, status=400)
    return _page(request, recovery_codes=codes)


@sensitive_post_parameters("password", "code")
@own
@require_POST
def totp_disable(request: HttpRequest) -> HttpResponse:
    try:
        store.disable_two_factor(
            account_id(request),
            request.POST.get("password", "")[:1024],
            request.POST.get("code", "")[:64],
            protocol=_where(request).protocol,
            ip=client_ip(request),
        )
    except store.LoginBlocked:
        return _page(request, error=BLOCKED, status=403)
    except store.InvalidInput as exc:
        return _page(request, error=_("Two-factor sign-in is still on: %(reason)s.") % {"reason": exc}, status=403)
    flash.success(request, _("Two-factor sign-in is off."))
    return _back(request)


@own
def security_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    return _page(request)


@own
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
    return _back(request)


@own
@require_POST
def end_session(request: HttpRequest, web_session_id: int) -> HttpResponse:
    return _act(
        request,
        lambda: store.end_web_session(account_id(request), web_session_id),
        success=_("That browser is signed out."),
        what=_("Signing that browser out"),
    )


@own
@require_POST
def end_sessions(request: HttpRequest) -> HttpResponse:
    """Every other browser, and every IMAP, POP3 and POP2 session."""
    return _act(
        request,
        lambda: store.end_sessions(account_id(request), keep=request.session.session_key or ""),
        success=_("Signed out everywhere else."),
        what=_("Signing out everywhere"),
    )


@own
@require_POST
def passkey_options(request: HttpRequest) -> HttpResponse:
    return begin_ceremony(request, store.passkey_registration(account_id(request), relying_party(request)))


@own
@require_POST
def passkey_add(request: HttpRequest) -> HttpResponse:
    body, challenge = ceremony_answer(request)
    try:
        store.add_passkey(
            account_id(request),
            str(body.get("name", ""))[:200],
            json.dumps(body.get("credential")),
            challenge,
            relying_party(request),
        )
    except store.InvalidInput as exc:
        return JsonResponse({"error": _("The passkey was not added: %(reason)s.") % {"reason": exc}}, status=400)
    return JsonResponse({"ok": True})


@own
@require_POST
def passkey_remove(request: HttpRequest, passkey_id: int) -> HttpResponse:
    return _act(
        request,
        lambda: store.remove_passkey(account_id(request), passkey_id),
        success=_("Passkey removed."),
        what=_("Removing the passkey"),
    )


@own
@require_POST
def revoke_app_password(request: HttpRequest, app_password_id: int) -> HttpResponse:
    return _act(
        request,
        lambda: store.revoke_app_password(account_id(request), app_password_id),
        success=_("App password revoked: it no longer opens anything."),
        what=_("Revoking the app password"),
    )


# Mounted under settings/security/ in the webmail and security/ in the dashboard.
ROUTES = [
    ("", security_view, "security"),
    ("totp/begin", totp_begin, "totp_begin"),
    ("totp/confirm", totp_confirm, "totp_confirm"),
    ("totp/disable", totp_disable, "totp_disable"),
    ("sessions/<int:web_session_id>/end", end_session, "session_end"),
    ("sessions/end", end_sessions, "sessions_end"),
    ("passkeys/options", passkey_options, "passkey_options"),
    ("passkeys/add", passkey_add, "passkey_add"),
    ("passkeys/<int:passkey_id>/remove", passkey_remove, "passkey_remove"),
    ("app-passwords", create_app_password, "app_password_create"),
    ("app-passwords/<int:app_password_id>/revoke", revoke_app_password, "app_password_revoke"),
]
