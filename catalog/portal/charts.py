"""Small server-side SVG charts (no external service, no script): stacked columns and
horizontal bars. Values are escaped; colours have a contrast of at least 3:1 on white."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import mark_safe

PALETTE = ["#1d5fa8", "#b35c00", "#6b3fa0", "#2e7d32", "#b3261e"]


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return mark_safe(  # noqa: S308 - every text part is escaped above
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>{"".join(body)}</svg>'
    )


def stacked_columns(
    title: str, columns: list[tuple[str, list[int]]], series: list[str], *, width=640, height=260
) -> str:
    """columns: [(label, [value per series])]."""
    left, bottom, top = 36, 40, 16
    plot_h = height - bottom - top
    n = max(len(columns), 1)
    step = (width - left - 8) / n
    bar_w = step * 0.6
    peak = max([sum(values) for _l, values in columns] + [1])
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 4}" y2="{top + plot_h}" stroke="#6b7280"/>']
    for tick in range(0, 5):
        value = round(peak * tick / 4)
        y = top + plot_h - plot_h * value / peak
        body.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#374151">{value}</text>'
        )
        if tick:
            body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 4}" y2="{y:.1f}" stroke="#e5e7eb"/>')
    for i, (label, values) in enumerate(columns):
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h
        for j, value in enumerate(values):
            if not value:
                continue
            h = plot_h * value / peak
            y -= h
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}">'  # noqa: E501
                f"<title>{escape(label)} {escape(series[j])}: {value}</title></rect>"
            )
        body.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" fill="#374151">'  # noqa: E501
            f"{escape(label)}</text>"
        )
    lx = left
    for j, name in enumerate(series):
        body.append(f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>')
        body.append(f'<text x="{lx + 14}" y="{height - 5}" font-size="11" fill="#1f2937">{escape(name)}</text>')
        lx += 24 + 12 * len(str(name))
    return _svg(width, height, title, body)


def horizontal_bars(
    title: str, rows: list[tuple[str, float]], *, unit: str = "", maximum: float | None = None, width=640
) -> str:
    label_w, row_h, pad = 200, 26, 8
    height = max(len(rows), 1) * row_h + 2 * pad
    peak = maximum or max([v for _l, v in rows] + [1])
    body = []
    if not rows:
        body.append(f'<text x="{pad}" y="{pad + 14}" font-size="12" fill="#374151">—</text>')
    for i, (label, value) in enumerate(rows):
        y = pad + i * row_h
        w = (width - label_w - 70) * (value or 0) / peak if peak else 0
        short = label if len(label) <= 14 else label[:13] + "…"
        body.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" font-size="12" fill="#1f2937">{escape(short)}'
            f"<title>{escape(label)}</title></text>"
        )
        body.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 10}" fill="#1d5fa8"/>')
        body.append(
            f'<text x="{label_w + w + 6:.1f}" y="{y + 17}" font-size="12" fill="#1f2937">{escape(value)}{escape(unit)}</text>'  # noqa: E501
        )
    return _svg(width, height, title, body)
