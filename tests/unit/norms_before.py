"""Scores on one scale across applicant pools, and how far to trust the form: pure pandas.

HR analysts import this module from a notebook; it reads no database and no Flask.

Definitions (the README repeats them):

- ``standard`` norm: location = mean, spread = sample SD (ddof=1). ``robust`` norm: location =
  median, spread = 1.4826 x MAD (median absolute deviation), and the SD where the MAD is 0.
  Wherever the spread used is 0 or undefined, z = 0. n counts the non-missing scores of a scale
  in a pool.
- z = (x - location) / spread; T = 50 + 10 z; sten = clip(floor(2 z) + 6, 1, 10).
- Percentile rank within the pool, mid-rank: 100 x (number below + 1/2 number equal) / n.
- Stanine from that percentile with the cumulative bounds 4, 11, 23, 40, 60, 77, 89, 96: one step
  up for every bound the percentile reaches (>=).
- Small pools (n < ``min_pool``) are flagged provisional and shrunk toward a reference norm:
  location = (n m_pool + k m_ref) / (n + k), spread^2 = ((n - 1) s_pool^2 + k s_ref^2) /
  ((n - 1) + k), k = ``shrink_k`` (default ``min_pool``); their percentile is 100 Phi(z), since a
  handful of people give no usable ranks (bounded to 0.1..99.9). Pools with n >= ``min_pool``
  are not shrunk.
- Missing scores stay missing (NaN) in every output, never zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

METHODS = ("standard", "robust")
MAD_TO_SD = 1.4826
# Percentiles read from the normal curve stay within 0.1..99.9: beyond about 3 SD the curve says
# nothing a pool of this size could support, and 100 Phi(z) would round to 0 or 100.
NORMAL_PCT_LOW, NORMAL_PCT_HIGH = 0.1, 99.9
STANINE_BOUNDS = np.array([4, 11, 23, 40, 60, 77, 89, 96], dtype=float)
# Columns of a norm table besides the pool columns.
TABLE_COLUMNS = [
    "scale",
    "n",
    "mean",
    "sd",
    "median",
    "mad",
    "location",
    "spread",
    "provisional",
    "percentile",
    "method",
]


def _pool_columns(pool: str | Sequence[str]) -> list[str]:
    return [pool] if isinstance(pool, str) else list(pool)


def _check(scores: pd.DataFrame, pools: list[str], scales: Sequence[str], method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    missing = [c for c in [*pools, *scales] if c not in scores.columns]
    if missing:
        raise KeyError(f"columns not in the scores: {missing}")


def _describe(scores: pd.DataFrame, pools: list[str], scales: Sequence[str]) -> pd.DataFrame:
    """n, mean, sd, median and raw MAD of every scale in every pool, one row per pool and scale."""
    values = scores[list(scales)].astype("float64")
    keys = [scores[c] for c in pools]
    grouped = values.groupby(keys, dropna=False, sort=True)
    medians = grouped.transform("median")
    deviations = (values - medians).abs().groupby(keys, dropna=False, sort=True)
    stacked = {
        "n": grouped.count(),
        "mean": grouped.mean(),
        "sd": grouped.std(ddof=1),
        "median": grouped.median(),
        "mad": deviations.median(),
    }
    table = pd.concat(
        {
            name: frame.rename_axis(columns="scale").stack(future_stack=True)
            for name, frame in stacked.items()
        },
        axis=1,
    )
    table.index = table.index.set_names([*pools, "scale"])
    table["n"] = table["n"].astype("int64")
    return table.reset_index()


def _location_spread(table: pd.DataFrame, method: str) -> tuple[pd.Series, pd.Series]:
    if method == "standard":
        return table["mean"], table["sd"]
    robust = MAD_TO_SD * table["mad"]
    return table["median"], robust.where(robust > 0, table["sd"])


def fit_norms(
    scores: pd.DataFrame,
    *,
    pool: str | Sequence[str],
    scales: Sequence[str],
    method: str = "standard",
    min_pool: int = 30,
    shrink_k: float | None = None,
    reference: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Fit a norm table: one row per pool and scale.

    ``scores`` needs the ``pool`` column(s) and the ``scales`` columns (numbers, NaN = missing).
    ``reference`` is a norm table with one row per scale (columns ``scale``, ``location``,
    ``spread``) to shrink small pools toward; by default every row of ``scores`` pooled together.
    Returns the pool columns, then ``scale, n, mean, sd, median, mad`` (raw MAD), the ``location``
    and ``spread`` actually used, ``provisional`` (n < min_pool), ``percentile`` ("rank" or
    "normal": how `apply_norms` turns z into a percentile) and ``method``.
    """
    pools = _pool_columns(pool)
    _check(scores, pools, scales, method)
    table = _describe(scores, pools, scales)
    location, spread = _location_spread(table, method)
    table["location"], table["spread"] = location, spread
    table["provisional"] = table["n"] < min_pool
    if table["provisional"].any():
        if reference is None:
            everyone = scores.assign(_all="all")
            reference = fit_norms(everyone, pool="_all", scales=scales, method=method, min_pool=0)
        ref = reference.set_index("scale")
        k = float(min_pool if shrink_k is None else shrink_k)
        small = table["provisional"]
        n = table.loc[small, "n"].astype("float64")
        m_ref = table.loc[small, "scale"].map(ref["location"])
        s_ref = table.loc[small, "scale"].map(ref["spread"])
        m_pool = table.loc[small, "location"].fillna(m_ref)
        # One person (or none) has no spread of their own: the reference's spread stands alone.
        s2_pool = (table.loc[small, "spread"] ** 2).where(n > 1, 0.0).fillna(0.0)
        table.loc[small, "location"] = (n * m_pool + k * m_ref) / (n + k)
        df = (n - 1).clip(lower=0)
        table.loc[small, "spread"] = np.sqrt((df * s2_pool + k * s_ref**2) / (df + k))
    table["percentile"] = np.where(table["provisional"], "normal", "rank")
    table["method"] = method
    return table[[*pools, *TABLE_COLUMNS]]


