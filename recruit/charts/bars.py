"""Horizontal bar charts from 0 (drop-off by page, completion rates...) as SVG."""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from recruit.charts.axis import Axis, axis_block, check_bound, grid, make_axis
from recruit.charts.style import BLUE, FONT, LINE, MUTED, PAD, ROW_LABEL_LINES, TEXT, WIDTH
from recruit.charts.svg import check_id, document, label_lines
from recruit.charts.text import clean, num, text_width, wrap

__all__ = ["bars_svg"]

BAR_H = 24
BAR_FILL = BLUE
LEFT_LABELS_MAX = 200  # bar labels narrower than this go in a column left of the bars


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
    check_id(chart_id)
    if not bars:
        raise ValueError("at least one bar is needed")
    max_value = check_bound("max_value", max_value)
    if max_value is not None and max_value <= 0:
        raise ValueError(f"max_value must be positive, not {max_value}")
    labels = [clean(label) for label, _ in bars]
    values = _values(bars)
    missing = clean(missing)
    # A leading space in the unit (" %") becomes a no-break space so that it survives.
    unit = ("\u00a0" if unit[:1].isspace() and unit.strip() else "") + clean(unit)
    texts = [None if v is None else _value_text(v) + unit for v in values]
    left_labels = all(text_width(label) <= LEFT_LABELS_MAX for label in labels)
    axis = _axis(labels, values, texts, max_value, left_labels)

    body: list[str] = []
    desc: list[str] = []
    top = float(PAD)
    for index, (label, text) in enumerate(zip(labels, texts, strict=True)):
        parts, top = _bar_row(axis, index, label, values[index], text, top, left_labels, missing)
        body += parts
        desc.append(f"{label} : {missing if text is None else text}.")
    parts, bottom = axis_block(axis, top - 2)
    body += parts
    return document("hr-chart bars-chart", chart_id, title, " ".join(desc), bottom + PAD, body)


def _values(bars: Sequence[tuple[str, float | None]]) -> list[float | None]:
    """The bars' values as floats, None for None or NaN; refuse negative or infinite ones."""
    values: list[float | None] = []
    for label, value in bars:
        number = None if value is None else float(value)
        if number is not None and math.isnan(number):
            number = None
        if number is not None and (math.isinf(number) or number < 0):
            raise ValueError(f"bar {label!r}: values must be finite and >= 0, not {number}")
        values.append(number)
    return values


def _axis(
    labels: list[str],
    values: list[float | None],
    texts: list[str | None],
    max_value: float | None,
    left_labels: bool,
) -> Axis:
    """The axis from 0, placed between the label column (if any) and the printed values."""
    present = [v for v in values if v is not None]
    top_value = max(present, default=0.0)
    high = max(max_value if max_value is not None else top_value, top_value)
    if high <= 0:
        high = max_value or 1.0
    value_w = max([text_width(t) for t in texts if t is not None], default=0.0)
    plot_left = PAD + max(text_width(label) for label in labels) + 14 if left_labels else PAD + 8
    plot_right = max(WIDTH - PAD - value_w - 8, plot_left + 160)
    return make_axis(0.0, top_value, 0.0, high, plot_left, plot_right)


def _bar_row(
    axis: Axis,
    index: int,
    label: str,
    value: float | None,
    text: str | None,
    top: float,
    left_labels: bool,
    missing: str,
) -> tuple[list[str], float]:
    """One bar's row from y=top: label, grid, zero line, bar and value (or ``missing``).

    Returns the parts and the top of the next row.
    """
    parts: list[str] = []
    if left_labels:
        band = top + 4
        parts.append(
            f'<text class="bar-label" x="{PAD}" y="{num(band + BAR_H / 2 + FONT * 0.35)}" '
            f'fill="{TEXT}">{escape(label)}</text>'
        )
    else:
        lines = wrap(label, WIDTH - 2 * PAD, ROW_LABEL_LINES)
        base = top + 4 + FONT * 0.8
        parts.append(label_lines(lines, PAD, base, "bar-label", label))
        band = base + (len(lines) - 1) * LINE + FONT * 0.3 + 6
    zero = axis.x(0)
    parts.append(grid(axis, band - 3, band + BAR_H + 3))
    parts.append(
        f'<line class="zero" x1="{num(zero)}" x2="{num(zero)}" y1="{num(band - 4)}" '
        f'y2="{num(band + BAR_H + 4)}" stroke="{TEXT}" stroke-width="2"/>'
    )
    text_y = num(band + BAR_H / 2 + FONT * 0.35)
    if value is None:
        parts.append(
            f'<text class="missing" data-bar="{index}" x="{num(zero + 6)}" '
            f'y="{text_y}" font-style="italic" fill="{MUTED}">{escape(missing)}</text>'
        )
    else:
        end = axis.x(value)
        parts.append(
            f'<rect class="bar" data-bar="{index}" x="{num(zero)}" '
            f'y="{num(band)}" width="{num(end - zero)}" height="{BAR_H}" '
            f'fill="{BAR_FILL}"/>'
            f'<text class="value" data-bar="{index}" x="{num(end + 6)}" y="{text_y}" '
            f'fill="{TEXT}">{escape(text)}</text>'
        )
    return parts, band + BAR_H + (8 if left_labels else 14)


def _value_text(value: float) -> str:
    """A bar's printed value: whole numbers as such, others to one decimal."""
    if abs(value) >= 1e9:
        return f"{value:.3g}"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}"
