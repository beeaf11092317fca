"""The audit log: who changed what, when (superusers only)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mailboxes import store

from .access import dashboard_view, list_params


@dashboard_view(superuser=True, methods=("GET", "HEAD"))
def audit_list(request: HttpRequest) -> HttpResponse:
    query, page_no = list_params(request)
    page = store.admin_audit_log(request.actor, query=query, page=page_no)
    return render(request, "manage/audit.html", {"page": page, "query": query, "section": "audit"})
