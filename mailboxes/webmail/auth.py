"""Signing in and out of the webmail.

The password is checked by store.login (the same entry point as every
protocol, with the brute-force defence: failures counted per IP and per
account across worker processes and doors); Django's
session then carries the login (new session key at login, CSRF token
rotated, cookie HttpOnly and SameSite, Secure with MAIL_HTTPS,
expiry SESSION_COOKIE_AGE)."""
from __future__ import annotations

from django.contrib.auth import get_user_model, login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from mailboxes import store
from mailhost.clientip import client_ip

from .common import public, safe_next

PROTOCOL = "web"  # the LoginRecord name of a webmail login
REFUSED = "Wrong address or password."
BLOCKED = "Too many failed logins. Try again in a few minutes."


@sensitive_post_parameters("password")
@csrf_protect
@public
def login_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    home = reverse("webmail:home")
    if request.method != "POST" and request.user.is_authenticated:
        return HttpResponseRedirect(home)
    address = request.POST.get("address", "")[:320].strip()
    error, status = "", 200
    if request.method == "POST":
        error = _log_in(request, address, request.POST.get("password", "")[:1024])
        if not error:
            return HttpResponseRedirect(safe_next(request, home))
        status = 403
    return render(request, "mail/login.html", {"address": address, "error": error,
                                               "next": safe_next(request, "")}, status=status)


def _log_in(request: HttpRequest, address: str, password: str) -> str:
    """'' once signed in, else the one line the login page shows."""
    ip = client_ip(request)
    if not address or not password:
        return REFUSED
    try:
        info = store.login(address, password, protocol=PROTOCOL, ip=ip)
    except store.LoginBlocked:
        return BLOCKED
    except store.LoginFailed:
        return REFUSED
    # Django's session login wants the user row; the store has vouched for it.
    user = get_user_model()._default_manager.get(pk=info.id)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return ""


@public
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":  # a GET (an image in a mail, a link) must not sign anyone out
        return HttpResponseNotAllowed(["POST"])
    logout(request)
    return HttpResponseRedirect(reverse("webmail:login"))
