"""The second step of signing in, shared by the webmail and the dashboard.

After the right password (store.login), an account with two-factor sign-in
on is not signed in: the session (its key renewed) holds only which account
is half-way, by which door and where it was going, for PENDING_SECONDS; the
code page then asks for a TOTP or recovery code (store.check_second_factor:
each code once, wrong ones counted by the login throttle) and only then
signs the browser in. An account that must have two-factor sign-in and has
not (its domain's policy, MAIL_REQUIRE_2FA_FOR_ADMINS: store.must_enrol) is
sent to the enrolment page instead, and is signed in only once it has
enrolled. Nothing else answers a half-way session: every signed-in view
sees an anonymous visitor."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import segno
from django.contrib.auth import get_user_model, login
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from mailboxes import store
from mailhost.clientip import client_ip

from . import seen
from .common import public, safe_next

PENDING = "mailhost_signin_pending"
PENDING_SECONDS = 300
WRONG_CODE = gettext_lazy("That code is not right.")
BLOCKED = gettext_lazy("Too many failed logins. Try again in a few minutes.")


CODE, ENROL = "code", "enrol"


def sign_in(request: HttpRequest, account_id: int, *, protocol: str, next_url: str) -> HttpResponse | None:
    """After the right password: sign the browser in (None), or send it to
    the code page (two-factor sign-in on) or the enrolment page (it must be)."""
    step = CODE if store.two_factor_enabled(account_id) else ENROL if store.must_enrol(account_id) else None
    if step is None:
        _finish(request, account_id)
        return None
    request.session.cycle_key()
    request.session[PENDING] = {
        "id": account_id,
        "protocol": protocol,
        "next": next_url,
        "step": step,
        "until": time.time() + PENDING_SECONDS,
    }
    return HttpResponseRedirect(reverse("webmail:login_code" if step == CODE else "webmail:login_enrol"))


def _pending(request: HttpRequest, step: str) -> dict | None:
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or pending.get("until", 0) < time.time():
        request.session.pop(PENDING, None)  # expired: the password again
        return None
    return pending if pending.get("step") == step else None


def _finish(request: HttpRequest, account_id: int) -> None:
    # Django's session login wants the user row; the store has vouched for it.
    user = get_user_model()._default_manager.get(pk=account_id)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    seen.note(request)  # listed among the account's signed-in browsers


@sensitive_post_parameters("code")
@csrf_protect
@public
def code_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    pending = _pending(request, CODE)
    if pending is None:
        return HttpResponseRedirect(reverse("webmail:login"))
    error, status = "", 200
    if request.method == "POST":
        try:
            right = store.check_second_factor(
                pending["id"], request.POST.get("code", "")[:64], protocol=pending["protocol"], ip=client_ip(request)
            )
        except store.LoginBlocked:
            right, error = False, BLOCKED
        if right:
            del request.session[PENDING]
            _finish(request, pending["id"])
            return HttpResponseRedirect(pending["next"])
        error, status = error or WRONG_CODE, 403
    return render(
        request,
        "mail/login_code.html",
        {"error": error, "passkeys": bool(store.list_passkeys(pending["id"]))},
        status=status,
    )


@sensitive_post_parameters("code")
@csrf_protect
@public
def enrol_view(request: HttpRequest) -> HttpResponse:
    """Enrolment that policy requires: the QR code and a confirming code;
    then the recovery codes, shown once, with the browser signed in."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    pending = _pending(request, ENROL)
    if pending is None:
        return HttpResponseRedirect(reverse("webmail:login"))
    if request.method == "POST":
        try:
            codes = store.confirm_totp(pending["id"], request.POST.get("code", "")[:64])
        except store.InvalidInput:
            return render(request, "mail/login_enrol.html", {"error": WRONG_CODE, **_enrolment(pending)}, status=403)
        del request.session[PENDING]
        _finish(request, pending["id"])
        return render(request, "mail/login_enrol.html", {"recovery_codes": codes, "next": pending["next"]})
    return render(request, "mail/login_enrol.html", _enrolment(pending))


