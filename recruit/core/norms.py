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

import numpy as np
import pandas as pd
from scipy import special

from recruit.core import moments
from recruit.core.moments import Reliability

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
    if len(set(scales)) < len(scales):
        raise ValueError(f"a scale is listed twice: {list(scales)}")


def _values(scores: pd.DataFrame, scales: Sequence[str]) -> pd.DataFrame:
    return scores[list(scales)].astype("float64")


def _drops_a_scale(grouped, values: pd.DataFrame, pools: list[str]) -> bool:
    """Whether pandas leaves a scale out of the groupby because it is also the pool column."""
    # Only a scale that is a pool column, and still shares its memory, is left out.
    if not set(pools) & set(values.columns):
        return False
    return len(grouped.count().columns) < values.shape[1]


def _group_stats(values: pd.DataFrame, by) -> tuple[pd.DataFrame, dict, np.ndarray]:
    """n, mean, sd, median and raw MAD per group (rows) and scale (columns), and each row's group.

    ``by`` is what pandas groups on (the pool columns, or codes): groups sorted, missing keys a
    group of their own. Returns the counts frame (its index is the groups'), the statistics as
    arrays of groups x scales, and the group number of every row of ``values``.
    """
    grouped = values.groupby(by, dropna=False, sort=True)
    count = grouped.count()
    if len(count.columns) < values.shape[1]:
        # A scale that is also the pool column (sharing its memory): pandas leaves it out, and
        # the table had no n for it.
        if len(count):
            raise pd.errors.IntCastingNaNError("a scale that is also a pool column has no n")
        values = values[count.columns]
    codes = grouped.ngroup().to_numpy()
    median = grouped.median().to_numpy()
    # The MAD is the median of |x - the pool's median|: grouped again, by the group numbers.
    # inf - inf is NaN, quietly, as in pandas' arithmetic.
    with np.errstate(invalid="ignore"):
        deviations = pd.DataFrame(np.abs(values.to_numpy() - median[codes]))
    stats = {
        "n": count.to_numpy().astype("int64", copy=False),
        "mean": grouped.mean().to_numpy(),
        "sd": grouped.std(ddof=1).to_numpy(),
        "median": median,
        "mad": deviations.groupby(codes, sort=True).median().to_numpy(),
    }
    return count, stats, codes


def _location_spread(stats: dict[str, np.ndarray], method: str) -> tuple[np.ndarray, np.ndarray]:
    if method == "standard":
        return stats["mean"], stats["sd"]
    robust = MAD_TO_SD * stats["mad"]
    return stats["median"], np.where(robust > 0, robust, stats["sd"])


