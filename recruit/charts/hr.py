"""Server-side SVG charts for the HR dashboard: no script, no inline style, text escaped.

Same conventions as ``recruit.recruiter.charts`` (viewBox 640 units wide shown at width="100%",
22-unit text, presentation attributes only, ``role="img"`` with a <title> and a <desc> that
says every value in words, ids prefixed by ``chart_id``).  The small text helpers are copied
rather than imported because the import-linter contract keeps ``recruit.hr`` and
``recruit.recruiter`` independent.

Wrap a chart in ``<figure>`` with a visible ``<figcaption>``: the title lives in the SVG for
screen readers only.  The charts carry the classes ``hr-chart box-chart`` and
``hr-chart bars-chart`` for sizing from the stylesheet (e.g. ``max-width: 44rem``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from markupsafe import Markup, escape

from recruit.charts.text import clean as _clean
from recruit.charts.text import num as _num
from recruit.charts.text import text_width as _text_width
from recruit.charts.text import truncate as _truncate
from recruit.charts.text import wrap as _wrap

__all__ = ["BoxWords", "bars_svg", "boxplot_svg", "five_numbers"]

WIDTH = 640
PAD = 12
FONT = 22  # viewBox units: about 12 px when the chart is shown 340-360 px wide
LINE = 26
PLOT_LEFT = 34  # room for half of a "100" tick label left of the axis start
PLOT_RIGHT = 606
BOX_H = 26
BAND_H = 36
ROW_GAP = 10
BAR_H = 24
SWATCH_W = 30
SWATCH_H = 18
LEFT_LABELS_MAX = 200  # bar labels narrower than this go in a column left of the bars
MAX_LABEL_LINES = 2
MAX_SPOKEN_OUTLIERS = 10
TEXT = "#222222"
MUTED = "#555555"
GRID = "#dddddd"
RULE = "#e4e4e4"
BOX_STROKE = "#1f5f8b"
BOX_FILL = "#d3e4f2"
MEDIAN = "#222222"
MEAN = "#b35c00"
BAR_FILL = "#1f5f8b"
FONT_FAMILY = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"
FMAX = 1.7976931348623157e308
BIG = 2.0**900  # beyond this, quartiles are computed on values scaled by 2**-64 (exact)

_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


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


@dataclass(frozen=True)
class _Axis:
    """A linear value axis mapped onto [left, right] in viewBox units."""

    low: float
    high: float
    left: float
    right: float
    ticks: tuple[float, ...]
    step: float

    def x(self, value: float) -> float:
        """Map a value to the horizontal coordinate (halves first: no overflow)."""
        frac = (value * 0.5 - self.low * 0.5) / (self.high * 0.5 - self.low * 0.5)
        return self.left + frac * (self.right - self.left)

    def label(self, value: float) -> str:
        """Format a tick value as a round number."""
        return _tick_text(value, self.step)


# --------------------------------------------------------------------------- text helpers


def _spoken(value: float) -> str:
    """Round a statistic to one decimal for the description."""
    return f"{value:.1f}"


def _tick_text(value: float, step: float) -> str:
    """Round tick label: as many decimals as the step needs, no "-0"."""
    if value == 0:
        return "0"
    if abs(value) >= 1e7 or abs(value) < 1e-4 or step < 1e-4:
        ratio = abs(value) / step if step > 0 else math.inf
        if ratio <= 1000:
            digits = 3
        else:
            digits = min(17, math.ceil(math.log10(ratio)) + 1) if ratio < 1e17 else 17
        return f"{value:.{digits}g}"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{value:.{decimals}f}"


def _value_text(value: float) -> str:
    """A bar's printed value: whole numbers as such, others to one decimal."""
    if abs(value) >= 1e9:
        return f"{value:.3g}"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}"


