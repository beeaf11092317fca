"""Keeps the list of signed-in browsers current: each signed-in request
notes its browser, address and time, at most once a minute per session
(store.note_web_session), for the account's sessions page."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from mailboxes import store
from mailhost.clientip import client_ip

SEEN = "mailhost_seen"
SEEN_EVERY = 60.0


def note(request: HttpRequest) -> None:
    request.session[SEEN] = time.time()
    key = request.session.session_key
    if key:
        store.note_web_session(
            int(request.user.pk), key, device=request.META.get("HTTP_USER_AGENT", ""), ip=client_ip(request)
        )


class SeenMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and request.session.session_key
            and time.time() - request.session.get(SEEN, 0) > SEEN_EVERY
        ):
            note(request)
        return response
