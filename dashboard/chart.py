"""The 30-day history chart as SVG, drawn on the server (no script, no chart library).

One stacked bar per local day: done, snoozed, and sent but not acted on. The SVG carries a
``<title>`` and ``<desc>`` for screen readers; the page also shows the same numbers as a table.
Colours come from CSS classes because the Content-Security-Policy allows no inline style.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from services.stats import DayCounts

WIDTH = 620
HEIGHT = 200
# Room for the axis text at phone width too, where it is drawn twice as large (style.css).
LEFT = 44
BOTTOM = 30
TOP = 8


def _bar(x: float, y: float, w: float, h: float, css: str, label: str) -> str:
    if h <= 0:
        return ""
    return (
        f'<rect class="{css}" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}">'
        f"<title>{escape(label)}</title></rect>"
    )


def history_svg(days: Sequence[DayCounts]) -> Markup:
    if not days:
        return Markup("")
    peak = max(max(d.sent, d.done + d.snoozed) for d in days) or 1
    plot_h = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / len(days)
    bar_w = max(slot * 0.7, 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">Reminders per day, last {len(days)} days</title>',
        '<desc id="chart-desc">Stacked bars per day: done, snoozed, and sent without a '
        "response. The table below has the totals.</desc>",
        f'<line class="axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" '
        f'y2="{HEIGHT - BOTTOM}"/>',
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">{peak}</text>',
        f'<text class="tick" x="{LEFT - 4}" y="{HEIGHT - BOTTOM}" text-anchor="end">0</text>',
    ]
    for i, d in enumerate(days):
        x = LEFT + i * slot + (slot - bar_w) / 2
        base: float = HEIGHT - BOTTOM
        ignored = max(d.sent - d.done - d.snoozed, 0)
        day = d.day.strftime("%a %d %b")
        for count, css, what in (
            (d.done, "done", "done"),
            (d.snoozed, "snoozed", "snoozed"),
            (ignored, "sent", "sent, no response"),
        ):
            h = plot_h * count / peak
            parts.append(_bar(x, base - h, bar_w, h, css, f"{day}: {count} {what}"))
            base -= h
        # A date under every 7th bar; the last day's only when it does not crowd the one before.
        if i % 7 == 0 or (i == len(days) - 1 and i % 7 >= 4):
            parts.append(
                f'<text class="tick" x="{x + bar_w / 2:.1f}" y="{HEIGHT - 6}" '
                f'text-anchor="middle">{d.day.strftime("%d %b")}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