def _label_lines(lines: list[str], x: float, y: float, css: str, full: str) -> str:
    """A (possibly wrapped) text label, with the full text as a tooltip when shortened."""
    tspans = "".join(
        f'<tspan x="{_num(x)}" y="{_num(y + i * LINE)}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    tooltip = f"<title>{escape(full)}</title>" if " ".join(lines) != full else ""
    return f'<text class="{css}" fill="{TEXT}">{tooltip}{tspans}</text>'


# --------------------------------------------------------------------------- statistics


def _finite(values: Iterable[Any]) -> np.ndarray:
    """The finite values as floats; None, NaN, pandas NA and infinities are dropped."""
    kept: list[float] = []
    for value in values:
        if value is None:
            continue
        try:
            number = float(value)
        except TypeError:
            if type(value).__name__ == "NAType":  # pandas.NA, without importing pandas
                continue
            raise
        if math.isfinite(number):
            kept.append(number)
    return np.asarray(kept, dtype=float)


def five_numbers(values: Iterable[Any]) -> dict[str, Any]:
    """Summarise values for a box plot (Tukey's rule), ignoring NaN and missing values.

    Returns ``n``, ``min``, ``q1``, ``median``, ``q3``, ``max``, ``mean``, ``whisker_low``,
    ``whisker_high`` (floats, or None when no value is left) and ``outliers`` (sorted list).

    * Quartiles use numpy's default ``linear`` method (``np.percentile(v, [25, 50, 75])``,
      Hyndman & Fan type 7, the same as R's default and pandas' ``quantile``).
    * Whiskers reach the most extreme values within 1.5 × IQR of the box
      (``[Q1 - 1.5 IQR, Q3 + 1.5 IQR]``); like matplotlib, a whisker never goes inside the
      box (with tiny samples the nearest value in the fence may lie beyond Q1 or Q3: the
      whisker then stops at the box edge).  Values outside the fences are ``outliers``.
    * None, NaN, pandas NA and ±inf are not values: they are left out of every figure and
      of ``n``.
    """
    data = _finite(values)
    n = int(data.size)
    if n == 0:
        return {
            "n": 0,
            **dict.fromkeys(
                ("min", "q1", "median", "q3", "max", "mean", "whisker_low", "whisker_high")
            ),
            "outliers": [],
        }
    # Scaling by a power of two is exact, so results equal numpy's on ordinary data and
    # huge magnitudes do not overflow in the interpolation, the mean or the fences.
    factor = 2.0**64 if float(np.max(np.abs(data))) > BIG else 1.0
    scaled = data / factor
    q1s, meds, q3s = (float(q) for q in np.percentile(scaled, [25, 50, 75]))
    iqr = q3s - q1s
    low_fence, high_fence = q1s - 1.5 * iqr, q3s + 1.5 * iqr
    inside = scaled[(scaled >= low_fence) & (scaled <= high_fence)]
    whisker_low = min(float(inside.min()), q1s) if inside.size else q1s
    whisker_high = max(float(inside.max()), q3s) if inside.size else q3s
    outside = data[(scaled < low_fence) | (scaled > high_fence)]
    return {
        "n": n,
        "min": float(data.min()),
        "q1": q1s * factor,
        "median": meds * factor,
        "q3": q3s * factor,
        "max": float(data.max()),
        "mean": float(np.mean(scaled)) * factor,
        "whisker_low": whisker_low * factor,
        "whisker_high": whisker_high * factor,
        "outliers": sorted(float(v) for v in outside),
    }


# --------------------------------------------------------------------------- axis


def _nice_step(low: float, high: float, intervals: int = 6) -> float:
    """A 1-2-5 × 10^k step giving at most `intervals` intervals over [low, high]."""
    raw = (high * 0.5 - low * 0.5) * (2 / intervals)
    if not 0 < raw < math.inf:
        return 0.0  # denormal spans: the axis then shows its two ends only
    exponent = math.floor(math.log10(raw))
    base = 10.0**exponent
    for mult in (1, 2, 5, 10):
        if mult * base >= raw * (1 - 1e-9):
            return mult * base
    return 10 * base  # pragma: no cover - the loop always returns


def _round_out(
    lo: float, hi: float, step: float, low: float | None, high: float | None
) -> tuple[float, float]:
    """Round outwards to a whole step the ends that were not given (or were widened)."""
    if step > 0 and (low is None or lo < low) and math.isfinite(lo / step):
        rounded = math.floor(lo / step) * step
        lo = rounded if math.isfinite(rounded) else lo
    if step > 0 and (high is None or hi > high) and math.isfinite(hi / step):
        rounded = math.ceil(hi / step) * step
        hi = rounded if math.isfinite(rounded) else hi
    return lo, hi


def _make_axis(
    data_min: float | None,
    data_max: float | None,
    low: float | None,
    high: float | None,
    left: float,
    right: float,
) -> _Axis:
    """Build the value axis: [low, high] when given, widened to cover every value."""
    if data_min is None or data_max is None:
        lo = low if low is not None else (high - 10 if high is not None else 0.0)
        hi = high if high is not None else lo + 10
    else:
        half_span = data_max * 0.5 - data_min * 0.5
        pad = half_span * 0.1
        if not pad > 0:  # one distinct value (or two a few ulps apart)
            pad = max(abs(data_min) * 0.05, 0.5)
        lo = min(low if low is not None else data_min - pad, data_min)
        hi = max(high if high is not None else data_max + pad, data_max)
        # One given end and data all beyond it: the axis still reaches the given end.
        lo = min(lo, high) if low is None and high is not None else lo
        hi = max(hi, low) if high is None and low is not None else hi
    lo, hi = max(lo, -FMAX), min(hi, FMAX)
    while not hi * 0.5 - lo * 0.5 > 0:  # a single value, or rounding at huge magnitudes
        widen = max(abs(lo), abs(hi), 1.0) * 0.05
        if (high is None or lo <= -FMAX) and hi < FMAX:
            hi = min(hi + widen, FMAX)
        else:
            lo = max(lo - widen, -FMAX)
    # The step comes from the given range when there is one, so that a stray value below
    # 20 on a 20-80 T axis widens it to 10, not to 0; a far outlier gets a coarser step.
    given = low is not None and high is not None
    step = _nice_step(low, high) if given else _nice_step(lo, hi)  # type: ignore[arg-type]
    lo, hi = _round_out(lo, hi, step, low, high)
    if step > 0 and (hi * 0.5 - lo * 0.5) / step > 5:  # more than 10 intervals
        step = _nice_step(lo, hi)
        lo, hi = _round_out(lo, hi, step, low, high)
    ticks: tuple[float, ...] = (lo, hi)
    if step > 0 and math.isfinite(lo / step) and math.isfinite(hi / step):
        first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        if 2 <= last - first + 1 <= 50:
            digits = max(0, -math.floor(math.log10(step) + 1e-9)) + 2
            found = [round(k * step, digits) for k in range(first, last + 1)]
            ticks = tuple(t for t in found if math.isfinite(t) and lo <= t <= hi) or ticks
    return _Axis(low=lo, high=hi, left=left, right=right, ticks=ticks, step=step)


def _visible_ticks(axis: _Axis) -> list[tuple[float, float, str, float]]:
    """(value, x, label, label_x) for the ticks whose labels do not overlap."""
    ticks = list(axis.ticks)
    while True:
        placed = []
        for value in ticks:
            x = axis.x(value)
            text = axis.label(value)
            half = _text_width(text) / 2
            placed.append((value, x, text, min(max(x, PAD + half), WIDTH - PAD - half), half))
        crowded = any(
            b[3] - b[4] - (a[3] + a[4]) < 10 for a, b in zip(placed, placed[1:], strict=False)
        )
        if not crowded or len(ticks) <= 2:
            return [(v, x, t, lx) for v, x, t, lx, _ in placed]
        # Keep every other tick, always keeping both ends when the count allows it.
        ticks = ticks[::2] if len(ticks) % 2 else ticks[::2] + ticks[-1:]


def _axis_block(axis: _Axis, top: float, *, labels_only: bool = False) -> tuple[list[str], float]:
    """Axis line, tick marks and tick labels starting at y=top; returns parts and bottom.

    With labels_only (the repeat above a tall chart) only the tick labels are drawn.
    """
    parts = []
    if not labels_only:
        parts.append(
            f'<line class="axis" x1="{_num(axis.left)}" x2="{_num(axis.right)}" '
            f'y1="{_num(top)}" y2="{_num(top)}" stroke="{MUTED}" stroke-width="1.5"/>'
        )
    label_y = top + (0 if labels_only else 8) + FONT * 0.8
    css = "tick tick-top" if labels_only else "tick"
    for value, x, text, label_x in _visible_ticks(axis):
        if not labels_only:
            parts.append(
                f'<line class="tick-mark" data-value="{value!r}" x1="{_num(x)}" '
                f'x2="{_num(x)}" y1="{_num(top)}" y2="{_num(top + 6)}" stroke="{MUTED}" '
                f'stroke-width="1.5"/>'
            )
        parts.append(
            f'<text class="{css}" data-value="{value!r}" x="{_num(label_x)}" '
            f'y="{_num(label_y)}" text-anchor="middle" fill="{MUTED}">{escape(text)}</text>'
        )
    return parts, label_y + FONT * 0.3


def _grid(axis: _Axis, y0: float, y1: float) -> str:
    """Light vertical grid segments behind one row."""
    return "".join(
        f'<line class="grid" x1="{_num(x)}" x2="{_num(x)}" y1="{_num(y0)}" y2="{_num(y1)}" '
        f'stroke="{GRID}" stroke-width="1"/>'
        for _, x, _, _ in _visible_ticks(axis)
    )


def _svg(css: str, chart_id: str, title: str, desc: str, height: float, body: list[str]) -> Markup:
    """Wrap the drawing in the accessible, responsive <svg> element."""
    drawing = "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="hr-chart {css}" '
            f'viewBox="0 0 {WIDTH} {_num(height)}" width="100%" role="img" '
            f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
            f'font-family="{FONT_FAMILY}" font-size="{FONT}">',
            f'<title id="{chart_id}-title">{escape(_clean(title))}</title>',
            f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
            f'<rect class="background" width="{WIDTH}" height="{_num(height)}" fill="#ffffff"/>',
            *body,
            "</svg>",
        ]
    )
    return Markup(drawing)  # nosec B704 # every text in it is escaped above


