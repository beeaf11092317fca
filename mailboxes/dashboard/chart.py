"""Geometry of the overview's mail-per-day bar chart, drawn as inline SVG by
the template (no script, no chart library). Pure: numbers in, shapes out."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from mailboxes.store import DayCount

PLOT_LEFT = 40
PLOT_TOP = 10
PLOT_BOTTOM = 24  # room for the date labels
SERIES = ("received", "sent")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str
    title: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class DayLabel:
    x: float
    label: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[DayLabel]
    total_received: int
    total_sent: int


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is >= value (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def mail_chart(days: list[DayCount], *, width: int = 760, height: int = 220) -> BarChart:
    top = nice_ceiling(max([max(d.received, d.sent) for d in days] + [1]))
    plot_width = width - PLOT_LEFT - 10
    plot_height = height - PLOT_TOP - PLOT_BOTTOM
    baseline = PLOT_TOP + plot_height
    slot = plot_width / max(len(days), 1)
    bar_width = max(slot * 0.4, 1)
    bars: list[Bar] = []
    labels: list[DayLabel] = []
    for i, day in enumerate(days):
        x0 = PLOT_LEFT + i * slot + slot * 0.1
        for j, series in enumerate(SERIES):
            value: int = getattr(day, series)
            h = plot_height * value / top
            bars.append(Bar(round(x0 + j * bar_width, 1), round(baseline - h, 1), round(bar_width, 1),
                            round(h, 1), series, f"{_day(day.day)}: {value} {series}"))
        last = i == len(days) - 1
        if (i % 7 == 0 and len(days) - 1 - i >= 4) or last:  # weekly, never crowding the last day
            labels.append(DayLabel(round(PLOT_LEFT + (i + 0.5) * slot, 1), _day(day.day)))
    ticks = [Tick(round(baseline - plot_height * f, 1), str(int(top * f))) for f in (0, 0.5, 1)
             if f == 0 or top * f == int(top * f)]
    return BarChart(width, height, PLOT_LEFT, width - 10, baseline, bars, ticks, labels,
                    sum(d.received for d in days), sum(d.sent for d in days))


def _day(d: date) -> str:
    return d.strftime("%b %d").replace(" 0", " ")
