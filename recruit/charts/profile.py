"""The recruiter's profile chart: candidates' T-scores side by side, scale by scale.

``profile_svg`` follows the conventions of ``recruit.charts.svg`` and shares its text
helpers, sizes and colours with the HR charts (``recruit.charts.text``, ``recruit.charts.style``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from recruit.charts.style import (
    FONT,
    LINE,
    MUTED,
    PAD,
    PROFILE_GRID,
    REFERENCE,
    SCALE_LABEL_LINES,
    SERIES,
    SWATCH_H,
    SWATCH_W,
    TEXT,
    WHITE,
)
from recruit.charts.svg import check_id, document, label_lines, legend, row_rule
from recruit.charts.text import clean, num, wrap

__all__ = ["profile_svg"]

LABEL_W = 232
PLOT_LEFT = 262
PLOT_RIGHT = 618
BAR_H = 16
BAR_GAP = 4
ROW_PAD = 14
MAX_CANDIDATES = 4
STYLES = ("solid", "hatch", "dots", "outline")  # with SERIES: one look per candidate


@dataclass(frozen=True)
class _Bar:
    """One candidate's bar in one row, in viewBox units."""

    x: float
    width: float
    clipped: int  # -1 clipped at low, +1 clipped at high, 0 not clipped


def _score(value: float | None) -> float | None:
    """Return the score as a float, or None when it is missing or not a number."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _spoken(value: float) -> str:
    """Round a T-score half up for the description."""
    if math.isinf(value):
        return "> 999" if value > 0 else "< -999"
    return str(math.floor(value + 0.5))


def _fill(index: int, chart_id: str) -> str:
    """Return the fill of a candidate's bars and swatch."""
    style = STYLES[index]
    if style == "solid":
        return SERIES[index]
    if style == "outline":
        return WHITE
    return f"url(#{chart_id}-pattern-{index})"


def _patterns(count: int, chart_id: str) -> list[str]:
    """Build the <pattern> definitions used by the hatched and dotted candidates."""
    parts: list[str] = []
    for index in range(count):
        colour = SERIES[index]
        pid = f"{chart_id}-pattern-{index}"
        if STYLES[index] == "hatch":
            parts.append(
                f'<pattern id="{pid}" patternUnits="userSpaceOnUse" width="7" height="7" '
                f'patternTransform="rotate(45)">'
                f'<rect width="7" height="7" fill="{WHITE}"/>'
                f'<rect width="3" height="7" fill="{colour}"/></pattern>'
            )
        elif STYLES[index] == "dots":
            parts.append(
                f'<pattern id="{pid}" patternUnits="userSpaceOnUse" width="6" height="6">'
                f'<rect width="6" height="6" fill="{WHITE}"/>'
                f'<circle cx="3" cy="3" r="1.9" fill="{colour}"/></pattern>'
            )
    return parts


def _bar(value: float, low: float, high: float) -> _Bar:
    """Place a bar from the T=50 line to the clipped value."""
    clipped = -1 if value < low else 1 if value > high else 0
    shown = min(max(value, low), high)
    x50, xv = round(_x(50, low, high), 2), round(_x(shown, low, high), 2)
    return _Bar(x=min(x50, xv), width=round(abs(xv - x50), 2), clipped=clipped)


def _x(t: float, low: float, high: float) -> float:
    """Map a T-score to the horizontal viewBox coordinate."""
    return PLOT_LEFT + (t - low) / (high - low) * (PLOT_RIGHT - PLOT_LEFT)


def profile_svg(
    scales: Sequence[tuple[str, str]],
    candidates: Sequence[tuple[str, Mapping[str, float | None]]],
    *,
    title: str,
    low: float = 20,
    high: float = 80,
    chart_id: str = "profile",
    missing: str = "sans score",
) -> Markup:
    """Render candidates' T-score profiles as an accessible, script-free, style-free SVG."""
    if not 1 <= len(candidates) <= MAX_CANDIDATES:
        raise ValueError(f"between 1 and {MAX_CANDIDATES} candidates, not {len(candidates)}")
    if not scales:
        raise ValueError("at least one scale is needed")
    if not low < 50 < high:
        raise ValueError(f"the range [{low}, {high}] must contain 50 strictly inside")
    check_id(chart_id)

    names = [clean(name) for name, _ in candidates]
    scores = [[_score(values.get(scale_id)) for _, values in candidates] for scale_id, _ in scales]
    labels = [clean(label) for _, label in scales]
    with_missing = any(value is None for row in scores for value in row)
    legend_parts, top = _legend(names, chart_id, clean(missing) if with_missing else None)

    rows: list[str] = []
    desc: list[str] = []
    bottom = top
    for label, row in zip(labels, scores, strict=True):
        parts, bottom = _scale_row(label, row, bottom, chart_id, low, high)
        rows += parts
        spoken = ", ".join(
            f"{name} {missing if value is None else _spoken(value)}"
            for name, value in zip(names, row, strict=True)
        )
        desc.append(f"{label} : {spoken}.")
    grid, height = _grid(top, bottom, low, high)
    body = [*legend_parts, *grid, *rows]
    defs = _patterns(len(candidates), chart_id)
    return document("profile-chart", chart_id, title, " ".join(desc), height, body, defs)


