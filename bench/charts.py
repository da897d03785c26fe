"""Small self-contained SVG bar charts for docs/benchmarks.md (no plotting library, no CDN).

One chart per benchmark: the hub's figures next to the reference measured in the same run,
with the target drawn as a line when it is a figure on the same axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

WIDTH = 640
BAR_HEIGHT = 22
GAP = 10
LABEL_WIDTH = 250
TOP = 34
HUB_COLOUR = "#2f6f9f"
REFERENCE_COLOUR = "#9a9a9a"
TARGET_COLOUR = "#c0392b"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    reference: bool = False  # drawn grey: the side-by-side reference run


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def bar_chart(title: str, unit: str, bars: list[Bar], target: float | None = None,
              target_label: str = "target") -> str:
    """Horizontal bars, one per figure; returns the SVG document as text."""
    if not bars:
        raise ValueError("a chart needs at least one bar")
    top_value = max([b.value for b in bars] + ([target] if target is not None else []))
    scale_max = top_value * 1.15 if top_value > 0 else 1.0
    plot_width = WIDTH - LABEL_WIDTH - 150  # room for the value after the longest bar
    height = TOP + len(bars) * (BAR_HEIGHT + GAP) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for i, bar in enumerate(bars):
        y = TOP + i * (BAR_HEIGHT + GAP)
        length = max(1.0, plot_width * bar.value / scale_max)
        colour = REFERENCE_COLOUR if bar.reference else HUB_COLOUR
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">'
                     f'{escape(bar.label)}</text>')
        parts.append(f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" '
                     f'height="{BAR_HEIGHT}" fill="{colour}"/>')
        parts.append(f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + 15}">'
                     f'{escape(_fmt(bar.value))} {escape(unit)}</text>')
    bottom = TOP + len(bars) * (BAR_HEIGHT + GAP)
    if target is not None:
        x = LABEL_WIDTH + plot_width * target / scale_max
        parts.append(f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{bottom}" '
                     f'stroke="{TARGET_COLOUR}" stroke-width="2" stroke-dasharray="5,3"/>')
        parts.append(f'<text x="{x:.1f}" y="{bottom + 16}" fill="{TARGET_COLOUR}" '
                     f'text-anchor="middle">{escape(target_label)} {escape(_fmt(target))} '
                     f'{escape(unit)}</text>')
    parts.append(f'<text x="{WIDTH - 10}" y="20" text-anchor="end" fill="#666">'
                 'blue: hub, grey: reference</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
