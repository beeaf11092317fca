"""What every webmail view shares: the login check, the security headers, and
the mapping of store errors to HTTP answers (a folder or message that is not
the user's is 404, exactly like one that does not exist)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from mailboxes import store

log = logging.getLogger("mailboxes.webmail")
View = Callable[..., HttpResponse]

# Webmail pages run only our own script and style and load nothing from elsewhere.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# Anything we serve that is not a page (attachments, raw source): inert, even if opened directly.
INERT_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'self'"


def secure(response: HttpResponse, csp: str = PAGE_CSP) -> HttpResponse:
    response.setdefault("Content-Security-Policy", csp)
    response["X-Content-Type-Options"] = "nosniff"
    # same-origin, not no-referrer: browsers then send "Origin: null" on our own POSTs (Fetch spec),
    # which Django's CSRF check rightly refuses. Links out carry rel=noreferrer.
    response["Referrer-Policy"] = "same-origin"
    response["Cross-Origin-Opener-Policy"] = "same-origin"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response.setdefault("Cache-Control", "private, no-store")
    return response


def page(view: View) -> View:
    """A signed-in webmail view: anonymous visitors go to the login page (JSON
    callers get 401); NotFound of any kind is 404; a store that is down is 503."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            if request.headers.get("Accept", "").startswith("application/json"):
                return secure(JsonResponse({"error": "signed out"}, status=401))
            return secure(HttpResponseRedirect(f"{reverse('webmail:login')}?next={request.get_full_path()}"))
        try:
            response = view(request, *args, **kwargs)
        except store.NotFound:
            response = render(
                request,
                "mail/error.html",
                {"title": _("Not found"), "text": _("There is no such folder or message.")},
                status=404,
            )
        except store.Unavailable:
            response = render(
                request,
                "mail/error.html",
                {"title": _("Try again shortly"), "text": _("The mail store is not reachable right now.")},
                status=503,
            )
        return secure(response)

    return wrapper


def public(view: View) -> View:
    """A view for visitors not signed in (the login page): headers only."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        return secure(view(request, *args, **kwargs))

    return wrapper


def account_id(request: HttpRequest) -> int:
    return int(request.user.pk)


def safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def int_list(values: list[str], limit: int = 1000) -> list[int]:
    """The positive integers in values; a value may hold several, comma-separated
    (a conversation's checkbox carries all its UIDs)."""
    out: list[int] = []
    for value in values[:limit]:
        for one in value.split(",")[:limit]:
            if one.isdigit() and 0 < int(one) < 2**63:
                out.append(int(one))
    return out[:limit]


def store_error(request: HttpRequest, exc: store.StoreError, what: str) -> None:
    """Tell the user what failed in words of our own; never the exception text of
    anything below the store's typed errors."""
    if isinstance(exc, store.OverQuota):
        flash.error(request, _("%(what)s: the mailbox is full.") % {"what": what})
    elif isinstance(exc, store.Unavailable):
        flash.error(request, _("%(what)s: the mail store is not reachable; try again shortly.") % {"what": what})
    elif isinstance(exc, (store.InvalidInput, store.AlreadyExists, store.NotPermitted, store.NotFound)):
        flash.error(request, f"{what}: {exc}")
    else:
        log.exception("webmail: %s failed", what)
        flash.error(request, _("%(what)s failed.") % {"what": what})
