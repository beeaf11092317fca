"""Login blocks: the IPs and accounts the brute-force defence refuses right
now (store.admin_login_blocks), and clearing one. Domain admins see the
accounts of their domains; IP blocks are for superusers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from mailboxes import store

from .access import dashboard_view, post_action


@dashboard_view(methods=("GET", "HEAD"))
def block_list(request: HttpRequest) -> HttpResponse:
    blocks = store.admin_login_blocks(actor=request.actor)
    return render(request, "manage/blocks.html", {"blocks": blocks, "section": "blocks"})


@dashboard_view(methods=("POST",))
def block_clear(request: HttpRequest) -> HttpResponse:
    kind, value = request.POST.get("kind", ""), request.POST.get("value", "")[:400]
    return post_action(
        request,
        lambda: store.admin_clear_login_block(kind, value, actor=request.actor),
        success=_("%(who)s may log in again.") % {"who": value},
        next_url=reverse("manage:blocks"),
    )
