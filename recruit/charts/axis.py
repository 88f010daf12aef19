"""The value axis of the HR charts: round ticks, the value -> x mapping, tick labels, grid."""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import escape

from recruit.charts.style import FONT, GRID, MUTED, PAD, WIDTH
from recruit.charts.text import num, text_width

FMAX = 1.7976931348623157e308  # the largest float: the axis never reaches infinity


@dataclass(frozen=True)
class Axis:
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
        return tick_text(value, self.step)


def tick_text(value: float, step: float) -> str:
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


def make_axis(
    data_min: float | None,
    data_max: float | None,
    low: float | None,
    high: float | None,
    left: float,
    right: float,
) -> Axis:
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
    return Axis(low=lo, high=hi, left=left, right=right, ticks=ticks, step=step)


def visible_ticks(axis: Axis) -> list[tuple[float, float, str, float]]:
    """(value, x, label, label_x) for the ticks whose labels do not overlap."""
    ticks = list(axis.ticks)
    while True:
        placed = []
        for value in ticks:
            x = axis.x(value)
            text = axis.label(value)
            half = text_width(text) / 2
            placed.append((value, x, text, min(max(x, PAD + half), WIDTH - PAD - half), half))
        crowded = any(
            b[3] - b[4] - (a[3] + a[4]) < 10 for a, b in zip(placed, placed[1:], strict=False)
        )
        if not crowded or len(ticks) <= 2:
            return [(v, x, t, lx) for v, x, t, lx, _ in placed]
        # Keep every other tick, always keeping both ends when the count allows it.
        ticks = ticks[::2] if len(ticks) % 2 else ticks[::2] + ticks[-1:]


def axis_block(axis: Axis, top: float, *, labels_only: bool = False) -> tuple[list[str], float]:
    """Axis line, tick marks and tick labels starting at y=top; returns parts and bottom.

    With labels_only (the repeat above a tall chart) only the tick labels are drawn.
    """
    parts = []
    if not labels_only:
        parts.append(
            f'<line class="axis" x1="{num(axis.left)}" x2="{num(axis.right)}" '
            f'y1="{num(top)}" y2="{num(top)}" stroke="{MUTED}" stroke-width="1.5"/>'
        )
    label_y = top + (0 if labels_only else 8) + FONT * 0.8
    css = "tick tick-top" if labels_only else "tick"
    for value, x, text, label_x in visible_ticks(axis):
        if not labels_only:
            parts.append(
                f'<line class="tick-mark" data-value="{value!r}" x1="{num(x)}" '
                f'x2="{num(x)}" y1="{num(top)}" y2="{num(top + 6)}" stroke="{MUTED}" '
                f'stroke-width="1.5"/>'
            )
        parts.append(
            f'<text class="{css}" data-value="{value!r}" x="{num(label_x)}" '
            f'y="{num(label_y)}" text-anchor="middle" fill="{MUTED}">{escape(text)}</text>'
        )
    return parts, label_y + FONT * 0.3


def grid(axis: Axis, y0: float, y1: float) -> str:
    """Light vertical grid segments behind one row."""
    return "".join(
        f'<line class="grid" x1="{num(x)}" x2="{num(x)}" y1="{num(y0)}" y2="{num(y1)}" '
        f'stroke="{GRID}" stroke-width="1"/>'
        for _, x, _, _ in visible_ticks(axis)
    )


def check_bound(name: str, value: float | None) -> float | None:
    """Return an axis bound given by the caller as a float; refuse NaN and infinities."""
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value}")
    return value
