"""Spam filtering in the dashboard (docs/SPAM.md): a domain's settings, and
the report (per day, the last refusals with their symbols, accounts whose
outgoing mail was refused, a banner when rspamd was unreachable today)."""

from __future__ import annotations

from dataclasses import asdict

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mailboxes import store

from .access import dashboard_view, form_action
from .chart import mail_chart
from .forms import AddressListField

SERIES = ("rejected", "greylisted", "junk", "delivered")
LIST_HELP = "sender addresses or domains (a domain covers its subdomains), one a line"


class SpamSettingsForm(forms.Form):
    enabled = forms.BooleanField(required=False, label=_("Scan this domain's mail"))
    reject_score = forms.FloatField(
        required=False, label=_("Reject score"), help_text=_("refuse at or above this score; blank = rspamd's (15)")
    )
    junk_score = forms.FloatField(
        required=False, label=_("Junk score"), help_text=_("file in Junk at or above; blank = rspamd's (6)")
    )
    greylist_score = forms.FloatField(
        required=False, label=_("Greylist score"), help_text=_("greylist at or above; blank = rspamd's (4)")
    )
    greylisting = forms.BooleanField(required=False, label=_("Greylist doubtful mail (451, accepted when retried)"))
    allow = AddressListField(required=False, label="Allow list", help_text="never Junk, never refused: " + LIST_HELP)
    block = AddressListField(required=False, label="Block list", help_text="always refused: " + LIST_HELP)


@dashboard_view
def domain_spam(request: HttpRequest, name: str) -> HttpResponse:
    actor = request.actor
    domain = store.admin_domain(actor, name)
    current = store.admin_spam_settings(actor, domain.name)
    form = SpamSettingsForm(request.POST or None, initial=asdict(current))
    if request.method == "POST" and form.is_valid():
        if form_action(
            form,
            lambda d: store.admin_set_spam_settings(
                actor,
                domain.name,
                store.SpamSettings(
                    d["enabled"],
                    d["reject_score"],
                    d["junk_score"],
                    d["greylist_score"],
                    d["greylisting"],
                    tuple(d["allow"]),
                    tuple(d["block"]),
                ),
            ),
        ):
            messages.success(request, _("Spam settings of %(name)s saved.") % {"name": domain.name})
            return HttpResponseRedirect(reverse("manage:domain-spam", args=[domain.name]))
    return render(request, "manage/domains/spam.html", {"domain": domain, "form": form, "section": "domains"})


@dashboard_view(superuser=True, methods=("GET", "HEAD"))
def spam_report(request: HttpRequest) -> HttpResponse:
    report = store.admin_spam_report(request.actor)
    return render(
        request,
        "manage/spam.html",
        {"report": report, "chart": mail_chart(report.days, series=SERIES), "series": SERIES, "section": "spam"},
    )