def _check_id(chart_id: str) -> None:
    if not _ID.fullmatch(chart_id):
        raise ValueError("chart_id must be a valid id (letter, then letters, digits, - or _)")


def _check_bound(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value}")
    return value


# --------------------------------------------------------------------------- box plot


def _diamond(x: float, y: float, r: float) -> str:
    """Points of a diamond centred on (x, y), r from the centre to each corner."""
    corners = ((x, y - r), (x + r, y), (x, y + r), (x - r, y))
    return " ".join(f"{_num(cx)},{_num(cy)}" for cx, cy in corners)


def _box_legend(words: BoxWords, with_outliers: bool) -> tuple[list[str], float]:
    """Key to the marks, flowing onto as many lines as needed; returns parts and bottom."""
    mid = -SWATCH_H / 2 + 3
    items = [
        (
            "box",
            f'<rect x="0" y="{_num(-SWATCH_H + 3)}" width="{SWATCH_W}" height="{SWATCH_H}" '
            f'fill="{BOX_FILL}" stroke="{BOX_STROKE}" stroke-width="2"/>',
            words.box,
        ),
        (
            "median",
            f'<line x1="{_num(SWATCH_W / 2)}" x2="{_num(SWATCH_W / 2)}" '
            f'y1="{_num(-SWATCH_H + 1)}" y2="5" stroke="{MEDIAN}" stroke-width="4"/>',
            words.median,
        ),
        (
            "mean",
            f'<polygon points="{_diamond(SWATCH_W / 2, mid, 8)}" fill="{MEAN}" '
            f'stroke="#ffffff" stroke-width="1.5"/>',
            words.mean,
        ),
    ]
    if with_outliers:
        items.append(
            (
                "outlier",
                f'<circle cx="{_num(SWATCH_W / 2)}" cy="{_num(mid)}" r="5" fill="#ffffff" '
                f'stroke="{BOX_STROKE}" stroke-width="2"/>',
                words.outlier,
            )
        )
    parts: list[str] = []
    x, y = float(PAD), PAD + FONT * 0.8
    for kind, swatch, text in items:
        label = _truncate(_clean(text), WIDTH - 2 * PAD - SWATCH_W - 8)
        item_w = SWATCH_W + 8 + _text_width(label)
        if x > PAD and x + item_w > WIDTH - PAD:
            x, y = float(PAD), y + LINE + 4
        parts.append(
            f'<g class="legend-item" data-mark="{kind}" transform="translate({_num(x)} '
            f'{_num(y)})">{swatch}<text x="{SWATCH_W + 8}" y="0" fill="{TEXT}">'
            f"{escape(label)}</text></g>"
        )
        x += item_w + 22
    return parts, y + FONT * 0.3 + 14


