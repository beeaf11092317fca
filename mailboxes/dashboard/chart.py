"""Geometry of the dashboard's per-day bar charts (mail received and sent on
the overview, what the spam filter did on the spam page), drawn as inline
SVG by the templates (no script, no chart library). Pure: numbers in,
shapes out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

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
    totals: dict[str, int] = field(default_factory=dict)  # per series


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is >= value (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def mail_chart(
    days: Sequence[Any], *, series: tuple[str, ...] = SERIES, width: int = 760, height: int = 220
) -> BarChart:
    """days: rows with a `day` date and an int attribute per series."""
    top = nice_ceiling(max([getattr(d, s) for d in days for s in series] + [1]))
    plot_width = width - PLOT_LEFT - 10
    plot_height = height - PLOT_TOP - PLOT_BOTTOM
    baseline = PLOT_TOP + plot_height
    slot = plot_width / max(len(days), 1)
    bar_width = max(slot * 0.8 / len(series), 1)
    bars: list[Bar] = []
    labels: list[DayLabel] = []
    for i, day in enumerate(days):
        x0 = PLOT_LEFT + i * slot + slot * 0.1
        for j, name in enumerate(series):
            value: int = getattr(day, name)
            h = plot_height * value / top
            bars.append(
                Bar(
                    round(x0 + j * bar_width, 1),
                    round(baseline - h, 1),
                    round(bar_width, 1),
                    round(h, 1),
                    name,
                    f"{_day(day.day)}: {value} {name}",
                )
            )
        last = i == len(days) - 1
        if (i % 7 == 0 and len(days) - 1 - i >= 4) or last:  # weekly, never crowding the last day
            labels.append(DayLabel(round(PLOT_LEFT + (i + 0.5) * slot, 1), _day(day.day)))
    ticks = [
        Tick(round(baseline - plot_height * f, 1), str(int(top * f)))
        for f in (0, 0.5, 1)
        if f == 0 or top * f == int(top * f)
    ]
    totals = {name: sum(getattr(d, name) for d in days) for name in series}
    return BarChart(
        width,
        height,
        PLOT_LEFT,
        width - 10,
        baseline,
        bars,
        ticks,
        labels,
        totals.get("received", 0),
        totals.get("sent", 0),
        totals,
    )


def _day(d: date) -> str:
    return d.strftime("%b %d").replace(" 0", " ")
