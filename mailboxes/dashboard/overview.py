"""The overview: counts, storage, mail per day, largest and fullest accounts."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mailboxes import store
from mailboxes.certificates import certificate_info

from .access import dashboard_view
from .chart import mail_chart

DAYS = 30


@dashboard_view(methods=("GET", "HEAD"))
def overview(request: HttpRequest) -> HttpResponse:
    data = store.admin_overview(request.actor, days=DAYS)
    percent = data.used_bytes * 100 // data.quota_bytes if data.quota_bytes else 0
    return render(
        request,
        "manage/overview.html",
        {
            "data": data,
            "chart": mail_chart(data.days),
            "days": DAYS,
            "storage_percent": percent,
            "section": "overview",
            # the server's own certificate is the superuser's business (protocols/acme.py renews it)
            "certificate": certificate_info() if request.actor.is_superuser else None,
        },
    )
