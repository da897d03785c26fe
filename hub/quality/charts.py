"""Small inline-SVG charts for the offline reports: no library, no script, no external file.

No xmlns either: inline SVG in HTML5 needs none, and the reports carry no URL at all.

Each chart is a self-contained <svg> string (text escaped) that renders in any browser with
no network; labels carry the figures as text, so the chart is readable without hovering.
"""

from __future__ import annotations

from html import escape

PALETTE = ("#2f6db5", "#c0392b", "#27ae60", "#8e44ad", "#d35400")
FONT = 'font-family="sans-serif" font-size="11"'


def _fmt(value: float) -> str:
    return f"{value:.1f}" if abs(value - round(value)) > 1e-9 else str(round(value))


def bar_chart(items: list[tuple[str, float]], *, title: str, unit: str = "",
              max_value: float | None = None, width: int = 640,
              colors: list[str] | None = None) -> str:
    """Horizontal bars, one per (label, value), the value written after each bar."""
    if not items:
        return ""
    label_w, bar_h, gap, top = 230, 16, 6, 24
    top_value = max_value if max_value is not None else max(v for _, v in items) or 1.0
    plot_w = width - label_w - 70
    height = top + len(items) * (bar_h + gap) + 8
    parts = [f'<svg role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<text x="0" y="14" {FONT} font-weight="bold">{escape(title)}</text>']
    for i, (label, value) in enumerate(items):
        y = top + i * (bar_h + gap)
        w = max(0.0, min(1.0, value / top_value if top_value else 0.0)) * plot_w
        color = (colors[i] if colors and i < len(colors) else PALETTE[0])
        parts.append(f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end" {FONT}>'
                     f"{escape(label)}</text>")
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                     f'fill="{color}"/>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 12}" {FONT}>'
                     f"{escape(_fmt(value) + unit)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def line_chart(series: list[tuple[str, list[float]]], labels: list[str], *, title: str,
               y_label: str, threshold: tuple[str, float] | None = None,
               y_max: float | None = None, width: int = 640, height: int = 220) -> str:
    """Lines over a shared x axis (`labels`, e.g. load dates), with an optional threshold."""
    if not labels or not series:
        return ""
    left, right, top, bottom = 48, 16, 26, 40
    values = [v for _, vs in series for v in vs]
    ceiling = y_max if y_max is not None else max([*values, threshold[1] if threshold else 0])
    ceiling = ceiling * 1.1 if y_max is None else ceiling
    ceiling = ceiling or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(labels)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * max(0.0, min(v, ceiling)) / ceiling

    parts = [f'<svg role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<text x="0" y="14" {FONT} font-weight="bold">{escape(title)}</text>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
             'stroke="#999"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#999"/>',
             f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" {FONT}>'
             f"{escape(_fmt(ceiling))}</text>",
             f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" {FONT}>0</text>',
             f'<text x="{left}" y="{height - 4}" {FONT}>{escape(y_label)}</text>']
    if threshold:
        ty = y(threshold[1])
        parts.append(f'<line x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" '
                     'stroke="#c0392b" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{width - right}" y="{ty - 3:.1f}" text-anchor="end" {FONT} '
                     f'fill="#c0392b">{escape(threshold[0])}</text>')
    step = max(1, n // 6)
    for i in range(0, n, step):
        parts.append(f'<text x="{x(i):.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
                     f"{FONT}>{escape(labels[i])}</text>")
    for s, (name, vs) in enumerate(series):
        color = PALETTE[s % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(vs))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" '
                     'stroke-width="2"/>')
        for i, v in enumerate(vs):
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{color}"/>')
        if vs:
            parts.append(f'<text x="{x(len(vs) - 1) - 4:.1f}" y="{y(vs[-1]) - 6:.1f}" '
                         f'text-anchor="end" {FONT} fill="{color}">'
                         f"{escape(name)}: {escape(_fmt(vs[-1]))}</text>")
    parts.append("</svg>")
    return "".join(parts)
