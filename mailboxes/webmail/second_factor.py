"""The second step of signing in, shared by the webmail and the dashboard.

After the right password (store.login), an account with two-factor sign-in
on is not signed in: the session (its key renewed) holds only which account
is half-way, by which door and where it was going, for PENDING_SECONDS; the
code page then asks for a TOTP or recovery code (store.check_second_factor:
each code once, wrong ones counted by the login throttle) and only then
signs the browser in. Nothing else answers a half-way session: every
signed-in view sees an anonymous visitor."""
from __future__ import annotations

import time

from django.contrib.auth import get_user_model, login
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from mailboxes import store
from mailhost.clientip import client_ip

from .common import public

PENDING = "mailhost_signin_pending"
PENDING_SECONDS = 300
WRONG_CODE = "That code is not right."
BLOCKED = "Too many failed logins. Try again in a few minutes."


def sign_in(request: HttpRequest, account_id: int, *, protocol: str, next_url: str) -> HttpResponse | None:
    """After the right password: sign the browser in (None), or, when the
    account has two-factor sign-in on, send it to the code page."""
    if not store.two_factor_enabled(account_id):
        _finish(request, account_id)
        return None
    request.session.cycle_key()
    request.session[PENDING] = {"id": account_id, "protocol": protocol, "next": next_url,
                                "until": time.time() + PENDING_SECONDS}
    return HttpResponseRedirect(reverse("webmail:login_code"))


def _finish(request: HttpRequest, account_id: int) -> None:
    # Django's session login wants the user row; the store has vouched for it.
    user = get_user_model()._default_manager.get(pk=account_id)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")


@sensitive_post_parameters("code")
@csrf_protect
@public
def code_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or pending.get("until", 0) < time.time():
        request.session.pop(PENDING, None)
        return HttpResponseRedirect(reverse("webmail:login"))
    error, status = "", 200
    if request.method == "POST":
        try:
            right = store.check_second_factor(pending["id"], request.POST.get("code", "")[:64],
                                              protocol=pending["protocol"], ip=client_ip(request))
        except store.LoginBlocked:
            right, error = False, BLOCKED
        if right:
            del request.session[PENDING]
            _finish(request, pending["id"])
            return HttpResponseRedirect(pending["next"])
        error, status = error or WRONG_CODE, 403
    return render(request, "mail/login_code.html", {"error": error}, status=status)
