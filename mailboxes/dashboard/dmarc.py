"""DMARC reports about a domain (docs/DELIVERABILITY.md): who sent mail as it
in the aggregate reports other receivers mailed us, how much passed SPF,
DKIM and DMARC, as a chart (inline SVG, no script) and a table."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import ngettext

from mailboxes import store

from .access import dashboard_view

CHART_ROWS = 12
LABEL_WIDTH = 250
BAR_WIDTH = 520
ROW_HEIGHT = 24


@dataclass(frozen=True)
class SenderBar:
    y: int
    label: str
    passed: float  # width of the DMARC-pass part
    failed: float  # width of the rest, drawn after it
    title: str


def sender_bars(senders: list[store.DmarcSender]) -> list[SenderBar]:
    """One bar per sender, as long as its share of the biggest, green for the
    messages that passed DMARC and red for the rest. Pure."""
    shown = senders[:CHART_ROWS]
    biggest = max((s.count for s in shown), default=0) or 1
    return [
        SenderBar(
            y=i * ROW_HEIGHT,
            label=f"{s.source_ip} ({s.reporter})"[:44],
            passed=round(BAR_WIDTH * s.dmarc_pass / biggest, 1),
            failed=round(BAR_WIDTH * (s.count - s.dmarc_pass) / biggest, 1),
            title=ngettext(
                "%(ip)s: %(count)d message, %(rate)s%% passed DMARC",
                "%(ip)s: %(count)d messages, %(rate)s%% passed DMARC",
                s.count,
            )
            % {"ip": s.source_ip, "count": s.count, "rate": s.dmarc_rate},
        )
        for i, s in enumerate(shown)
    ]


@dashboard_view(methods=("GET", "HEAD"))
def domain_dmarc(request: HttpRequest, name: str) -> HttpResponse:
    summary = store.admin_dmarc_senders(request.actor, name)
    bars = sender_bars(summary.senders)
    return render(
        request,
        "manage/domains/dmarc.html",
        {
            "summary": summary,
            "bars": bars,
            "label_width": LABEL_WIDTH,
            "bar_width": BAR_WIDTH,
            "chart_height": max(1, len(bars)) * ROW_HEIGHT + 8,
            "row_height": ROW_HEIGHT,
            "report_address": f"{settings.MAIL_DMARC_REPORT_LOCALPART}@{summary.domain}"
            if settings.MAIL_DMARC_REPORT_LOCALPART
            else "",
            "section": "domains",
        },
    )
