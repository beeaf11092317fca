"""A domain's DNS page: the records to publish as copy-paste zone lines, and
"check now", which looks each one up (MAIL_DNS_NAMESERVERS, or the system's
resolver) and says found, missing or different."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mailboxes import store
from mailboxes.certificates import tlsa_3_1_1

from .access import dashboard_view
from .dnscheck import Record, check_records, expected_records
from .forms import DkimForm


def records_for(domain: store.DomainDetail) -> list[Record]:
    keys = [(k.dns_name, k.dns_txt) for k in store.list_dkim_keys(domain.name)]
    return expected_records(
        domain.name,
        hostname=settings.MAIL_HOSTNAME,
        ports=settings.MAIL_PORTS,
        dkim=keys,
        mta_sts_id=domain.mta_sts_id if domain.mta_sts_mode else "",
        tlsa=tlsa_3_1_1() or "",
    )


@dashboard_view
def domain_dns(request: HttpRequest, name: str) -> HttpResponse:
    """GET shows the records; POST (the "check now" button) also looks them up."""
    domain = store.admin_domain(request.actor, name)
    records = records_for(domain)
    checks = None
    if request.method == "POST":
        checks = check_records(records, settings.MAIL_DNS_NAMESERVERS or None)
    summary = (
        {s: sum(1 for c in checks if c.status == s) for s in ("found", "missing", "different", "error")}
        if checks
        else {}
    )
    return render(
        request,
        "manage/domains/dns.html",
        {
            "domain": domain,
            "records": records,
            "checks": checks,
            "summary": summary,
            "zone": "\n".join(r.zone_line() for r in records),
            "has_dkim": any(r.tag == "v=DKIM1" for r in records),
            "dkim_form": DkimForm(),
            "section": "domains",
        },
    )
