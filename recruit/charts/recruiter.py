"""Server-side SVG charts for the recruiter pages: no script, no inline style, text escaped."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from recruit.charts.text import clean as _clean
from recruit.charts.text import num as _num
from recruit.charts.text import text_width as _text_width
from recruit.charts.text import truncate as _truncate
from recruit.charts.text import wrap as _wrap

__all__ = ["profile_svg"]

WIDTH = 640
PAD = 12
FONT = 22  # viewBox units: about 12 px when the chart is shown 340-360 px wide
LINE = 26
LABEL_W = 232
PLOT_LEFT = 262
PLOT_RIGHT = 618
BAR_H = 16
BAR_GAP = 4
ROW_PAD = 14
SWATCH_W = 30
SWATCH_H = 18
TEXT = "#222222"
MUTED = "#555555"
GRID = "#d4d4d4"
RULE = "#e4e4e4"
REFERENCE = "#333333"
FONT_FAMILY = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"
MAX_LABEL_LINES = 3
MAX_CANDIDATES = 4
COLOURS = ("#1f5f8b", "#b35c00", "#2e7d32", "#6a3d9a")
STYLES = ("solid", "hatch", "dots", "outline")

_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


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
        return COLOURS[index]
    if style == "outline":
        return "#ffffff"
    return f"url(#{chart_id}-pattern-{index})"


def _patterns(count: int, chart_id: str) -> list[str]:
    """Build the <pattern> definitions used by the hatched and dotted candidates."""
    parts: list[str] = []
    for index in range(count):
        colour = COLOURS[index]
        pid = f"{chart_id}-pattern-{index}"
        if STYLES[index] == "hatch":
            parts.append(
                f'<pattern id="{pid}" patternUnits="userSpaceOnUse" width="7" height="7" '
                f'patternTransform="rotate(45)">'
                f'<rect width="7" height="7" fill="#ffffff"/>'
                f'<rect width="3" height="7" fill="{colour}"/></pattern>'
            )
        elif STYLES[index] == "dots":
            parts.append(
                f'<pattern id="{pid}" patternUnits="userSpaceOnUse" width="6" height="6">'
                f'<rect width="6" height="6" fill="#ffffff"/>'
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
    if not _ID.fullmatch(chart_id):
        raise ValueError("chart_id must be a valid id (letter, then letters, digits, - or _)")

    names = [_clean(name) for name, _ in candidates]
    scores = [[_score(values.get(scale_id)) for _, values in candidates] for scale_id, _ in scales]
    labels = [_clean(label) for _, label in scales]
    count = len(candidates)
    x50 = _x(50, low, high)
    body: list[str] = []

    # Legend: one swatch and name per candidate, flowing onto as many lines as needed.
    items: list[tuple[str, str]] = []
    for index, name in enumerate(names):
        swatch = (
            f'<rect class="swatch" x="0" y="{_num(-SWATCH_H + 3)}" width="{SWATCH_W}" '
            f'height="{SWATCH_H}" fill="{_fill(index, chart_id)}" stroke="{COLOURS[index]}" '
            f'stroke-width="2"/>'
        )
        items.append((swatch, _truncate(name, WIDTH - 2 * PAD - SWATCH_W - 8)))
    if any(value is None for row in scores for value in row):
        marker = (
            f'<text x="{SWATCH_W / 2}" y="1" text-anchor="middle" font-size="26" '
            f'font-weight="bold" fill="{MUTED}">–</text>'
        )
        items.append((marker, _truncate(_clean(missing), WIDTH - 2 * PAD - SWATCH_W - 8)))
    x, y = float(PAD), PAD + FONT * 0.8
    for index, (swatch, label) in enumerate(items):
        item_w = SWATCH_W + 8 + _text_width(label)
        if x > PAD and x + item_w > WIDTH - PAD:
            x, y = float(PAD), y + LINE + 4
        kind = "legend-item" if index < count else "legend-missing"
        body.append(
            f'<g class="{kind}" transform="translate({_num(x)} {_num(y)})">{swatch}'
            f'<text x="{SWATCH_W + 8}" y="0" fill="{TEXT}">{escape(label)}</text></g>'
        )
        x += item_w + 22
    top = y + FONT * 0.3 + 16

    # Rows: label on the left, one bar per candidate from the T=50 line.
    block = count * BAR_H + (count - 1) * BAR_GAP
    row_top = top
    rows: list[str] = []
    desc: list[str] = []
    for label, row in zip(labels, scores, strict=True):
        lines = _wrap(label, LABEL_W, MAX_LABEL_LINES)
        row_h = max(block, len(lines) * LINE) + ROW_PAD
        text_y = row_top + (row_h - len(lines) * LINE) / 2 + LINE * 0.5 + FONT * 0.35
        tspans = "".join(
            f'<tspan x="{PAD}" y="{_num(text_y + i * LINE)}">{escape(line)}</tspan>'
            for i, line in enumerate(lines)
        )
        tooltip = f"<title>{escape(label)}</title>" if " ".join(lines) != label else ""
        rows.append(f'<text class="scale-label" fill="{TEXT}">{tooltip}{tspans}</text>')
        bar_top = row_top + (row_h - block) / 2
        for index, value in enumerate(row):
            y0 = bar_top + index * (BAR_H + BAR_GAP)
            mid = y0 + BAR_H / 2
            if value is None:
                rows.append(
                    f'<rect class="missing-gap" x="{_num(x50 - 9)}" y="{_num(y0)}" width="18" '
                    f'height="{BAR_H}" fill="#ffffff"/>'
                    f'<text class="missing" x="{_num(x50)}" y="{_num(mid + 8)}" '
                    f'text-anchor="middle" font-size="26" font-weight="bold" '
                    f'fill="{MUTED}">–</text>'
                )
                continue
            bar = _bar(value, low, high)
            rows.append(
                f'<rect class="bar" data-candidate="{index}" x="{_num(bar.x)}" '
                f'y="{_num(y0)}" width="{_num(bar.width)}" height="{BAR_H}" '
                f'fill="{_fill(index, chart_id)}" stroke="{COLOURS[index]}" stroke-width="2"/>'
            )
            if bar.width < 2:
                rows.append(
                    f'<circle class="at-mean" cx="{_num(x50)}" cy="{_num(mid)}" r="5" '
                    f'fill="{COLOURS[index]}"/>'
                )
            if bar.clipped:
                tip = bar.x + bar.width + 11 if bar.clipped > 0 else bar.x - 11
                base = tip - 8 * bar.clipped
                rows.append(
                    f'<polygon class="clipped" points="{_num(base)},{_num(y0)} '
                    f'{_num(tip)},{_num(mid)} {_num(base)},{_num(y0 + BAR_H)}" '
                    f'fill="{COLOURS[index]}"/>'
                )
        spoken = ", ".join(
            f"{name} {missing if value is None else _spoken(value)}"
            for name, value in zip(names, row, strict=True)
        )
        desc.append(f"{label} : {spoken}.")
        row_top += row_h
        rows.append(
            f'<line class="row-rule" x1="{PAD}" x2="{WIDTH - PAD}" y1="{_num(row_top)}" '
            f'y2="{_num(row_top)}" stroke="{RULE}" stroke-width="1"/>'
        )
    bottom = row_top

    # Grid, reference line and tick labels, drawn under the bars.
    grid: list[str] = [
        f'<line class="row-rule" x1="{PAD}" x2="{WIDTH - PAD}" y1="{_num(top)}" '
        f'y2="{_num(top)}" stroke="{RULE}" stroke-width="1"/>'
    ]
    tick_y = bottom + 8 + FONT * 0.8
    ticks = range(math.floor(low / 10) * 10 + 10, math.ceil(high / 10) * 10, 10)
    for t in ticks:
        if not low < t < high:
            continue
        tx = _num(_x(t, low, high))
        if t != 50:
            grid.append(
                f'<line class="grid" data-t="{t}" x1="{tx}" x2="{tx}" y1="{_num(top)}" '
                f'y2="{_num(bottom + 4)}" stroke="{GRID}" stroke-width="1"/>'
            )
        weight = ' font-weight="bold"' if t == 50 else ""
        grid.append(
            f'<text class="tick" x="{tx}" y="{_num(tick_y)}" text-anchor="middle" '
            f'fill="{TEXT if t == 50 else MUTED}"{weight}>{t}</text>'
        )
    reference = (
        f'<line class="reference" data-t="50" x1="{_num(x50)}" x2="{_num(x50)}" '
        f'y1="{_num(top)}" y2="{_num(bottom + 6)}" stroke="{REFERENCE}" stroke-width="2"/>'
    )
    height = tick_y + FONT * 0.3 + PAD

    defs = _patterns(count, chart_id)
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="profile-chart" '
        f'viewBox="0 0 {WIDTH} {_num(height)}" width="100%" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'font-family="{FONT_FAMILY}" font-size="{FONT}">',
        f'<title id="{chart_id}-title">{escape(_clean(title))}</title>',
        f'<desc id="{chart_id}-desc">{escape(" ".join(desc))}</desc>',
        f"<defs>{''.join(defs)}</defs>" if defs else "",
        f'<rect class="background" width="{WIDTH}" height="{_num(height)}" fill="#ffffff"/>',
        *body,
        *grid,
        reference,
        *rows,
        "</svg>",
    ]
    drawing = "".join(svg)
    return Markup(drawing)  # nosec B704 # every text in it is escaped above
