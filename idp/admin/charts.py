"""Bar charts drawn on the server as inline SVG: no script, nothing for the CSP to refuse.
``bar_chart`` does the geometry; the ``chart`` macro in ``admin/macros.html`` draws it."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

WIDTH = 640
HEIGHT = 220
LEFT = 40
RIGHT = 8
TOP = 12
BOTTOM = 40


@dataclass
class Series:
    name: str
    css_class: str
    values: list[int]

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str
    series: Series


@dataclass
class BarChart:
    chart_id: str
    title: str
    description: str
    days: list[dt.date]
    series: list[Series]
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, int]] = field(default_factory=list)
    day_labels: list[tuple[float, str]] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    plot_bottom: float = HEIGHT - BOTTOM
    plot_right: float = WIDTH - RIGHT


def _tick_step(value: int) -> int:
    """A round step such that four steps reach ``value``: 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20 ..."""
    raw = max(1, math.ceil(value / 4))
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = (m * magnitude for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10))
    return next(int(step) for step in steps if step >= raw and float(step).is_integer())


def day_label(day: dt.date) -> str:
    return f"{day.day} {day.strftime('%b')}"


def bar_chart(chart_id: str, title: str, description: str, days: list[dt.date], series: list[Series]) -> BarChart:
    """Grouped bars, one group per day, one bar per series; a y axis with four steps."""
    chart = BarChart(chart_id, title, description, days, series)
    step = _tick_step(max((max(s.values, default=0) for s in series), default=0))
    top_value = 4 * step
    plot_height = chart.plot_bottom - TOP
    group_width = (chart.plot_right - LEFT) / max(len(days), 1)
    bar_width = group_width * 0.7 / max(len(series), 1)
    for i, day in enumerate(days):
        group_x = LEFT + i * group_width + group_width * 0.15
        for j, s in enumerate(series):
            value = s.values[i]
            height = plot_height * value / top_value
            chart.bars.append(Bar(round(group_x + j * bar_width, 1), round(chart.plot_bottom - height, 1),
                                  round(bar_width, 1), round(height, 1), value, day_label(day), s))
        if (len(days) - 1 - i) % 2 == 0 or len(days) <= 7:
            chart.day_labels.append((round(LEFT + (i + 0.5) * group_width, 1), day_label(day)))
    chart.ticks = [(round(chart.plot_bottom - plot_height * k / 4, 1), step * k) for k in range(5)]
    return chart
