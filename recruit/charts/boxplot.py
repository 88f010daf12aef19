"""Box plots of score distributions, one row per pool on a shared value axis, as SVG."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from recruit.charts.axis import Axis, axis_block, check_bound, grid, make_axis
from recruit.charts.stats import five_numbers
from recruit.charts.style import (
    BLUE,
    BOX_FILL,
    FONT,
    LINE,
    MUTED,
    ORANGE,
    PAD,
    ROW_LABEL_LINES,
    SWATCH_H,
    SWATCH_W,
    TEXT,
    WHITE,
    WIDTH,
)
from recruit.charts.svg import check_id, document, label_lines, legend, row_rule
from recruit.charts.text import clean, num, text_width, truncate, wrap

__all__ = ["BoxWords", "boxplot_svg"]

PLOT_LEFT = 34  # room for half of a "100" tick label left of the axis start
PLOT_RIGHT = 606
BOX_H = 26
BAND_H = 36
ROW_GAP = 10
MAX_SPOKEN_OUTLIERS = 10
BOX_STROKE = BLUE
MEDIAN = TEXT
MEAN = ORANGE


@dataclass(frozen=True)
class BoxWords:
    """Every word the box plot draws or speaks; French by default, pass translations.

    ``count``, ``summary`` and ``outliers`` are ``str.format`` templates: ``{n}``; ``{n}``,
    ``{median}``, ``{q1}``, ``{q3}``, ``{mean}``, ``{min}``, ``{max}``; ``{values}``.
    """

    box: str = "moitié centrale (Q1 à Q3)"
    median: str = "médiane"
    mean: str = "moyenne"
    outlier: str = "valeur atypique"
    count: str = "n = {n}"
    summary: str = (
        "n = {n}, médiane {median}, quartiles {q1} et {q3}, moyenne {mean}, "
        "minimum {min}, maximum {max}"
    )
    outliers: str = "valeurs atypiques : {values}"


def boxplot_svg(
    pools: Sequence[tuple[str, Sequence[float] | dict]],
    *,
    title: str,
    axis_label: str,
    low: float | None = None,
    high: float | None = None,
    chart_id: str = "box",
    missing: str = "aucune donnée",
    words: BoxWords | None = None,
) -> Markup:
    """Render one scale's score distributions, one box plot per pool, as an accessible SVG.

    Each pool gives its values, or their summary from ``five_numbers`` (a dict) when the caller
    has it already.

    Layout: pools are rows and values run along x.  On a phone the chart is as wide as the
    screen but can be as tall as needed, so rows scale to a dozen pools while the value axis
    keeps the full width; each pool's label (a campaign title, wrapped on two lines at most,
    then shortened with the full text as a tooltip) sits on its own line above its box with
    ``n = 42`` at the right end of that line, so long titles never squeeze the plot.  Every
    box shares one axis, and the caller draws one chart per scale.

    Marks (see ``five_numbers``): the box spans Q1 to Q3 (numpy's default linear quartiles)
    with a thick median line; whiskers reach the most extreme values within 1.5 × IQR of the
    box; values beyond are small open circles; the mean is an orange diamond.  Marks differ by
    shape as well as colour, and a key above the rows names them (``words``).

    The axis covers [low, high] when given (0–100 raw scores, 20–80 T-scores) and widens to
    round numbers if a value falls outside; otherwise it spans the data, padded.  A pool
    with no value shows ``missing``.  The <desc> gives, for each pool, n, median, quartiles,
    mean, minimum and maximum rounded to one decimal, and the outlying values.
    """
    check_id(chart_id)
    if not pools:
        raise ValueError("at least one pool is needed")
    low, high = check_bound("low", low), check_bound("high", high)
    if low is not None and high is not None and not low < high:
        raise ValueError(f"low ({low}) must be below high ({high})")
    words = words or BoxWords()
    missing = clean(missing)
    labels = [clean(label) for label, _ in pools]
    stats = [values if isinstance(values, dict) else five_numbers(values) for _, values in pools]
    present = [s for s in stats if s["n"]]
    axis = make_axis(
        min((s["min"] for s in present), default=None),
        max((s["max"] for s in present), default=None),
        low,
        high,
        PLOT_LEFT,
        PLOT_RIGHT,
    )
    body, top = _header(axis, words, stats)
    desc = [f"{clean(axis_label)} ({axis.label(axis.low)} – {axis.label(axis.high)})."]
    for index, (label, s) in enumerate(zip(labels, stats, strict=True)):
        parts, top = _pool_row(axis, index, label, s, top, words, missing)
        body += parts
        desc.append(_pool_sentence(label, s, words, missing))
    parts, height = _footer(axis, axis_label, top)
    body += parts
    return document("hr-chart box-chart", chart_id, title, " ".join(desc), height, body)


def _header(axis: Axis, words: BoxWords, stats: list[dict[str, Any]]) -> tuple[list[str], float]:
    """The key to the marks and, over a tall chart, the tick labels; returns parts and bottom."""
    body, top = _legend(words, any(s["outliers"] for s in stats))
    if len(stats) > 4:  # a tall chart repeats the tick labels above the first row
        parts, top = axis_block(axis, top - 6, labels_only=True)
        body += parts
        top += 6
    return body, top


def _legend(words: BoxWords, with_outliers: bool) -> tuple[list[str], float]:
    """Key to the marks, flowing onto as many lines as needed; returns parts and bottom."""
    mid = -SWATCH_H / 2 + 3
    items = [
        (
            "box",
            f'<rect x="0" y="{num(-SWATCH_H + 3)}" width="{SWATCH_W}" height="{SWATCH_H}" '
            f'fill="{BOX_FILL}" stroke="{BOX_STROKE}" stroke-width="2"/>',
            words.box,
        ),
        (
            "median",
            f'<line x1="{num(SWATCH_W / 2)}" x2="{num(SWATCH_W / 2)}" '
            f'y1="{num(-SWATCH_H + 1)}" y2="5" stroke="{MEDIAN}" stroke-width="4"/>',
            words.median,
        ),
        (
            "mean",
            f'<polygon points="{_diamond(SWATCH_W / 2, mid, 8)}" fill="{MEAN}" '
            f'stroke="{WHITE}" stroke-width="1.5"/>',
            words.mean,
        ),
    ]
    if with_outliers:
        items.append(
            (
                "outlier",
                f'<circle cx="{num(SWATCH_W / 2)}" cy="{num(mid)}" r="5" fill="{WHITE}" '
                f'stroke="{BOX_STROKE}" stroke-width="2"/>',
                words.outlier,
            )
        )
    parts, y = legend(
        [
            (f'class="legend-item" data-mark="{kind}"', swatch, clean(text))
            for kind, swatch, text in items
        ]
    )
    return parts, y + FONT * 0.3 + 14


def _pool_row(
    axis: Axis,
    index: int,
    label: str,
    s: dict[str, Any],
    top: float,
    words: BoxWords,
    missing: str,
) -> tuple[list[str], float]:
    """One pool's row from y=top: label and count, then its box or ``missing``, then a rule.

    Returns the parts and the top of the next row.
    """
    count = clean(words.count.format_map({"n": s["n"]}))
    lines = wrap(label, WIDTH - 2 * PAD - text_width(count) - 16, ROW_LABEL_LINES)
    base = top + 6 + FONT * 0.8
    parts = [
        label_lines(lines, PAD, base, "pool-label", label),
        f'<text class="pool-n" data-pool="{index}" x="{WIDTH - PAD}" y="{num(base)}" '
        f'text-anchor="end" fill="{MUTED}">{escape(count)}</text>',
    ]
    band = base + (len(lines) - 1) * LINE + FONT * 0.3 + 4
    mid = band + BAND_H / 2
    if not s["n"]:
        parts.append(
            f'<text class="missing" data-pool="{index}" x="{PLOT_LEFT}" '
            f'y="{num(mid + FONT * 0.35)}" font-style="italic" fill="{MUTED}">'
            f"{escape(missing)}</text>"
        )
    else:
        parts.append(grid(axis, band, band + BAND_H))
        parts.extend(_box(axis, s, index, mid))
    next_top = band + BAND_H + ROW_GAP
    parts.append(row_rule(next_top))
    return parts, next_top


def _pool_sentence(label: str, s: dict[str, Any], words: BoxWords, missing: str) -> str:
    """What the <desc> says of one pool: its summary and outliers, or ``missing``."""
    if not s["n"]:
        return f"{label} : {missing}."
    spoken = {k: _spoken(s[k]) for k in ("median", "q1", "q3", "mean", "min", "max")}
    text = words.summary.format_map({"n": s["n"], **spoken})
    if s["outliers"]:
        shown = [_spoken(v) for v in s["outliers"][:MAX_SPOKEN_OUTLIERS]]
        more = len(s["outliers"]) > MAX_SPOKEN_OUTLIERS
        values = ", ".join(shown) + (", …" if more else "")
        text += ", " + words.outliers.format_map({"values": values})
    return f"{label} : {clean(text)}."


def _footer(axis: Axis, axis_label: str, top: float) -> tuple[list[str], float]:
    """The value axis under the last row and its label; returns parts and chart height."""
    parts, bottom = axis_block(axis, top + 6)
    axis_text = truncate(clean(axis_label), WIDTH - 2 * PAD)
    label_y = bottom + 6 + FONT * 0.8
    parts.append(
        f'<text class="axis-label" x="{num((PLOT_LEFT + PLOT_RIGHT) / 2)}" '
        f'y="{num(label_y)}" text-anchor="middle" fill="{TEXT}">{escape(axis_text)}</text>'
    )
    return parts, label_y + FONT * 0.3 + PAD


def _box(axis: Axis, s: dict[str, Any], index: int, mid: float) -> list[str]:
    """Whiskers, box, median, mean and outliers of one pool, centred on y=mid."""
    x = axis.x
    y0, y1 = mid - BOX_H / 2, mid + BOX_H / 2
    q1, q3 = x(s["q1"]), x(s["q3"])
    parts = []
    for end, edge in ((s["whisker_low"], q1), (s["whisker_high"], q3)):
        xe = x(end)
        parts.append(
            f'<line class="whisker" data-pool="{index}" x1="{num(xe)}" x2="{num(edge)}" '
            f'y1="{num(mid)}" y2="{num(mid)}" stroke="{BOX_STROKE}" stroke-width="2"/>'
            f'<line class="whisker-cap" data-pool="{index}" x1="{num(xe)}" x2="{num(xe)}" '
            f'y1="{num(mid - 7)}" y2="{num(mid + 7)}" stroke="{BOX_STROKE}" stroke-width="2"/>'
        )
    parts.append(
        f'<rect class="box" data-pool="{index}" x="{num(q1)}" y="{num(y0)}" '
        f'width="{num(q3 - q1)}" height="{BOX_H}" fill="{BOX_FILL}" stroke="{BOX_STROKE}" '
        f'stroke-width="2"/>'
    )
    xm = x(s["median"])
    parts.append(
        f'<line class="median" data-pool="{index}" x1="{num(xm)}" x2="{num(xm)}" '
        f'y1="{num(y0 - 3)}" y2="{num(y1 + 3)}" stroke="{MEDIAN}" stroke-width="4"/>'
    )
    # One marker per drawn position: a campaign of 400,000 tests has thousands of outliers,
    # most of them at the same hundredth of a pixel; data-count says how many share it.
    drawn = Counter(num(x(v)) for v in s["outliers"])
    parts.extend(
        f'<circle class="outlier" data-pool="{index}"'
        + (f' data-count="{count}"' if count > 1 else "")
        + f' cx="{cx}" cy="{num(mid)}" r="5" fill="{WHITE}" stroke="{BOX_STROKE}"'
        ' stroke-width="2"/>'
        for cx, count in drawn.items()
    )
    parts.append(
        f'<polygon class="mean" data-pool="{index}" data-x="{num(x(s["mean"]))}" '
        f'points="{_diamond(x(s["mean"]), mid, 8)}" fill="{MEAN}" stroke="{WHITE}" '
        f'stroke-width="1.5"/>'
    )
    return parts


def _diamond(x: float, y: float, r: float) -> str:
    """Points of a diamond centred on (x, y), r from the centre to each corner."""
    corners = ((x, y - r), (x + r, y), (x, y + r), (x - r, y))
    return " ".join(f"{num(cx)},{num(cy)}" for cx, cy in corners)


def _spoken(value: float) -> str:
    """Round a statistic to one decimal for the description."""
    return f"{value:.1f}"
