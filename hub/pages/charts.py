"""Chart geometry for the hub's pages; templates/charts.html draws it as inline SVG.

Charts are computed here (positions, sizes, the figures as text) and drawn server-side, so a
page needs no script and no library, and prints as it shows. Labels carry the figures as
text: a chart is readable without hovering and by a screen reader (role="img", a title).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PALETTE = ("#2f6db5", "#c0392b", "#27ae60", "#8e44ad", "#d35400")
BAR_LABEL_WIDTH, BAR_HEIGHT, BAR_GAP, TITLE_HEIGHT = 230, 16, 6, 24


def figure_text(value: float) -> str:
    """12.0 -> "12", 12.345 -> "12.3"."""
    return f"{value:.1f}" if abs(value - round(value)) > 1e-9 else str(round(value))


@dataclass(frozen=True)
class Bar:
    label: str
    value_text: str
    y: float
    length: float
    color: str


@dataclass(frozen=True)
class BarChart:
    title: str
    width: int
    height: int
    label_width: int
    bar_height: int
    bars: tuple[Bar, ...]
    kind: Literal["bar"] = "bar"


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    points: tuple[tuple[float, float], ...]
    last_text: str  # "name: value" written beside the last point

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in self.points)


@dataclass(frozen=True)
class Threshold:
    label: str
    y: float


@dataclass(frozen=True)
class LineChart:
    title: str
    y_label: str
    width: int
    height: int
    left: int
    right: int  # x of the plot's right edge
    top: int
    bottom: int  # y of the x axis
    ceiling_text: str
    ticks: tuple[tuple[float, str], ...]  # (x, label) on the x axis
    series: tuple[Series, ...]
    threshold: Threshold | None
    kind: Literal["line"] = "line"


def bar_chart(items: list[tuple[str, float]], *, title: str, unit: str = "",
              max_value: float | None = None, width: int = 640,
              colors: list[str] | None = None) -> BarChart | None:
    """Horizontal bars, one per (label, value), the value written after each bar; None when
    there is nothing to draw."""
    if not items:
        return None
    top_value = max_value if max_value is not None else max(v for _, v in items) or 1.0
    plot_w = width - BAR_LABEL_WIDTH - 70
    bars = []
    for i, (label, value) in enumerate(items):
        share = max(0.0, min(1.0, value / top_value if top_value else 0.0))
        color = colors[i] if colors and i < len(colors) else PALETTE[0]
        bars.append(Bar(label, figure_text(value) + unit,
                        TITLE_HEIGHT + i * (BAR_HEIGHT + BAR_GAP), round(share * plot_w, 1),
                        color))
    height = TITLE_HEIGHT + len(items) * (BAR_HEIGHT + BAR_GAP) + 8
    return BarChart(title, width, height, BAR_LABEL_WIDTH, BAR_HEIGHT, tuple(bars))


def line_chart(series: list[tuple[str, list[float]]], labels: list[str], *, title: str,
               y_label: str, threshold: tuple[str, float] | None = None,
               y_max: float | None = None, width: int = 640,
               height: int = 220) -> LineChart | None:
    """Lines over a shared x axis (`labels`, e.g. load dates), with an optional threshold
    line; None when there is nothing to draw."""
    if not labels or not series:
        return None
    left, right, top, bottom = 48, 16, 26, 40
    values = [v for _, vs in series for v in vs]
    highest = max([*values, threshold[1] if threshold else 0]) * 1.1
    ceiling = (highest if y_max is None else y_max) or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(labels)

    def x(i: int) -> float:
        return round(left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2), 1)

    def y(v: float) -> float:
        return round(top + plot_h - plot_h * max(0.0, min(v, ceiling)) / ceiling, 1)

    drawn = tuple(
        Series(name, PALETTE[s % len(PALETTE)], tuple((x(i), y(v)) for i, v in enumerate(vs)),
               f"{name}: {figure_text(vs[-1])}" if vs else "")
        for s, (name, vs) in enumerate(series))
    ticks = tuple((x(i), labels[i]) for i in range(0, n, max(1, n // 6)))
    return LineChart(title, y_label, width, height, left, width - right, top, top + plot_h,
                     figure_text(ceiling), ticks, drawn,
                     Threshold(threshold[0], y(threshold[1])) if threshold else None)
