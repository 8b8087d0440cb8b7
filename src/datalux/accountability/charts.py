"""Server-rendered SVG bar charts (no script, no front-end build): one bar per month, with a
title and description for screen readers; every chart on a page is followed by its figures as
a table, so nothing is said by the picture alone."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from datalux.accountability.dashboard import Series

WIDTH = 720
HEIGHT = 200
PAD_LEFT = 44
PAD_BOTTOM = 28
PAD_TOP = 12


def bar_chart(series: Series) -> SafeString:
    points = series.points
    peak = max(series.peak, 1)
    inner_w = WIDTH - PAD_LEFT - 8
    inner_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    step = inner_w / max(len(points), 1)
    bar = max(step * 0.7, 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-{series.key}-t" preserveAspectRatio="xMidYMid meet">',
        f'<title id="chart-{series.key}-t">{escape(series.label)}</title>',
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + inner_h}" x2="{WIDTH - 8}" '
        f'y2="{PAD_TOP + inner_h}" class="axis"/>',
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + 8}" text-anchor="end" class="tick">{peak}</text>',
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + inner_h}" text-anchor="end" class="tick">0</text>',
    ]
    for i, point in enumerate(points):
        height = inner_h * point.value / peak
        x = PAD_LEFT + i * step + (step - bar) / 2
        y = PAD_TOP + inner_h - height
        label = f"{point.month:%Y-%m}: {point.value}"
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" class="bar">'
            f"<title>{escape(label)}</title></rect>"
        )
        if i % 3 == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
                f'class="tick">{point.month:%Y-%m}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped above
