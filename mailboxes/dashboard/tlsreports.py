"""A domain's received SMTP TLS reports (RFC 8460; docs/TLS.md): who
reported, for which period, how many sessions succeeded and failed, and the
failures by result type, newest period first."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mailboxes import store

from .access import dashboard_view


@dashboard_view(methods=("GET", "HEAD"))
def domain_tls_reports(request: HttpRequest, name: str) -> HttpResponse:
    domain = store.admin_domain(request.actor, name)
    reports = store.admin_tls_reports(request.actor, domain.name)
    return render(
        request,
        "manage/domains/tls_reports.html",
        {
            "domain": domain,
            "reports": reports,
            "section": "domains",
            "hostname": settings.MAIL_HOSTNAME,
            "successful": sum(r.successful for r in reports),
            "failed": sum(r.failed for r in reports),
        },
    )
