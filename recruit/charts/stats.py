"""The five-number summary behind a box plot (Tukey's rule), from plain numbers."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

BIG = 2.0**900  # beyond this, quartiles are computed on values scaled by 2**-64 (exact)

__all__ = ["five_numbers"]


def _finite(values: Iterable[Any]) -> np.ndarray:
    """The finite values as floats; None, NaN, pandas NA and infinities are dropped."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        data = values.astype(float, copy=False).ravel()
        return data[np.isfinite(data)]
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