def _fit(
    scores: pd.DataFrame,
    pools: list[str],
    scales: Sequence[str],
    *,
    method: str = "standard",
    min_pool: int = 30,
    shrink_k: float | None = None,
    reference: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """`fit_norms`, with the scores as floats and every row's pool number (the table's order)."""
    _check(scores, pools, scales, method)
    values = _values(scores, scales)
    keys = [scores[c] for c in pools]
    count, stats, codes = _group_stats(values, keys)
    location, spread = _location_spread(stats, method)
    provisional = stats["n"].ravel() < min_pool
    # One row per pool and scale, the scales of a pool together: the rows of the stacked counts.
    index = count.rename_axis(columns="scale").stack(future_stack=True).index
    table = pd.DataFrame(
        {
            **{name: stat.ravel() for name, stat in stats.items()},
            "location": location.ravel(),
            "spread": spread.ravel(),
            "provisional": provisional,
            "percentile": np.where(provisional, "normal", "rank"),
            "method": method,
        },
        index=index.set_names([*pools, "scale"]),
    ).reset_index()
    if provisional.any():
        if reference is None:
            _, everyone, _ = _group_stats(values, np.zeros(len(values), dtype=np.intp))
            ref_location, ref_spread = _location_spread(everyone, method)
            reference = pd.DataFrame(
                {"scale": list(scales), "location": ref_location[0], "spread": ref_spread[0]}
            )
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
    return table[[*pools, *TABLE_COLUMNS]], values, codes


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
    kw = {"method": method, "min_pool": min_pool, "shrink_k": shrink_k, "reference": reference}
    return _fit(scores, _pool_columns(pool), scales, **kw)[0]


def _stanine(percentile: np.ndarray, out: np.ndarray) -> None:
    """1 + the number of cumulative bounds the percentile reaches; NaN stays NaN."""
    out[:] = 1.0
    for bound in STANINE_BOUNDS:
        out += percentile >= bound
    out[np.isnan(percentile)] = np.nan


def _mid_ranks(x: np.ndarray, codes: np.ndarray, ngroups: int) -> np.ndarray:
    """100 x (rank - 1/2) / n within each group, ties at their average rank; NaN stays NaN.

    The same figures as pandas' grouped ``rank(method="average")`` and ``count``: one sort by
    value, then a stable sort by group, instead of pandas' three-key sort.
    """
    missing = np.isnan(x)
    # numpy's fast (SIMD) sort does not take NaN: sort them as +inf, then put them after the
    # real +inf of their group with the stable sort by group.
    by_value = np.argsort(np.where(missing, np.inf, x) if missing.any() else x)
    key = codes.astype(np.min_scalar_type(2 * ngroups - 1)) * 2 + missing
    order = by_value[np.argsort(key[by_value], kind="stable")]
    group, value = codes[order], x[order]
    # Runs of ties, in sorted order: a run starts where the group or the value changes (NaN
    # never ties); first and last are its positions.
    new = np.ones(len(x), dtype=bool)
    new[1:] = (group[1:] != group[:-1]) | (value[1:] != value[:-1])
    first = np.flatnonzero(new)
    last = np.append(first[1:], len(x)) - 1
    run_group = group[first]
    new_group = np.ones(len(first), dtype=bool)
    new_group[1:] = run_group[1:] != run_group[:-1]
    group_start = np.maximum.accumulate(np.where(new_group, first, 0))
    # The average of the 1-based ranks of the run within its group: a half-integer, exact.
    rank = (first + last - 2 * group_start) / 2 + 1.0
    count = np.bincount(codes[~missing] if missing.any() else codes, minlength=ngroups)
    # An empty count only belongs to missing values, which are NaN anyway.
    mid = 100.0 * (rank - 0.5) / np.maximum(count, 1)[run_group]
    mid[np.isnan(value[first])] = np.nan
    out = np.empty(len(x))
    out[order] = np.repeat(mid, last - first + 1)
    return out


# The scores derived from each raw score, as column suffixes: <scale>_z, <scale>_t...
DERIVED = ("z", "t", "pct", "sten", "stanine")


def _empty_result(index: pd.Index, scales: Sequence[str]) -> pd.DataFrame:
    result = pd.DataFrame(
        {f"{s}_{d}": np.full(len(index), np.nan) for s in scales for d in DERIVED}, index=index
    )
    result["norm_n"] = pd.array([pd.NA] * len(index), dtype="Int64")
    result["norm_provisional"] = pd.array([pd.NA] * len(index), dtype="boolean")
    return result


def _float_grid(wide: pd.DataFrame) -> np.ndarray:
    """The table's columns as floats, with a last row of NaN (where "not there" reads)."""
    if (wide.dtypes == "float64").all():
        grid = wide.to_numpy()
    else:
        grid = np.column_stack(
            [column.to_numpy(dtype="float64", na_value=np.nan) for _, column in wide.items()]
        )
    return np.vstack([grid, np.full(grid.shape[1], np.nan)])


def _derive(
    out: np.ndarray,
    x: np.ndarray,
    location: np.ndarray,
    spread: np.ndarray,
    by_rank_pool: np.ndarray,
    take: np.ndarray,
    used: np.ndarray,
    codes: np.ndarray | None,
    ngroups: int,
) -> None:
    """One scale's z, T, percentile, sten and stanine rows of ``out`` from its raw scores ``x``
    and its pools' location and spread (per-pool arrays, read at ``take``)."""
    z, t, pct, sten, stanine = out
    usable = np.isfinite(spread) & (spread > 0)
    np.divide(x - location[take], np.where(usable, spread, 1.0)[take], out=z)
    if (used & ~usable).any():
        z[~usable[take]] = 0.0
    unknown = np.isnan(x)
    if (used & np.isnan(location)).any():
        unknown |= np.isnan(location)[take]
    z[unknown] = np.nan
    missing = np.isnan(z)
    np.multiply(z, 10.0, out=t)
    t += 50.0
    by_rank = by_rank_pool[take]
    if by_rank.all():
        pct[:] = _mid_ranks(x, codes, ngroups)
    else:
        if by_rank.any():
            pct[by_rank] = _mid_ranks(x, codes, ngroups)[by_rank]
        normal = 100.0 * special.ndtr(z[~by_rank])
        pct[~by_rank] = np.clip(normal, NORMAL_PCT_LOW, NORMAL_PCT_HIGH)
    pct[missing] = np.nan
    np.floor(2 * z, out=sten)
    sten += 6
    np.clip(sten, 1, 10, out=sten)
    sten[missing] = np.nan
    _stanine(pct, out=stanine)


def _apply(
    scores: pd.DataFrame,
    table: pd.DataFrame,
    pools: list[str],
    scales: Sequence[str],
    values: pd.DataFrame | None = None,
    codes: np.ndarray | None = None,
) -> pd.DataFrame:
    """`apply_norms`; ``values`` and ``codes`` (pool numbers) when `normalize` has them already."""
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
    # Where each row's pool sits in the table; -1 (not there) reads the last entry of every
    # per-pool array below, which is NaN.
    row_keys = pd.MultiIndex.from_arrays(keys) if len(pools) > 1 else pd.Index(keys[0])
    take = wide.index.get_indexer(row_keys)
    found = take >= 0

    grid = _float_grid(wide)
    where = {column: j for j, column in enumerate(wide.columns)}
    used = np.zeros(len(grid), dtype=bool)  # the pools (and "not there") some row is in
    used[take] = True

    def per_pool(stat: str, scale: str) -> np.ndarray:
        j = where.get((stat, scale))
        return np.full(len(grid), np.nan) if j is None else grid[:, j]

    def largest(stat: str) -> np.ndarray:
        """The largest ``stat`` of each pool over the scales, NaN skipped (NaN if none)."""
        return np.fmax.reduce(grid[:, wide.columns.get_level_values(0) == stat], axis=1)

    if values is None:
        values = _values(scores, scales)
    if (table["percentile"] == "rank").any():
        if codes is None:
            grouped = values.groupby(keys, dropna=False, sort=False)
            if _drops_a_scale(grouped, values, pools):
                raise KeyError(f"a scale cannot also be a pool column: {pools}")
            codes = grouped.ngroup().to_numpy()
        ngroups = int(codes.max()) + 1
        codes = codes.astype(np.min_scalar_type(ngroups - 1), copy=False)
    else:
        ngroups = 0
    block = np.empty((len(scales) * len(DERIVED), len(scores)))
    for j, scale in enumerate(scales):
        _derive(
            block[j * len(DERIVED) : (j + 1) * len(DERIVED)],
            values[scale].to_numpy(),
            per_pool("location", scale),
            per_pool("spread", scale),
            per_pool("by_rank", scale) == 1.0,
            take,
            used,
            codes,
            ngroups,
        )
    columns = [f"{s}_{d}" for s in scales for d in DERIVED]
    result = pd.DataFrame(block.T, index=scores.index, columns=columns, copy=False)
    n, provisional = largest("n"), largest("provisional") > 0
    # As before, n is checked to be whole only in the pools some row is in.
    n[~used] = np.nan
    result["norm_n"] = pd.array(n, dtype="Float64").astype("Int64").take(take)
    flags = pd.array(provisional[take], dtype="boolean")
    if not found.all():
        flags[~found] = pd.NA
    result["norm_provisional"] = flags
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
    return _apply(scores, table, _pool_columns(pool), scales)


def normalize(
    scores: pd.DataFrame, *, pool: str | Sequence[str], scales: Sequence[str], **kw
) -> pd.DataFrame:
    """``apply_norms(scores, fit_norms(scores, ...))``: norms fitted on the scores themselves."""
    pools = _pool_columns(pool)
    table, values, codes = _fit(scores, pools, scales, **kw)
    return _apply(scores, table, pools, scales, values, codes)


def _complete(item_scores: pd.DataFrame) -> np.ndarray:
    return item_scores.astype("float64").dropna(axis=0, how="any").to_numpy()


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
    return moments.feldt(np.cov(data, rowvar=False, ddof=1), n, confidence=confidence)


def item_statistics(item_scores: pd.DataFrame) -> pd.DataFrame:
    """Per item (column): mean, sd, corrected item-total correlation, alpha if deleted, flag.

    Computed on the listwise complete cases. The corrected item-total correlation is the
    Pearson correlation of the item with the sum of the other items; ``negative`` flags items
    below 0, which pull against the scale. Returns one row per item, indexed by item.
    """
    data = _complete(item_scores)
    columns = list(item_scores.columns)
    if data.shape[0] < 2 or len(columns) < 2:
        return moments.item_table(columns, data.shape[0], None, None, None)
    cov = np.cov(data, rowvar=False, ddof=1)
    return moments.item_table(
        columns, data.shape[0], cov, data.mean(axis=0), data.std(axis=0, ddof=1)
    )
