"""The outbound queue: recipients by state with their last error; retry now,
delete. Finished entries are recent history only: the blob-collect job drops
them MAIL_OUTBOUND_RETENTION_DAYS after their last attempt."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from mailboxes import store

from .access import dashboard_view, list_params, post_action

STATES = (("", "waiting"), ("queued", "queued"), ("deferred", "deferred"), ("failed", "failed"), ("sent", "sent"))


@dashboard_view(methods=("GET", "HEAD"))
def queue_list(request: HttpRequest) -> HttpResponse:
    query, page_no = list_params(request)
    state = request.GET.get("state", "")
    if state not in dict(STATES):
        state = ""
    page = store.admin_list_queue(request.actor, state=state, query=query, page=page_no)
    return render(
        request,
        "manage/queue.html",
        {
            "page": page,
            "query": query,
            "state": state,
            "states": STATES,
            "retention_days": settings.MAIL_OUTBOUND_RETENTION_DAYS,
            "repeated": store.admin_repeated_bounces(request.actor),
            "section": "queue",
        },
    )


def _back(request: HttpRequest) -> str:
    state = request.POST.get("state", "")
    return reverse("manage:queue") + (f"?state={state}" if state in dict(STATES) and state else "")


@dashboard_view(methods=("POST",))
def queue_retry(request: HttpRequest, recipient_id: int) -> HttpResponse:
    return post_action(
        request,
        lambda: store.admin_retry_outbound(request.actor, recipient_id),
        success=_("Queued for another attempt now."),
        next_url=_back(request),
    )


@dashboard_view(methods=("POST",))
def queue_delete(request: HttpRequest, recipient_id: int) -> HttpResponse:
    return post_action(
        request,
        lambda: store.admin_delete_outbound(request.actor, recipient_id),
        success=_("Removed from the queue."),
        next_url=_back(request),
    )
