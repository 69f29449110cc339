"""Server-rendered SVG chart of one indicator: cumulative actual against the target and a steady pace.

Pure Python (no Flask): the caller passes the translated texts. The SVG uses presentation attributes
and classes only (no style attribute, no script), so it passes the Content-Security-Policy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 320, 190
LEFT, RIGHT, TOP, BOTTOM = 46, 10, 26, 22
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

ACTUAL_COLOUR = "#1f5fa8"
TARGET_COLOUR = "#b3261e"
PACE_COLOUR = "#6b7280"
GRID_COLOUR = "#d9dee5"
TEXT_COLOUR = "#374151"


@dataclass(frozen=True)
class ChartTexts:
    """The translated texts of a chart."""

    title: str
    desc: str
    actual: str
    target: str
    pace: str


def compact(value: float) -> str:
    """Return a short axis label: 950, 20k, 1.5M."""
    value = float(value)
    if value >= 1_000_000:
        text = f"{value / 1_000_000:.1f}".rstrip("0").rstrip(".")
        return f"{text}M"
    if value >= 1_000:
        text = f"{value / 1_000:.1f}".rstrip("0").rstrip(".")
        return f"{text}k"
    return f"{value:.0f}"


def nice_ceiling(value: float) -> float:
    """Return a round number at or above value (1, 2, 2.5, 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 1.0
    while power * 10 <= value:
        power *= 10
    while power > value:
        power /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _x(month: float) -> float:
    return round(LEFT + PLOT_W * month / 12, 1)


def _y(value: float, top: float) -> float:
    return round(TOP + PLOT_H - PLOT_H * value / top, 1)


def render_chart(
    *,
    chart_id: str,
    cumulative: list[int],
    months_shown: int,
    target: int | None,
    elapsed_fraction: float,
    texts: ChartTexts,
    month_label: Callable[[int], str] = str,
) -> Markup:
    """Return the SVG of one indicator's year (cumulative actual up to `months_shown`)."""
    shown = cumulative[:months_shown]
    top = nice_ceiling(max([target or 0, *shown, 1]) * 1.05)
    cid = escape(chart_id)
    parts: list[str] = [
        f'<svg class="pp-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'preserveAspectRatio="xMidYMid meet" aria-labelledby="{cid}-t {cid}-d" id="{cid}">',
        f'<title id="{cid}-t">{escape(texts.title)}</title>',
        f'<desc id="{cid}-d">{escape(texts.desc)}</desc>',
    ]
    # Grid and value axis: 0, half, top.
    for value in (0, top / 2, top):
        y = _y(value, top)
        parts.append(
            f'<line class="pp-grid" x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" '
            f'stroke="{GRID_COLOUR}" stroke-width="1"/>'
        )
        parts.append(
            f'<text class="pp-axis" x="{LEFT - 4}" y="{y + 3}" text-anchor="end" font-size="10" '
            f'fill="{TEXT_COLOUR}">{escape(compact(value))}</text>'
        )
    # Month axis.
    for month in range(1, 13):
        parts.append(
            f'<text class="pp-axis" x="{round((_x(month - 1) + _x(month)) / 2, 1)}" y="{HEIGHT - 6}" '
            f'text-anchor="middle" font-size="9" fill="{TEXT_COLOUR}">{escape(month_label(month))}</text>'
        )
    # Today, within the year.
    if 0 < elapsed_fraction < 1:
        x = _x(12 * elapsed_fraction)
        parts.append(
            f'<line class="pp-today" x1="{x}" y1="{TOP}" x2="{x}" y2="{TOP + PLOT_H}" '
            f'stroke="{PACE_COLOUR}" stroke-width="1" stroke-dasharray="1 3"/>'
        )
    if target is not None:
        y = _y(target, top)
        parts.append(
            f'<line class="pp-pace" x1="{_x(0)}" y1="{_y(0, top)}" x2="{_x(12)}" y2="{y}" '
            f'stroke="{PACE_COLOUR}" stroke-width="1.5" stroke-dasharray="5 4"/>'
        )
        parts.append(
            f'<line class="pp-target" x1="{_x(0)}" y1="{y}" x2="{_x(12)}" y2="{y}" '
            f'stroke="{TARGET_COLOUR}" stroke-width="1.5"/>'
        )
    if shown:
        # Whole months end at the month's end; the month under way ends today.
        xs = [_x(m) for m in range(1, len(shown) + 1)]
        if 0 < elapsed_fraction < 1 and len(shown) == math.ceil(12 * elapsed_fraction):
            xs[-1] = _x(12 * elapsed_fraction)
        points = " ".join(
            [f"{_x(0)},{_y(0, top)}"] + [f"{x},{_y(v, top)}" for x, v in zip(xs, shown, strict=True)]
        )
        parts.append(
            f'<polyline class="pp-actual" points="{points}" fill="none" stroke="{ACTUAL_COLOUR}" '
            f'stroke-width="2.5" stroke-linejoin="round"/>'
        )
        last_x, last_y = xs[-1], _y(shown[-1], top)
        parts.append(
            f'<circle class="pp-actual-dot" cx="{last_x}" cy="{last_y}" r="3" fill="{ACTUAL_COLOUR}"/>'
        )
    # Legend along the top.
    legend = [
        (texts.actual, ACTUAL_COLOUR, ""),
        (texts.target, TARGET_COLOUR, ""),
        (texts.pace, PACE_COLOUR, ' stroke-dasharray="5 4"'),
    ]
    x = LEFT
    for label, colour, dash in legend:
        parts.append(
            f'<line x1="{x}" y1="12" x2="{x + 16}" y2="12" stroke="{colour}" stroke-width="2.5"{dash}/>'
        )
        parts.append(f'<text x="{x + 20}" y="15" font-size="10" fill="{TEXT_COLOUR}">{escape(label)}</text>')
        x += 28 + 5.5 * len(label)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
