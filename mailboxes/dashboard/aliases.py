"""Aliases and forwards (and catch-alls, '@domain'): list, create, edit targets, delete."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from mailboxes import store

from .access import dashboard_view, form_action, list_params, post_action
from .forms import AliasForm, AliasTargetsForm


@dashboard_view(methods=("GET", "HEAD"))
def alias_list(request: HttpRequest) -> HttpResponse:
    query, page_no = list_params(request)
    domain = request.GET.get("domain", "")
    page = store.admin_list_aliases(request.actor, domain=domain or None, query=query, page=page_no)
    return render(
        request, "manage/aliases/list.html", {"page": page, "query": query, "domain": domain, "section": "aliases"}
    )


@dashboard_view
def alias_new(request: HttpRequest) -> HttpResponse:
    form = AliasForm(request.POST or None, initial={"source": "@" + request.GET.get("domain", "")})
    if request.method == "POST" and form.is_valid():
        created = form_action(form, lambda d: store.admin_create_alias(request.actor, d["source"], d["targets"]))
        if created:
            messages.success(request, _("Alias %(source)s created.") % {"source": created.source})
            return HttpResponseRedirect(reverse("manage:aliases") + f"?domain={created.domain}")
    return render(request, "manage/aliases/new.html", {"form": form, "section": "aliases"})


@dashboard_view
def alias_detail(request: HttpRequest, alias_id: int) -> HttpResponse:
    actor = request.actor
    alias = store.admin_alias(actor, alias_id)
    form = AliasTargetsForm(request.POST or None, initial={"targets": list(alias.targets)})
    if request.method == "POST" and form.is_valid():
        if form_action(form, lambda d: store.admin_update_alias(actor, alias_id, d["targets"])):
            messages.success(request, _("Targets of %(source)s saved.") % {"source": alias.source})
            return HttpResponseRedirect(reverse("manage:alias", args=[alias_id]))
    return render(request, "manage/aliases/detail.html", {"alias": alias, "form": form, "section": "aliases"})


@dashboard_view(methods=("POST",))
def alias_delete(request: HttpRequest, alias_id: int) -> HttpResponse:
    actor = request.actor
    alias = store.admin_alias(actor, alias_id)
    return post_action(
        request,
        lambda: store.admin_delete_alias(actor, alias_id),
        success=_("Alias %(source)s deleted.") % {"source": alias.source},
        next_url=reverse("manage:aliases") + f"?domain={alias.domain}",
    )
