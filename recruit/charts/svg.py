"""SVG pieces every chart shares: the accessible <svg> element, legend, labels, rules.

Conventions: a viewBox ``WIDTH`` units wide shown at width="100%", presentation attributes
only (no script, no inline style), ``role="img"`` with a <title> and a <desc> that says every
value in words, ids prefixed by ``chart_id``, and every text escaped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from markupsafe import Markup, escape

from recruit.charts.style import (
    FONT,
    FONT_FAMILY,
    LINE,
    PAD,
    RULE,
    SWATCH_W,
    TEXT,
    WHITE,
    WIDTH,
)
from recruit.charts.text import clean, num, text_width, truncate

_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def check_id(chart_id: str) -> None:
    """Refuse a chart_id that cannot prefix the ids of the chart's elements."""
    if not _ID.fullmatch(chart_id):
        raise ValueError("chart_id must be a valid id (letter, then letters, digits, - or _)")


def document(
    css: str,
    chart_id: str,
    title: str,
    desc: str,
    height: float,
    body: Sequence[str],
    defs: Sequence[str] = (),
) -> Markup:
    """Wrap the drawing in the accessible, responsive <svg> element of class ``css``."""
    drawing = "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="{css}" '
            f'viewBox="0 0 {WIDTH} {num(height)}" width="100%" role="img" '
            f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
            f'font-family="{FONT_FAMILY}" font-size="{FONT}">',
            f'<title id="{chart_id}-title">{escape(clean(title))}</title>',
            f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
            f"<defs>{''.join(defs)}</defs>" if defs else "",
            f'<rect class="background" width="{WIDTH}" height="{num(height)}" fill="{WHITE}"/>',
            *body,
            "</svg>",
        ]
    )
    return Markup(drawing)  # nosec B704 # every text in it is escaped by the chart modules


def legend(items: Sequence[tuple[str, str, str]]) -> tuple[list[str], float]:
    """Lay out legend items (``<g>`` attributes, swatch markup, clean label) from the top left.

    Items flow onto as many lines as needed, each label shortened to fit the chart's width.
    Returns the parts and the baseline of the last line.
    """
    parts: list[str] = []
    x, y = float(PAD), PAD + FONT * 0.8
    for attributes, swatch, text in items:
        label = truncate(text, WIDTH - 2 * PAD - SWATCH_W - 8)
        item_w = SWATCH_W + 8 + text_width(label)
        if x > PAD and x + item_w > WIDTH - PAD:
            x, y = float(PAD), y + LINE + 4
        parts.append(
            f'<g {attributes} transform="translate({num(x)} {num(y)})">{swatch}'
            f'<text x="{SWATCH_W + 8}" y="0" fill="{TEXT}">{escape(label)}</text></g>'
        )
        x += item_w + 22
    return parts, y


def label_lines(lines: list[str], x: float, y: float, css: str, full: str) -> str:
    """A (possibly wrapped) text label, with the full text as a tooltip when shortened."""
    tspans = "".join(
        f'<tspan x="{num(x)}" y="{num(y + i * LINE)}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    tooltip = f"<title>{escape(full)}</title>" if " ".join(lines) != full else ""
    return f'<text class="{css}" fill="{TEXT}">{tooltip}{tspans}</text>'


def row_rule(y: float) -> str:
    """The thin full-width line that separates two rows."""
    return (
        f'<line class="row-rule" x1="{PAD}" x2="{WIDTH - PAD}" y1="{num(y)}" '
        f'y2="{num(y)}" stroke="{RULE}" stroke-width="1"/>'
    )
