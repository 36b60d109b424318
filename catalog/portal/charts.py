"""Small server-side SVG charts (no external service, no script): stacked columns and
horizontal bars. Values are escaped; colours have a contrast of at least 3:1 on white.

Drawn 360 units wide with 12-unit text, so that on a phone (a card about 330 px wide) the
text stays about 11 px high, and each axis is named. A column's or bar's part may link to the
list behind its figure (an SVG <a>, reachable by keyboard)."""

from __future__ import annotations

import datetime as dt
import math

from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import pgettext_lazy

PALETTE = ["#1d5fa8", "#b35c00", "#6b3fa0", "#2e7d32", "#b3261e"]
WIDTH = 360
FONT = 12
INK, MUTED, GRID = "#1f2937", "#374151", "#e5e7eb"

MONTHS = [
    pgettext_lazy("month on a chart axis", "Jan"),
    pgettext_lazy("month on a chart axis", "Feb"),
    pgettext_lazy("month on a chart axis", "Mar"),
    pgettext_lazy("month on a chart axis", "Apr"),
    pgettext_lazy("month on a chart axis", "May"),
    pgettext_lazy("month on a chart axis", "Jun"),
    pgettext_lazy("month on a chart axis", "Jul"),
    pgettext_lazy("month on a chart axis", "Aug"),
    pgettext_lazy("month on a chart axis", "Sep"),
    pgettext_lazy("month on a chart axis", "Oct"),
    pgettext_lazy("month on a chart axis", "Nov"),
    pgettext_lazy("month on a chart axis", "Dec"),
]


def month_label(month: dt.date) -> str:
    """A month on an axis: 1月 … 12月 (Jan … Dec in English)."""
    return str(MONTHS[month.month - 1])


def ticks(peak: float, count: int = 4) -> list[float]:
    """Axis ticks from 0 past `peak` in steps of 1, 2 or 5 × 10ⁿ (whole numbers for counts):
    never two ticks with the same label."""
    if peak <= 0:
        return [0, 1]
    raw = peak / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(step, 1) if float(peak).is_integer() else step
    n = math.ceil(peak / step)
    return [round(i * step, 6) for i in range(n + 1)]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return mark_safe(  # noqa: S308 - every text part is escaped above
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" class="chart" font-size="{FONT}"><title>{escape(title)}</title>{"".join(body)}</svg>'  # noqa: E501
    )


def _linked(url: str | None, inner: str, label: str) -> str:
    if not url:
        return inner
    return f'<a href="{escape(url)}" aria-label="{escape(label)}">{inner}</a>'


