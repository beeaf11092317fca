"""Domains: list, create, settings (quota, limits, catch-all, retention), DKIM, delete."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext

from mailboxes import store

from .access import attempt, dashboard_view, form_action, list_params, post_action
from .forms import DkimForm, DomainCreateForm, DomainSettingsForm


@dashboard_view(methods=("GET", "HEAD"))
def domain_list(request: HttpRequest) -> HttpResponse:
    query, page_no = list_params(request)
    page = store.admin_list_domains(request.actor, query=query, page=page_no)
    return render(request, "manage/domains/list.html", {"page": page, "query": query, "section": "domains"})


@dashboard_view(superuser=True)
def domain_new(request: HttpRequest) -> HttpResponse:
    form = DomainCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        created = form_action(
            form,
            lambda d: store.admin_create_domain(
                request.actor, d["name"], default_quota=d["default_quota"] or 0, max_accounts=d["max_accounts"]
            ),
        )
        if created:
            messages.success(
                request, gettext("Domain %(name)s created. Publish its DNS records next.") % {"name": created.name}
            )
            return HttpResponseRedirect(reverse("manage:domain-dns", args=[created.name]))
    return render(request, "manage/domains/new.html", {"form": form, "section": "domains"})


@dashboard_view
def domain_detail(request: HttpRequest, name: str) -> HttpResponse:
    actor = request.actor
    domain = store.admin_domain(actor, name)
    initial = {
        "default_quota": domain.default_quota,
        "trash_retention_days": domain.trash_retention_days,
        "catch_all": list(domain.catch_all),
        "active": domain.active,
        "max_accounts": domain.max_accounts,
        "allow_external_forwards": domain.allow_external_forwards,
        "mta_sts_mode": domain.mta_sts_mode,
        "require_two_factor": domain.require_two_factor,
    }
    form = DomainSettingsForm(request.POST or None, initial=initial, superuser=actor.is_superuser)
    if request.method == "POST" and form.is_valid():
        if form_action(
            form,
            lambda d: store.admin_update_domain(
                actor,
                domain.name,
                default_quota=d["default_quota"] or 0,
                trash_retention_days=d["trash_retention_days"],
                catch_all=d["catch_all"],
                active=d.get("active"),
                max_accounts=d.get("max_accounts"),
                allow_external_forwards=d.get("allow_external_forwards"),
                mta_sts_mode=d.get("mta_sts_mode"),
                require_two_factor=d["require_two_factor"],
            ),
        ):
            messages.success(request, gettext("Settings of %(name)s saved.") % {"name": domain.name})
            return HttpResponseRedirect(reverse("manage:domain", args=[domain.name]))
    return render(
        request,
        "manage/domains/detail.html",
        {
            "domain": domain,
            "form": form,
            "dkim_form": DkimForm(),
            "dkim_keys": store.list_dkim_keys(domain.name),
            "section": "domains",
        },
    )


@dashboard_view(methods=("POST",))
def domain_dkim(request: HttpRequest, name: str) -> HttpResponse:
    actor = request.actor
    domain = store.admin_domain(actor, name)
    form = DkimForm(request.POST)
    back = reverse("manage:domain-dns", args=[domain.name])
    if not form.is_valid():
        messages.error(request, gettext("Choose a selector and an algorithm."))
        return HttpResponseRedirect(back)
    return post_action(
        request,
        lambda: store.admin_generate_dkim(actor, domain.name, **form.cleaned_data),
        success=gettext("New DKIM key '%(selector)s' generated: publish it below.")
        % {"selector": form.cleaned_data["selector"]},
        next_url=back,
    )


@dashboard_view(superuser=True)
def domain_delete(request: HttpRequest, name: str) -> HttpResponse:
    actor = request.actor
    domain = store.admin_domain(actor, name)
    if request.method == "POST":
        _, error = attempt(
            lambda: store.admin_delete_domain(
                actor, domain.name, with_accounts=request.POST.get("with_accounts") == "yes"
            )
        )
        if not error:
            messages.success(request, gettext("Domain %(name)s deleted.") % {"name": domain.name})
            return HttpResponseRedirect(reverse("manage:domains"))
        messages.error(request, error)
    return render(request, "manage/domains/delete.html", {"domain": domain, "section": "domains"})
