"""Signing in and out of the webmail.

The password is checked by store.login (the same entry point as every
protocol, with the brute-force defence: failures counted per IP and per
account across worker processes and doors); Django's
session then carries the login (new session key at login, CSRF token
rotated, cookie HttpOnly and SameSite, Secure with MAIL_HTTPS,
expiry SESSION_COOKIE_AGE). An account with two-factor sign-in on is
signed in only after its code (second_factor.py)."""

from __future__ import annotations

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from mailboxes import store
from mailhost.clientip import client_ip

from . import second_factor
from .common import public, safe_next

PROTOCOL = "web"  # the LoginRecord name of a webmail login
REFUSED = gettext_lazy("Wrong address or password.")
BLOCKED = gettext_lazy("Too many failed logins. Try again in a few minutes.")


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
        found = _check(request, address, request.POST.get("password", "")[:1024])
        if isinstance(found, store.AccountInfo):
            target = safe_next(request, home)
            return second_factor.sign_in(request, found.id, protocol=PROTOCOL, next_url=target) or HttpResponseRedirect(
                target
            )
        error, status = found, 403
    return render(
        request, "mail/login.html", {"address": address, "error": error, "next": safe_next(request, "")}, status=status
    )


def _check(request: HttpRequest, address: str, password: str) -> store.AccountInfo | str:
    """The account whose password this is, else the one line the login page shows."""
    ip = client_ip(request)
    if not address or not password:
        return REFUSED
    try:
        info = store.login(address, password, protocol=PROTOCOL, ip=ip)
    except store.LoginBlocked:
        return BLOCKED
    except store.LoginFailed:
        return REFUSED
    return info


@csrf_protect
@public
def passkey_login_view(request: HttpRequest) -> HttpResponse:
    """ "Sign in with a passkey": the passkey alone (second_factor.passwordless)."""
    return second_factor.passwordless(request, protocol=PROTOCOL, home=reverse("webmail:home"))


@public
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":  # a GET (an image in a mail, a link) must not sign anyone out
        return HttpResponseNotAllowed(["POST"])
    logout(request)
    return HttpResponseRedirect(reverse("webmail:login"))