def _stanine(percentile: np.ndarray) -> np.ndarray:
    """1 + the number of cumulative bounds the percentile reaches; NaN stays NaN."""
    steps = np.searchsorted(STANINE_BOUNDS, percentile, side="right") + 1.0
    return np.where(np.isnan(percentile), np.nan, steps)


# The scores derived from each raw score, as column suffixes: <scale>_z, <scale>_t...
DERIVED = ("z", "t", "pct", "sten", "stanine")


def _empty_result(index: pd.Index, scales: Sequence[str]) -> pd.DataFrame:
    result = pd.DataFrame(
        {f"{s}_{d}": np.full(len(index), np.nan) for s in scales for d in DERIVED}, index=index
    )
    result["norm_n"] = pd.array([pd.NA] * len(index), dtype="Int64")
    result["norm_provisional"] = pd.array([pd.NA] * len(index), dtype="boolean")
    return result


def apply_norms(
    scores: pd.DataFrame,
    table: pd.DataFrame,
    *,
    pool: str | Sequence[str],
    scales: Sequence[str],
) -> pd.DataFrame:
    """Normalize scores with a norm table; returns a frame on the same index as ``scores``.

    For every scale ``s``: ``s_z``, ``s_t``, ``s_pct``, ``s_sten``, ``s_stanine``; per row,
    ``norm_n`` (the largest n of the row's pool over the scales) and ``norm_provisional`` (the
    pool is provisional on any scale). A row whose pool is not in the table gets NaN everywhere.
    Percentiles of "rank" pools are mid-ranks among the rows of ``scores`` in that pool; those of
    "normal" pools (small pools, or a stored reference norm) are 100 Phi(z).
    """
    pools = _pool_columns(pool)
    _check(scores, pools, scales, table["method"].iloc[0] if len(table) else "standard")
    if table.empty or scores.empty:
        return _empty_result(scores.index, scales)
    keys = [scores[c] for c in pools]
    wide = table.assign(
        by_rank=table["percentile"].eq("rank").astype("float64"),
        provisional=table["provisional"].astype("float64"),
        n=table["n"].astype("float64"),
    ).pivot(
        index=pools, columns="scale", values=["location", "spread", "n", "provisional", "by_rank"]
    )
    # Where each row's pool sits in the table (-1: not there).
    row_keys = pd.MultiIndex.from_arrays(keys) if len(pools) > 1 else pd.Index(keys[0])
    position = wide.index.get_indexer(row_keys)
    found = position >= 0
    take = np.where(found, position, 0)

    def per_row(stat: str, scale: str) -> np.ndarray:
        if (stat, scale) not in wide.columns:
            return np.full(len(scores), np.nan)
        picked = wide[(stat, scale)].to_numpy(dtype="float64", na_value=np.nan)[take]
        return np.where(found, picked, np.nan)

    values = scores[list(scales)].astype("float64")
    if (table["percentile"] == "rank").any():
        grouped = values.groupby(keys, dropna=False, sort=False)
        ranks, counts = grouped.rank(method="average"), grouped.transform("count")
    else:  # every pool is read through 100 Phi(z): no ranking needed
        ranks = counts = None
    out = {}
    for scale in scales:
        x = values[scale].to_numpy()
        location, spread = per_row("location", scale), per_row("spread", scale)
        usable = np.isfinite(spread) & (spread > 0)
        z = np.where(usable, (x - location) / np.where(usable, spread, 1.0), 0.0)
        z = np.where(np.isnan(x) | np.isnan(location), np.nan, z)
        mid_rank = (
            100.0 * (ranks[scale].to_numpy() - 0.5) / counts[scale].to_numpy()
            if ranks is not None
            else np.nan
        )
        normal = np.clip(100.0 * special.ndtr(z), NORMAL_PCT_LOW, NORMAL_PCT_HIGH)
        pct = np.where(per_row("by_rank", scale) == 1.0, mid_rank, normal)
        pct = np.where(np.isnan(z), np.nan, pct)
        out[f"{scale}_z"] = z
        out[f"{scale}_t"] = 50.0 + 10.0 * z
        out[f"{scale}_pct"] = pct
        out[f"{scale}_sten"] = np.where(np.isnan(z), np.nan, np.clip(np.floor(2 * z) + 6, 1, 10))
        out[f"{scale}_stanine"] = _stanine(pct)
    result = pd.DataFrame(out, index=scores.index)
    n = wide["n"].max(axis=1).to_numpy(dtype="float64")[take]
    provisional = (wide["provisional"].max(axis=1) > 0).to_numpy()[take]
    result["norm_n"] = pd.array(np.where(found, n, np.nan), dtype="Float64").astype("Int64")
    flags = pd.array(provisional, dtype="boolean")
    flags[~found] = pd.NA
    result["norm_provisional"] = flags
    return result


