"""The audit log: who changed what, when (superusers only)."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mailboxes import store

from .access import dashboard_view, page_number
from .forms import SearchForm


@dashboard_view(superuser=True, methods=("GET", "HEAD"))
def audit_list(request: HttpRequest) -> HttpResponse:
    search = SearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    page = store.admin_audit_log(request.actor, query=query, page=page_number(request))  # type: ignore[attr-defined]
    return render(request, "manage/audit.html", {"page": page, "search": search, "query": query,
                                                 "section": "audit"})