# --- passkeys -------------------------------------------------------------

CHALLENGE = "mailhost_passkey_challenge"


def relying_party(request: HttpRequest) -> store.RelyingParty:
    """The web's host name and origin, as the browser sees them."""
    host = request.get_host()
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return store.RelyingParty(name.strip("[]"), f"{request.scheme}://{host}")


def begin_ceremony(request: HttpRequest, ceremony: store.Ceremony) -> JsonResponse:
    """The options for the browser; the challenge kept in the session."""
    request.session[CHALLENGE] = ceremony.challenge.hex()
    return JsonResponse(json.loads(ceremony.options_json))


def ceremony_answer(request: HttpRequest) -> tuple[dict, bytes]:
    """The browser's JSON body and the challenge it answers (used once)."""
    try:
        body = json.loads(request.body[:65536] or b"{}")
    except ValueError:
        body = {}
    challenge = bytes.fromhex(request.session.pop(CHALLENGE, ""))
    return (body if isinstance(body, dict) else {}), challenge


@csrf_protect
@public
def passkey_options(request: HttpRequest) -> HttpResponse:
    pending = _pending(request, CODE)
    if pending is None or request.method != "POST":
        return JsonResponse({"error": gettext_lazy("Sign in with your password first.")}, status=403)
    return begin_ceremony(request, store.passkey_authentication(pending["id"], relying_party(request)))


@csrf_protect
@public
def passkey_sign_in(request: HttpRequest) -> HttpResponse:
    pending = _pending(request, CODE)
    if pending is None or request.method != "POST":
        return JsonResponse({"error": gettext_lazy("Sign in with your password first.")}, status=403)
    body, challenge = ceremony_answer(request)
    try:
        right = store.check_passkey(
            pending["id"],
            json.dumps(body.get("credential")),
            challenge,
            relying_party(request),
            protocol=pending["protocol"],
            ip=client_ip(request),
        )
    except store.LoginBlocked:
        return JsonResponse({"error": BLOCKED}, status=403)
    if not right:
        return JsonResponse({"error": gettext_lazy("That passkey was not accepted.")}, status=403)
    del request.session[PENDING]
    _finish(request, pending["id"])
    return JsonResponse({"next": pending["next"]})


# --- a passkey on its own (passwordless) ---------------------------------------

PASSKEY_REFUSED = "That passkey was not accepted."


@csrf_protect
@public
def passwordless_options(request: HttpRequest) -> HttpResponse:
    """The options of a sign-in with a passkey alone (the webmail's and the dashboard's)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    return begin_ceremony(request, store.passkey_discovery(relying_party(request)))


def passwordless(
    request: HttpRequest, *, protocol: str, home: str, refusal: Callable[[store.AccountInfo], str] | None = None
) -> HttpResponse:
    """Sign the browser in with a passkey alone: the passkey names the
    account and, with user verification, stands for both factors
    (store.passkey_login: the login throttle, failure count and login record
    of a password sign-in). `refusal` may still say no (the dashboard: an
    account without access). The JSON answer says where to go next."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    body, challenge = ceremony_answer(request)
    try:
        info = store.passkey_login(
            json.dumps(body.get("credential")),
            challenge,
            relying_party(request),
            protocol=protocol,
            ip=client_ip(request),
        )
    except store.LoginBlocked:
        return JsonResponse({"error": BLOCKED}, status=403)
    except store.LoginFailed:
        return JsonResponse({"error": PASSKEY_REFUSED}, status=403)
    refused = refusal(info) if refusal is not None else ""
    if refused:
        return JsonResponse({"error": refused}, status=403)
    request.session.pop(PENDING, None)
    _finish(request, info.id)
    return JsonResponse({"next": safe_next(request, home)})


def _enrolment(pending: dict) -> dict[str, object]:
    enrolment = store.begin_totp(pending["id"])
    return {"enrolment": enrolment, "qr_svg": qr_svg(enrolment.uri)}


def qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code (segno; no outside service)."""
    return mark_safe(segno.make(uri, error="m").svg_inline(scale=4))  # segno's own markup, no user text
