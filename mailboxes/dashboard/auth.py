"""Logging in to the dashboard: Django's session auth, behind the store's
password check and failed-login throttle. An account that is neither
superuser nor domain admin is refused here (it has the webmail)."""
from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from mailboxes import store
from mailhost.clientip import client_ip

from .access import with_security_headers

PROTOCOL = "manage"  # the LoginRecord name of a dashboard login
REFUSED = "Wrong address or password."


class LoginForm(forms.Form):
    address = forms.CharField(max_length=320, widget=forms.EmailInput(attrs={"autofocus": True}))
    password = forms.CharField(max_length=1024, widget=forms.PasswordInput)


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
        error = _log_in(request, form.cleaned_data["address"], form.cleaned_data["password"])
        if not error:
            return HttpResponseRedirect(next_url or reverse("manage:overview"))
        form.add_error(None, error)
        status = 403
    response = render(request, "manage/login.html", {"form": form, "next": next_url}, status=status)
    return with_security_headers(response)


def _log_in(request: HttpRequest, address: str, password: str) -> str:
    """'' once logged in, else the one line the login page shows."""
    ip = client_ip(request)
    try:
        info = store.login(address, password, protocol=PROTOCOL, ip=ip)
    except store.LoginBlocked:
        return "Too many failed logins. Try again in a few minutes."
    except store.LoginFailed:
        return REFUSED
    if store.admin_actor(info.id) is None:
        return "This account has no access to the dashboard; its mail is in the webmail."
    user = get_user_model()._default_manager.get(pk=info.id)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return ""


def logout_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":  # a GET must not log anyone out (CSRF)
        return HttpResponseNotAllowed(["POST"])
    logout(request)
    return HttpResponseRedirect(reverse("manage:login"))
