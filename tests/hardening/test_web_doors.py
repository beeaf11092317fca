"""The web's login doors: the webmail's and the dashboard's, both through
store.login (and "Sign in with a passkey" on each, through
store.passkey_login), and no other (Django's /admin/ and auth views are not
served)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from mailboxes import store

from .conftest import ROOT, ROOT_PASSWORD

LOGIN_VIEWS = {
    "mailboxes.webmail.auth.login_view",
    "mailboxes.dashboard.auth.login_view",
    "mailboxes.webmail.auth.passkey_login_view",
    "mailboxes.dashboard.auth.passkey_login_view",
}


def _views(patterns: list, prefix: str = "") -> dict[str, str]:
    """Every route the web serves, with the dotted name of its view."""
    found = {}
    for entry in patterns:
        if isinstance(entry, URLResolver):
            found.update(_views(entry.url_patterns, prefix + str(entry.pattern)))
        elif isinstance(entry, URLPattern):
            view = getattr(entry.callback, "view_class", entry.callback)
            found[prefix + str(entry.pattern)] = f"{view.__module__}.{view.__qualname__}"
    return found


@pytest.mark.parametrize("path", ["/admin/", "/admin/login/", "/admin/mailboxes/account/"])
def test_djangos_admin_is_not_served(db, path):
    assert Client().get(path).status_code == 404


def test_djangos_admin_login_does_not_sign_anyone_in(root):
    client = Client()
    client.post("/admin/login/", {"username": ROOT, "password": ROOT_PASSWORD})
    assert client.get("/manage/").status_code == 302  # still sent to the dashboard's login


def test_no_route_reaches_a_view_of_django_contrib():
    served = _views(get_resolver().url_patterns)
    assert not {route: view for route, view in served.items() if view.startswith("django.contrib.")}


def test_the_only_views_that_sign_in_are_the_two_login_pages_and_their_passkey_sign_in(root):
    served = set(_views(get_resolver().url_patterns).values())
    assert {view for view in served if view.endswith("login_view")} == LOGIN_VIEWS
    for path in ("/mail/login/", "/manage/login/"):
        assert Client().post(path, {"address": ROOT, "password": ROOT_PASSWORD}).status_code == 302
    assert {r.protocol for r in store.last_logins(store.get_account(ROOT).id)} == {"web", "manage"}