def _legend(names: list[str], chart_id: str, missing: str | None) -> tuple[list[str], float]:
    """One swatch and name per candidate, then the missing-score mark when ``missing``.

    Returns the parts and the top of the first row.
    """
    items: list[tuple[str, str, str]] = []
    for index, name in enumerate(names):
        swatch = (
            f'<rect class="swatch" x="0" y="{num(-SWATCH_H + 3)}" width="{SWATCH_W}" '
            f'height="{SWATCH_H}" fill="{_fill(index, chart_id)}" stroke="{SERIES[index]}" '
            f'stroke-width="2"/>'
        )
        items.append(('class="legend-item"', swatch, name))
    if missing is not None:
        marker = (
            f'<text x="{SWATCH_W / 2}" y="1" text-anchor="middle" font-size="26" '
            f'font-weight="bold" fill="{MUTED}">–</text>'
        )
        items.append(('class="legend-missing"', marker, missing))
    parts, y = legend(items)
    return parts, y + FONT * 0.3 + 16


def _scale_row(
    label: str, row: list[float | None], top: float, chart_id: str, low: float, high: float
) -> tuple[list[str], float]:
    """One scale's row from y=top: its label on the left, one bar per candidate, a rule.

    Returns the parts and the bottom of the row.
    """
    count = len(row)
    block = count * BAR_H + (count - 1) * BAR_GAP
    lines = wrap(label, LABEL_W, SCALE_LABEL_LINES)
    row_h = max(block, len(lines) * LINE) + ROW_PAD
    text_y = top + (row_h - len(lines) * LINE) / 2 + LINE * 0.5 + FONT * 0.35
    parts = [label_lines(lines, PAD, text_y, "scale-label", label)]
    bar_top = top + (row_h - block) / 2
    for index, value in enumerate(row):
        y0 = bar_top + index * (BAR_H + BAR_GAP)
        parts += _candidate_bar(index, value, y0, chart_id, low, high)
    parts.append(row_rule(top + row_h))
    return parts, top + row_h


def _candidate_bar(
    index: int, value: float | None, y0: float, chart_id: str, low: float, high: float
) -> list[str]:
    """One candidate's bar from the T=50 line, a dot at 50, an arrow when clipped, or a gap."""
    x50 = _x(50, low, high)
    mid = y0 + BAR_H / 2
    if value is None:
        return [
            f'<rect class="missing-gap" x="{num(x50 - 9)}" y="{num(y0)}" width="18" '
            f'height="{BAR_H}" fill="{WHITE}"/>'
            f'<text class="missing" x="{num(x50)}" y="{num(mid + 8)}" '
            f'text-anchor="middle" font-size="26" font-weight="bold" '
            f'fill="{MUTED}">–</text>'
        ]
    bar = _bar(value, low, high)
    parts = [
        f'<rect class="bar" data-candidate="{index}" x="{num(bar.x)}" '
        f'y="{num(y0)}" width="{num(bar.width)}" height="{BAR_H}" '
        f'fill="{_fill(index, chart_id)}" stroke="{SERIES[index]}" stroke-width="2"/>'
    ]
    if bar.width < 2:
        parts.append(
            f'<circle class="at-mean" cx="{num(x50)}" cy="{num(mid)}" r="5" '
            f'fill="{SERIES[index]}"/>'
        )
    if bar.clipped:
        tip = bar.x + bar.width + 11 if bar.clipped > 0 else bar.x - 11
        base = tip - 8 * bar.clipped
        parts.append(
            f'<polygon class="clipped" points="{num(base)},{num(y0)} '
            f'{num(tip)},{num(mid)} {num(base)},{num(y0 + BAR_H)}" '
            f'fill="{SERIES[index]}"/>'
        )
    return parts


def _grid(top: float, bottom: float, low: float, high: float) -> tuple[list[str], float]:
    """Grid every 10 points, tick labels and the T=50 reference line, drawn under the bars.

    Returns the parts and the chart's height.
    """
    parts = [row_rule(top)]
    tick_y = bottom + 8 + FONT * 0.8
    ticks = range(math.floor(low / 10) * 10 + 10, math.ceil(high / 10) * 10, 10)
    for t in ticks:
        if not low < t < high:
            continue
        tx = num(_x(t, low, high))
        if t != 50:
            parts.append(
                f'<line class="grid" data-t="{t}" x1="{tx}" x2="{tx}" y1="{num(top)}" '
                f'y2="{num(bottom + 4)}" stroke="{PROFILE_GRID}" stroke-width="1"/>'
            )
        weight = ' font-weight="bold"' if t == 50 else ""
        parts.append(
            f'<text class="tick" x="{tx}" y="{num(tick_y)}" text-anchor="middle" '
            f'fill="{TEXT if t == 50 else MUTED}"{weight}>{t}</text>'
        )
    x50 = num(_x(50, low, high))
    parts.append(
        f'<line class="reference" data-t="50" x1="{x50}" x2="{x50}" '
        f'y1="{num(top)}" y2="{num(bottom + 6)}" stroke="{REFERENCE}" stroke-width="2"/>'
    )
    return parts, tick_y + FONT * 0.3 + PAD
