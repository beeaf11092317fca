"""The ACME HTTP-01 responder (RFC 8555 8.3): GET
/.well-known/acme-challenge/<token> answers the key authorization that
`manage.py certificate` (or the renewal task) put in the database, as
text/plain, to any web process the CA's validator reaches; anything else 404."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from mailboxes import store


@require_safe
def acme_challenge(request: HttpRequest, token: str) -> HttpResponse:
    answer = store.acme_challenge_response(token)
    if answer is None:
        raise Http404("no such challenge")
    return HttpResponse(answer, content_type="text/plain")
