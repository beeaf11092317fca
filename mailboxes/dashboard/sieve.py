"""A domain's Sieve scripts, run before and after each user's own at
delivery (docs/SIEVE.md), for the domain's admins and superusers. A script
that is not valid Sieve is not stored; the page shows it again with the
error at its line."""

from __future__ import annotations

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from mailboxes import store

from .access import dashboard_view

MAX_SCRIPT_CHARS = 256 * 1024


@dashboard_view
def domain_sieve(request: HttpRequest, name: str) -> HttpResponse:
    domain = store.admin_domain(request.actor, name)
    scripts = store.admin_domain_scripts(request.actor, domain.name)
    errors: dict[str, str] = {}
    if request.method == "POST":
        for stage in list(scripts):  # "before", "after"
            text = request.POST.get(stage, "")[:MAX_SCRIPT_CHARS].replace("\r\n", "\n")
            if text == scripts[stage]:
                continue
            try:
                store.admin_set_domain_script(request.actor, domain.name, stage, text)
            except store.InvalidScript as exc:
                errors[stage] = f"Line {exc.line}: {exc.reason}"
            scripts[stage] = text
        if not errors:
            flash.success(request, _("Filters saved."))
            return HttpResponseRedirect(reverse("manage:domain-sieve", args=[domain.name]))
    return render(
        request,
        "manage/domains/sieve.html",
        {"domain": domain, "scripts": scripts, "errors": errors, "section": "domains"},
        status=400 if errors else 200,
    )