def boxplot_svg(
    pools: Sequence[tuple[str, Sequence[float]]],
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
    _check_id(chart_id)
    if not pools:
        raise ValueError("at least one pool is needed")
    low, high = _check_bound("low", low), _check_bound("high", high)
    if low is not None and high is not None and not low < high:
        raise ValueError(f"low ({low}) must be below high ({high})")
    words = words or BoxWords()
    missing = _clean(missing)
    labels = [_clean(label) for label, _ in pools]
    stats = [five_numbers(values) for _, values in pools]
    present = [s for s in stats if s["n"]]
    axis = _make_axis(
        min((s["min"] for s in present), default=None),
        max((s["max"] for s in present), default=None),
        low,
        high,
        PLOT_LEFT,
        PLOT_RIGHT,
    )

    body, top = _box_legend(words, any(s["outliers"] for s in stats))
    if len(pools) > 4:  # a tall chart repeats the tick labels above the first row
        parts, top = _axis_block(axis, top - 6, labels_only=True)
        body += parts
        top += 6

    desc = [f"{_clean(axis_label)} ({axis.label(axis.low)} – {axis.label(axis.high)})."]
    row_top = top
    for index, (label, s) in enumerate(zip(labels, stats, strict=True)):
        count = _clean(words.count.format_map({"n": s["n"]}))
        count_w = _text_width(count)
        lines = _wrap(label, WIDTH - 2 * PAD - count_w - 16, MAX_LABEL_LINES)
        base = row_top + 6 + FONT * 0.8
        body.append(_label_lines(lines, PAD, base, "pool-label", label))
        body.append(
            f'<text class="pool-n" data-pool="{index}" x="{WIDTH - PAD}" y="{_num(base)}" '
            f'text-anchor="end" fill="{MUTED}">{escape(count)}</text>'
        )
        band = base + (len(lines) - 1) * LINE + FONT * 0.3 + 4
        mid = band + BAND_H / 2
        if not s["n"]:
            body.append(
                f'<text class="missing" data-pool="{index}" x="{PLOT_LEFT}" '
                f'y="{_num(mid + FONT * 0.35)}" font-style="italic" fill="{MUTED}">'
                f"{escape(missing)}</text>"
            )
            desc.append(f"{label} : {missing}.")
        else:
            body.append(_grid(axis, band, band + BAND_H))
            body.extend(_box(axis, s, index, mid))
            spoken = {k: _spoken(s[k]) for k in ("median", "q1", "q3", "mean", "min", "max")}
            text = words.summary.format_map({"n": s["n"], **spoken})
            if s["outliers"]:
                shown = [_spoken(v) for v in s["outliers"][:MAX_SPOKEN_OUTLIERS]]
                more = len(s["outliers"]) > MAX_SPOKEN_OUTLIERS
                values = ", ".join(shown) + (", …" if more else "")
                text += ", " + words.outliers.format_map({"values": values})
            desc.append(f"{label} : {_clean(text)}.")
        row_top = band + BAND_H + ROW_GAP
        body.append(
            f'<line class="row-rule" x1="{PAD}" x2="{WIDTH - PAD}" y1="{_num(row_top)}" '
            f'y2="{_num(row_top)}" stroke="{RULE}" stroke-width="1"/>'
        )

    parts, bottom = _axis_block(axis, row_top + 6)
    body += parts
    axis_text = _truncate(_clean(axis_label), WIDTH - 2 * PAD)
    label_y = bottom + 6 + FONT * 0.8
    body.append(
        f'<text class="axis-label" x="{_num((PLOT_LEFT + PLOT_RIGHT) / 2)}" '
        f'y="{_num(label_y)}" text-anchor="middle" fill="{TEXT}">{escape(axis_text)}</text>'
    )
    height = label_y + FONT * 0.3 + PAD
    return _svg("box-chart", chart_id, title, " ".join(desc), height, body)


def _box(axis: _Axis, s: dict[str, Any], index: int, mid: float) -> list[str]:
    """Whiskers, box, median, mean and outliers of one pool, centred on y=mid."""
    x = axis.x
    y0, y1 = mid - BOX_H / 2, mid + BOX_H / 2
    q1, q3 = x(s["q1"]), x(s["q3"])
    parts = []
    for end, edge in ((s["whisker_low"], q1), (s["whisker_high"], q3)):
        xe = x(end)
        parts.append(
            f'<line class="whisker" data-pool="{index}" x1="{_num(xe)}" x2="{_num(edge)}" '
            f'y1="{_num(mid)}" y2="{_num(mid)}" stroke="{BOX_STROKE}" stroke-width="2"/>'
            f'<line class="whisker-cap" data-pool="{index}" x1="{_num(xe)}" x2="{_num(xe)}" '
            f'y1="{_num(mid - 7)}" y2="{_num(mid + 7)}" stroke="{BOX_STROKE}" stroke-width="2"/>'
        )
    parts.append(
        f'<rect class="box" data-pool="{index}" x="{_num(q1)}" y="{_num(y0)}" '
        f'width="{_num(q3 - q1)}" height="{BOX_H}" fill="{BOX_FILL}" stroke="{BOX_STROKE}" '
        f'stroke-width="2"/>'
    )
    xm = x(s["median"])
    parts.append(
        f'<line class="median" data-pool="{index}" x1="{_num(xm)}" x2="{_num(xm)}" '
        f'y1="{_num(y0 - 3)}" y2="{_num(y1 + 3)}" stroke="{MEDIAN}" stroke-width="4"/>'
    )
    parts.extend(
        f'<circle class="outlier" data-pool="{index}" cx="{_num(x(v))}" cy="{_num(mid)}" '
        f'r="5" fill="#ffffff" stroke="{BOX_STROKE}" stroke-width="2"/>'
        for v in s["outliers"]
    )
    parts.append(
        f'<polygon class="mean" data-pool="{index}" data-x="{_num(x(s["mean"]))}" '
        f'points="{_diamond(x(s["mean"]), mid, 8)}" fill="{MEAN}" stroke="#ffffff" '
        f'stroke-width="1.5"/>'
    )
    return parts


# --------------------------------------------------------------------------- bar chart


def bars_svg(
    bars: Sequence[tuple[str, float | None]],
    *,
    title: str,
    unit: str = "",
    chart_id: str = "bars",
    max_value: float | None = None,
    missing: str = "aucune donnée",
) -> Markup:
    """Render a horizontal bar chart from 0 (drop-off by page, completion rates...).

    Each bar's value is printed at its end as ``value + unit`` (whole numbers as such,
    others to one decimal), so pass the separator with the unit: ``unit=" %"``.  The axis
    runs from 0 to ``max_value`` (e.g. 100 for rates) or to the largest value, and widens
    if a value exceeds ``max_value``.  Short labels ("Page 3") sit in a column left of the
    bars; if any label is long, every label goes on its own line above its bar.  None or NaN
    shows ``missing``; negative or infinite values are refused.
    """
    _check_id(chart_id)
    if not bars:
        raise ValueError("at least one bar is needed")
    max_value = _check_bound("max_value", max_value)
    if max_value is not None and max_value <= 0:
        raise ValueError(f"max_value must be positive, not {max_value}")
    labels = [_clean(label) for label, _ in bars]
    values: list[float | None] = []
    for label, value in bars:
        number = None if value is None else float(value)
        if number is not None and math.isnan(number):
            number = None
        if number is not None and (math.isinf(number) or number < 0):
            raise ValueError(f"bar {label!r}: values must be finite and >= 0, not {number}")
        values.append(number)
    missing = _clean(missing)
    # A leading space in the unit (" %") becomes a no-break space so that it survives.
    unit = ("\u00a0" if unit[:1].isspace() and unit.strip() else "") + _clean(unit)
    texts = [None if v is None else _value_text(v) + unit for v in values]

    present = [v for v in values if v is not None]
    top_value = max(present, default=0.0)
    high = max(max_value if max_value is not None else top_value, top_value)
    if high <= 0:
        high = max_value or 1.0
    value_w = max([_text_width(t) for t in texts if t is not None], default=0.0)
    left_labels = all(_text_width(label) <= LEFT_LABELS_MAX for label in labels)
    plot_left = PAD + max(_text_width(label) for label in labels) + 14 if left_labels else PAD + 8
    plot_right = max(WIDTH - PAD - value_w - 8, plot_left + 160)
    axis = _make_axis(0.0, top_value, 0.0, high, plot_left, plot_right)

    body: list[str] = []
    desc: list[str] = []
    row_top = float(PAD)
    for index, (label, value, text) in enumerate(zip(labels, values, texts, strict=True)):
        if left_labels:
            band = row_top + 4
            body.append(
                f'<text class="bar-label" x="{PAD}" y="{_num(band + BAR_H / 2 + FONT * 0.35)}" '
                f'fill="{TEXT}">{escape(label)}</text>'
            )
        else:
            lines = _wrap(label, WIDTH - 2 * PAD, MAX_LABEL_LINES)
            base = row_top + 4 + FONT * 0.8
            body.append(_label_lines(lines, PAD, base, "bar-label", label))
            band = base + (len(lines) - 1) * LINE + FONT * 0.3 + 6
        zero = axis.x(0)
        body.append(_grid(axis, band - 3, band + BAR_H + 3))
        body.append(
            f'<line class="zero" x1="{_num(zero)}" x2="{_num(zero)}" y1="{_num(band - 4)}" '
            f'y2="{_num(band + BAR_H + 4)}" stroke="{TEXT}" stroke-width="2"/>'
        )
        text_y = _num(band + BAR_H / 2 + FONT * 0.35)
        if value is None:
            body.append(
                f'<text class="missing" data-bar="{index}" x="{_num(zero + 6)}" '
                f'y="{text_y}" font-style="italic" fill="{MUTED}">{escape(missing)}</text>'
            )
            desc.append(f"{label} : {missing}.")
        else:
            end = axis.x(value)
            body.append(
                f'<rect class="bar" data-bar="{index}" x="{_num(zero)}" '
                f'y="{_num(band)}" width="{_num(end - zero)}" height="{BAR_H}" '
                f'fill="{BAR_FILL}"/>'
                f'<text class="value" data-bar="{index}" x="{_num(end + 6)}" y="{text_y}" '
                f'fill="{TEXT}">{escape(text)}</text>'
            )
            desc.append(f"{label} : {text}.")
        row_top = band + BAR_H + (8 if left_labels else 14)
    parts, bottom = _axis_block(axis, row_top - 2)
    body += parts
    return _svg("bars-chart", chart_id, title, " ".join(desc), bottom + PAD, body)
