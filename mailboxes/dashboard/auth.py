"""Logging in to the dashboard: Django's session auth, behind the store's
password check and failed-login throttle. An account that is neither
superuser nor domain admin is refused here (it has the webmail)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from mailboxes import store
from mailboxes.webmail import second_factor
from mailhost.clientip import client_ip

from .access import PASSKEY_PAGE_CSP, with_security_headers

PROTOCOL = "manage"  # the LoginRecord name of a dashboard login
REFUSED = "Wrong address or password."
NO_ACCESS = "This account has no access to the dashboard; its mail is in the webmail."


class LoginForm(forms.Form):
    address = forms.CharField(max_length=320, widget=forms.EmailInput(attrs={"autofocus": True}), label=_("Address"))
    password = forms.CharField(max_length=1024, widget=forms.PasswordInput, label=_("Password"))


@sensitive_post_parameters("password")
@csrf_protect
def login_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        next_url = ""
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        found = _check(request, form.cleaned_data["address"], form.cleaned_data["password"])
        if isinstance(found, store.AccountInfo):
            target = next_url or reverse("manage:overview")
            return second_factor.sign_in(request, found.id, protocol=PROTOCOL, next_url=target) or HttpResponseRedirect(
                target
            )
        form.add_error(None, found)
        status = 403
    response = render(request, "manage/login.html", {"form": form, "next": next_url}, status=status)
    response["Content-Security-Policy"] = PASSKEY_PAGE_CSP  # "Sign in with a passkey" runs our script
    return with_security_headers(response)


def _check(request: HttpRequest, address: str, password: str) -> store.AccountInfo | str:
    """The account, if its password is right and it may use the dashboard,
    else the one line the login page shows. The second step, for an account
    with two-factor sign-in on, is the webmail's code page (one flow)."""
    ip = client_ip(request)
    try:
        info = store.login(address, password, protocol=PROTOCOL, ip=ip)
    except store.LoginBlocked:
        return "Too many failed logins. Try again in a few minutes."
    except store.LoginFailed:
        return REFUSED
    return _no_access(info) or info


def _no_access(info: store.AccountInfo) -> str:
    return "" if store.admin_actor(info.id) is not None else NO_ACCESS


@csrf_protect
def passkey_login_view(request: HttpRequest) -> HttpResponse:
    """ "Sign in with a passkey" on the dashboard: the webmail's passwordless
    sign-in, recorded as a dashboard login, for accounts with dashboard access."""
    return with_security_headers(
        second_factor.passwordless(request, protocol=PROTOCOL, home=reverse("manage:overview"), refusal=_no_access)
    )


def logout_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":  # a GET must not log anyone out (CSRF)
        return HttpResponseNotAllowed(["POST"])
    logout(request)
    return HttpResponseRedirect(reverse("manage:login"))