def normalize(
    scores: pd.DataFrame, *, pool: str | Sequence[str], scales: Sequence[str], **kw
) -> pd.DataFrame:
    """``apply_norms(scores, fit_norms(scores, ...))``: norms fitted on the scores themselves."""
    table = fit_norms(scores, pool=pool, scales=scales, **kw)
    return apply_norms(scores, table, pool=pool, scales=scales)


@dataclass(frozen=True)
class Reliability:
    """Cronbach's alpha with its 95 % Feldt interval, on n complete cases and k items."""

    alpha: float
    ci_low: float
    ci_high: float
    n: int
    k: int


def _complete(item_scores: pd.DataFrame) -> np.ndarray:
    return item_scores.astype("float64").dropna(axis=0, how="any").to_numpy()


def _alpha(cov: np.ndarray) -> float:
    k = cov.shape[0]
    total = cov.sum()
    if k < 2 or not np.isfinite(total) or total <= 0:
        return float("nan")
    return float(k / (k - 1) * (1 - np.trace(cov) / total))


def reliability(item_scores: pd.DataFrame, *, confidence: float = 0.95) -> Reliability:
    """Cronbach's alpha of the items (columns) over people (rows), listwise complete cases.

    The interval is Feldt's: 1 - (1 - alpha) F, with F the F-distribution's quantiles on
    (n - 1, (n - 1)(k - 1)) degrees of freedom. Fewer than 2 people or items, or no variance,
    give NaN.
    """
    data = _complete(item_scores)
    n, k = data.shape if data.ndim == 2 else (0, 0)
    if n < 2 or k < 2:
        return Reliability(float("nan"), float("nan"), float("nan"), int(n), int(k))
    alpha = _alpha(np.cov(data, rowvar=False, ddof=1))
    df1, df2 = n - 1, (n - 1) * (k - 1)
    tail = (1 - confidence) / 2
    low = 1 - (1 - alpha) * stats.f.isf(tail, df1, df2)
    high = 1 - (1 - alpha) * stats.f.isf(1 - tail, df1, df2)
    return Reliability(alpha, float(low), float(high), int(n), int(k))


def item_statistics(item_scores: pd.DataFrame) -> pd.DataFrame:
    """Per item (column): mean, sd, corrected item-total correlation, alpha if deleted, flag.

    Computed on the listwise complete cases. The corrected item-total correlation is the
    Pearson correlation of the item with the sum of the other items; ``negative`` flags items
    below 0, which pull against the scale. Returns one row per item, indexed by item.
    """
    data = _complete(item_scores)
    columns = list(item_scores.columns)
    k = len(columns)
    result = pd.DataFrame(index=pd.Index(columns, name="item"))
    if data.shape[0] < 2 or k < 2:
        result["n"] = data.shape[0]
        for name in ("mean", "sd", "item_rest_r", "alpha_if_deleted"):
            result[name] = np.nan
        result["negative"] = False
        return result
    cov = np.cov(data, rowvar=False, ddof=1)
    variances = np.diag(cov)
    total_var = cov.sum()
    row_sums = cov.sum(axis=1)
    rest_var = total_var - 2 * row_sums + variances
    cov_item_rest = row_sums - variances
    with np.errstate(divide="ignore", invalid="ignore"):
        r = cov_item_rest / np.sqrt(variances * rest_var)
        alpha_without = (
            (k - 1) / (k - 2) * (1 - (np.trace(cov) - variances) / rest_var)
            if k > 2
            else np.full(k, np.nan)
        )
    r = np.where(np.isfinite(r), r, np.nan)
    result["n"] = data.shape[0]
    result["mean"] = data.mean(axis=0)
    result["sd"] = data.std(axis=0, ddof=1)
    result["item_rest_r"] = r
    result["alpha_if_deleted"] = np.where(np.isfinite(alpha_without), alpha_without, np.nan)
    result["negative"] = np.nan_to_num(r, nan=0.0) < 0
    return result