def stacked_columns(
    title: str,
    columns: list[tuple],
    series: list[str],
    *,
    x_title: str = "",
    y_title: str = "",
    width: int = WIDTH,
    height: int = 250,
) -> str:
    """columns: [(label, [value per series], optional [url per series])]; a label with a
    newline shows its second line (the year) under the first."""
    left, right, top = 38, 4, 14
    bottom = 58 + 16 * math.ceil(len(series) / 2)
    plot_h = height - bottom - top
    n = max(len(columns), 1)
    step = (width - left - right) / n
    bar_w = step * 0.64
    scale = ticks(max([sum(c[1]) for c in columns] + [0]))
    peak = scale[-1]
    body = []
    for value in scale:
        y = top + plot_h - plot_h * value / peak
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{left - 5}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">{_number(value)}</text>')
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#6b7280"/>')
    if y_title:
        cy = top + plot_h / 2
        body.append(
            f'<text x="15" y="{cy:.1f}" transform="rotate(-90 15 {cy:.1f})" text-anchor="middle" fill="{INK}" '
            f'data-axis="y">{escape(y_title)}</text>'
        )
    for i, column in enumerate(columns):
        label, values = column[0], column[1]
        urls = column[2] if len(column) > 2 else [None] * len(values)
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h
        for j, value in enumerate(values):
            if not value:
                continue
            h = plot_h * value / peak
            y -= h
            name = f"{label.replace(chr(10), ' ')} {series[j]}: {value}"
            rect = (
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(name)}</title></rect>'
            )
            body.append(_linked(urls[j] if j < len(urls) else None, rect, name))
        lines = label.split("\n")
        cx = x + bar_w / 2
        body.append(
            f'<text x="{cx:.1f}" y="{top + plot_h + 15}" text-anchor="middle" fill="{MUTED}" font-size="11" '
            f"data-axis-label>{escape(lines[0])}</text>"
        )
        if len(lines) > 1:
            body.append(
                f'<text x="{cx:.1f}" y="{top + plot_h + 29}" text-anchor="middle" fill="{MUTED}" font-size="11">{escape(lines[1])}</text>'  # noqa: E501
            )
    if x_title:
        body.append(
            f'<text x="{left + (width - left - right) / 2:.1f}" y="{top + plot_h + 46}" text-anchor="middle" '
            f'fill="{INK}" data-axis="x">{escape(x_title)}</text>'
        )
    legend_top = top + plot_h + 56
    for j, name in enumerate(series):
        lx = left + (j % 2) * (width - left) / 2
        ly = legend_top + 16 * (j // 2)
        body.append(f'<rect x="{lx}" y="{ly}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>')
        body.append(f'<text x="{lx + 14}" y="{ly + 9}" fill="{INK}">{escape(name)}</text>')
    return _svg(width, height, title, body)


def horizontal_bars(
    title: str,
    rows: list[tuple],
    *,
    unit: str = "",
    maximum: float | None = None,
    x_title: str = "",
    width: int = WIDTH,
) -> str:
    """rows: [(label, value, optional url)]. Each label on its own line above its bar, so a
    long institution name is read whole on a phone; the value axis is named by `x_title`."""
    pad, label_h, bar_h, gap = 8, 16, 14, 10
    row_h = label_h + bar_h + gap
    plot_w = width - 2 * pad - 44
    axis_h = 36 if x_title else 18
    height = max(len(rows), 1) * row_h + 2 * pad + axis_h
    scale = ticks(maximum or max([r[1] or 0 for r in rows] + [0]))
    peak = maximum or scale[-1]
    body = []
    if not rows:
        body.append(f'<text x="{pad}" y="{pad + 14}" fill="{MUTED}">—</text>')
    for i, row in enumerate(rows):
        label, value = row[0], row[1] or 0
        url = row[2] if len(row) > 2 else None
        y = pad + i * row_h
        w = plot_w * value / peak if peak else 0
        name = f"{label}: {_number(value)}{unit}"
        short = label if len(label) <= 26 else label[:25] + "…"
        inner = (
            f'<text x="{pad}" y="{y + 12}" fill="{INK}">{escape(short)}</text>'
            f'<rect x="{pad}" y="{y + label_h}" width="{max(w, 1):.1f}" height="{bar_h}" fill="#1d5fa8">'
            f"<title>{escape(name)}</title></rect>"
            f'<text x="{pad + w + 5:.1f}" y="{y + label_h + 11}" fill="{INK}">{_number(value)}{escape(unit)}</text>'
        )
        body.append(_linked(url, inner, name))
    axis_y = pad + max(len(rows), 1) * row_h
    body.append(f'<line x1="{pad}" y1="{axis_y}" x2="{pad + plot_w}" y2="{axis_y}" stroke="#6b7280"/>')
    for value in [0, peak] if maximum else scale:
        x = pad + plot_w * value / peak
        anchor = "start" if value == 0 else "end" if value == peak else "middle"
        body.append(
            f'<text x="{x:.1f}" y="{axis_y + 13}" text-anchor="{anchor}" fill="{MUTED}">{_number(value)}{escape(unit)}</text>'  # noqa: E501
        )
    if x_title:
        body.append(
            f'<text x="{pad + plot_w / 2:.1f}" y="{axis_y + 30}" text-anchor="middle" fill="{INK}" data-axis="x">'
            f"{escape(x_title)}</text>"
        )
    return _svg(width, height, title, body)
