"""The one gate every dashboard view goes through.

`dashboard_view` sends anonymous visitors to the dashboard's login, refuses
(403, with a page that says why) accounts that are neither superuser nor
domain admin, puts the acting administrator on request.actor for the store's
admin functions (which decide what this actor may see and change,
mailboxes/store/admin.py), and maps the store's typed errors: NotFound ->
404, NotPermitted -> 403, Unavailable -> 503. Views never check roles
themselves.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from mailboxes import store

View = Callable[..., HttpResponse]
T = TypeVar("T")
# No script in the dashboard but the passkey ceremony (the sign-in page and
# the admin's own Security page run the webmail's passkey.js); styles are
# inline in the base template.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PASSKEY_PAGE_CSP = CONTENT_SECURITY_POLICY + "; script-src 'self'; connect-src 'self'"


def with_security_headers(response: HttpResponse) -> HttpResponse:
    response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.setdefault("Referrer-Policy", "same-origin")
    response.setdefault("Cache-Control", "no-store")
    return response


def dashboard_view(
    func: View | None = None, *, superuser: bool = False, methods: Iterable[str] = ("GET", "HEAD", "POST")
) -> View | Callable[[View], View]:
    allowed = tuple(methods)

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if request.method not in allowed:
                return HttpResponseNotAllowed(allowed)
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("manage:login"))
            actor = store.admin_actor(request.user.pk)
            if actor is None:
                return forbidden(request, "This account has no access to the dashboard; its mail is in the webmail.")
            request.actor = actor
            if superuser and not actor.is_superuser:
                return forbidden(request, "Only a superuser may do that.")
            try:
                response = view(request, *args, **kwargs)
            except store.NotFound:
                raise Http404("no such object") from None
            except store.NotPermitted as exc:
                return forbidden(request, str(exc)[:1].upper() + str(exc)[1:] + ".")
            except store.Unavailable:
                response = HttpResponse(
                    "The mail store is temporarily unavailable; try again shortly.",
                    status=503,
                    content_type="text/plain",
                )
            return with_security_headers(response)

        return wrapper

    return decorate(func) if func is not None else decorate


def forbidden(request: HttpRequest, reason: str) -> HttpResponse:
    return with_security_headers(render(request, "manage/forbidden.html", {"reason": reason}, status=403))


def post_action(
    request: HttpRequest, action: Callable[[], object], *, success: str, next_url: str
) -> HttpResponseRedirect:
    """Run one store action for a POSTed button and go back to next_url, with
    a message either way."""
    _, failure = attempt(action)
    if failure:
        messages.error(request, failure)
    else:
        messages.success(request, success)
    return HttpResponseRedirect(next_url)


def attempt(action: Callable[[], T]) -> tuple[T | None, str]:
    """(result, '') or (None, the store's message for the administrator).

    Bad input (InvalidInput, AlreadyExists, LimitExceeded...) is for the
    administrator to read and fix; NotFound, NotPermitted and Unavailable
    propagate to dashboard_view (404, 403, 503)."""
    try:
        return action(), ""
    except (store.NotFound, store.NotPermitted, store.Unavailable):
        raise
    except store.StoreError as exc:
        return None, str(exc)


def form_action(form: Form, action: Callable[[dict[str, Any]], T]) -> T | None:
    """For a bound, valid form: run the store action on its cleaned data. On
    bad input the store's message goes on the form and the result is None."""
    result, error = attempt(lambda: action(form.cleaned_data))
    if error:
        form.add_error(None, error)
    return result


def list_params(request: HttpRequest) -> tuple[str, int]:
    """The search text (?q=) and page number (?page=) of a list page."""
    query = request.GET.get("q", "").strip()[:200]
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    return query, page
