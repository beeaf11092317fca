"""Accounts: list, create, settings, password, roles, send-as grants, delete, .mobileconfig."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext

from mailboxes import autoconfig, store

from .access import attempt, dashboard_view, form_action, list_params, post_action
from .forms import AccountCreateForm, AccountUpdateForm, PasswordForm, RolesForm, SendAsForm

ORDERS = (("address", "address"), ("usage", "largest first"), ("login", "last login"))


def _account_url(account_id: int) -> str:
    return reverse("manage:account", args=[account_id])


def _role_domains(actor: store.Actor) -> tuple[str, ...]:
    """The domains this actor may hand out admin rights for."""
    return tuple(d.name for d in store.list_domains()) if actor.is_superuser else actor.domain_names


@dashboard_view(methods=("GET", "HEAD"))
def account_list(request: HttpRequest) -> HttpResponse:
    query, page_no = list_params(request)
    domain = request.GET.get("domain", "")
    order = request.GET.get("order", "address")
    page = store.admin_list_accounts(request.actor, domain=domain or None, query=query, order=order, page=page_no)
    return render(
        request,
        "manage/accounts/list.html",
        {"page": page, "query": query, "domain": domain, "order": order, "orders": ORDERS, "section": "accounts"},
    )


@dashboard_view
def account_new(request: HttpRequest) -> HttpResponse:
    form = AccountCreateForm(request.POST or None, initial={"address": "@" + request.GET.get("domain", "")})
    if request.method == "POST" and form.is_valid():
        created = form_action(
            form,
            lambda d: store.admin_create_account(
                request.actor, d["address"], password=d["password"], quota=d["quota"], display_name=d["display_name"]
            ),
        )
        if created:
            return render(
                request,
                "manage/accounts/created.html",
                {"account": created.account, "password": created.generated_password, "section": "accounts"},
            )
    return render(request, "manage/accounts/new.html", {"form": form, "section": "accounts"})


@dashboard_view
def account_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    actor = request.actor
    detail = store.admin_account(actor, account_id)
    row = detail.account
    form = AccountUpdateForm(
        request.POST or None, initial={"display_name": row.display_name, "quota": row.quota, "active": row.is_active}
    )
    if request.method == "POST" and form.is_valid():
        if form_action(
            form,
            lambda d: store.admin_update_account(
                actor, account_id, quota=d["quota"], active=d["active"], display_name=d["display_name"]
            ),
        ):
            messages.success(request, gettext("%(address)s saved.") % {"address": row.address})
            return HttpResponseRedirect(_account_url(account_id))
    roles = RolesForm(
        initial={"superuser": row.is_superuser, "admin_domains": list(detail.admin_domains)},
        domains=_role_domains(actor),
        superuser=actor.is_superuser,
    )
    return render(
        request,
        "manage/accounts/detail.html",
        {
            "detail": detail,
            "account": row,
            "form": form,
            "password_form": PasswordForm(),
            "roles": roles,
            "send_as_form": SendAsForm(),
            "is_self": row.id == actor.id,
            "section": "accounts",
        },
    )


@dashboard_view(methods=("POST",))
def account_password(request: HttpRequest, account_id: int) -> HttpResponse:
    form = PasswordForm(request.POST)
    password = form.cleaned_data["password"] if form.is_valid() else ""
    generated, error = attempt(lambda: store.admin_set_password(request.actor, account_id, password))
    if error:
        messages.error(request, error)
        return HttpResponseRedirect(_account_url(account_id))
    if generated:
        row = store.admin_account(request.actor, account_id).account
        return render(
            request,
            "manage/accounts/created.html",
            {"account": row, "password": generated, "reset": True, "section": "accounts"},
        )
    messages.success(request, gettext("Password changed."))
    return HttpResponseRedirect(_account_url(account_id))


@dashboard_view(methods=("POST",))
def account_two_factor_reset(request: HttpRequest, account_id: int) -> HttpResponse:
    return post_action(
        request,
        lambda: store.admin_reset_two_factor(request.actor, account_id),
        success=gettext("Two-factor sign-in is off for this account; it can set it up again."),
        next_url=_account_url(account_id),
    )


@dashboard_view(methods=("POST",))
def account_roles(request: HttpRequest, account_id: int) -> HttpResponse:
    actor = request.actor
    store.admin_account(actor, account_id)  # 404 before anything else for an account out of reach
    form = RolesForm(request.POST, domains=_role_domains(actor), superuser=actor.is_superuser)
    if not form.is_valid():
        messages.error(request, gettext("Those roles are not valid."))
        return HttpResponseRedirect(_account_url(account_id))
    data = form.cleaned_data
    return post_action(
        request,
        lambda: store.admin_set_roles(
            actor, account_id, superuser=data.get("superuser"), admin_domains=data["admin_domains"]
        ),
        success=gettext("Roles saved."),
        next_url=_account_url(account_id),
    )


@dashboard_view(methods=("POST",))
def account_send_as(request: HttpRequest, account_id: int) -> HttpResponse:
    """Grant (or, with remove=<address>, revoke) a "send as" address or @domain."""
    actor = request.actor
    store.admin_account(actor, account_id)  # 404 before anything else for an account out of reach
    removed = request.POST.get("remove", "")
    if removed:
        return post_action(
            request,
            lambda: store.admin_revoke_send_as(actor, account_id, removed),
            success=gettext("No longer sends as %(address)s.") % {"address": removed},
            next_url=_account_url(account_id),
        )
    form = SendAsForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Give an address or @domain."))
        return HttpResponseRedirect(_account_url(account_id))
    address = form.cleaned_data["address"]
    return post_action(
        request,
        lambda: store.admin_grant_send_as(actor, account_id, address),
        success=gettext("May now send as %(address)s.") % {"address": address},
        next_url=_account_url(account_id),
    )


@dashboard_view
def account_delete(request: HttpRequest, account_id: int) -> HttpResponse:
    """GET: a confirmation that says what goes with the account; POST: delete."""
    actor = request.actor
    detail = store.admin_account(actor, account_id)
    if request.method == "POST":
        _, error = attempt(lambda: store.admin_delete_account(actor, account_id))
        if not error:
            messages.success(
                request,
                gettext("%(address)s deleted, with %(n)d messages.")
                % {"address": detail.account.address, "n": detail.messages},
            )
            return HttpResponseRedirect(reverse("manage:accounts") + f"?domain={detail.account.domain}")
        messages.error(request, error)
    return render(
        request, "manage/accounts/delete.html", {"detail": detail, "account": detail.account, "section": "accounts"}
    )


@dashboard_view(methods=("GET", "HEAD"))
def account_mobileconfig(request: HttpRequest, account_id: int) -> HttpResponse:
    row = store.admin_account(request.actor, account_id).account
    return autoconfig.mobileconfig_response(row.address, row.display_name)
