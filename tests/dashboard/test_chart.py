"""The overview's bar chart geometry (pure: no database, no template)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from mailboxes.dashboard.chart import mail_chart, nice_ceiling
from mailboxes.store import DayCount


@pytest.mark.parametrize("value,ceiling", [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (180, 200), (501, 1000)])
def test_the_scale_tops_out_at_one_two_or_five_times_a_power_of_ten(value, ceiling):
    assert nice_ceiling(value) == ceiling


def test_bars_are_proportional_and_sit_on_the_baseline():
    start = date(2026, 11, 1)
    days = [DayCount(start + timedelta(days=i), received=i, sent=i // 2) for i in range(30)]
    chart = mail_chart(days, width=760, height=220)
    assert len(chart.bars) == 60 and (chart.total_received, chart.total_sent) == (435, 210)
    tallest = max(chart.bars, key=lambda b: b.height)
    plot_height = 220 - 10 - 24
    assert tallest.title == "Nov 30: 29 received"
    assert tallest.height == pytest.approx(plot_height * 29 / 50, abs=0.1)  # 29 on a scale up to 50
    assert all(abs(b.y + b.height - chart.baseline) < 0.2 for b in chart.bars)
    assert [l.label for l in chart.labels] == ["Nov 1", "Nov 8", "Nov 15", "Nov 22", "Nov 30"]
    assert [t.label for t in chart.ticks] == ["0", "25", "50"]


def test_an_empty_month_draws_flat_bars_without_dividing_by_zero():
    days = [DayCount(date(2026, 1, 1) + timedelta(days=i), 0, 0) for i in range(30)]
    chart = mail_chart(days)
    assert all(b.height == 0 for b in chart.bars) and chart.ticks[-1].label == "1"
