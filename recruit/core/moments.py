"""Item statistics from sufficient statistics: what a campaign's item scores add up to.

Classical item statistics and Cronbach's alpha need only the number of complete cases, the
items' means and their centred cross-products (co-moments). Those can be kept per group (a
campaign and form version) and merged across groups exactly as if every person had been read at
once (Chan, Golub & LeVeque, 1979), so a dashboard over a million tests sums a few hundred small
tables instead of reading a million rows. Pure numpy; the formulas live
here once and ``recruit.core.norms.item_statistics`` and ``reliability`` apply them to the raw
matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class Moments:
    """n complete cases of k items: their means and co-moment matrix sum (x - mean)(x - mean)'."""

    items: tuple[str, ...]
    n: int
    mean: np.ndarray  # (k,)
    comoment: np.ndarray  # (k, k)

    @classmethod
    def empty(cls, items: Sequence[str]) -> Moments:
        k = len(items)
        return cls(tuple(items), 0, np.zeros(k), np.zeros((k, k)))

    @classmethod
    def of(cls, matrix: np.ndarray, items: Sequence[str]) -> Moments:
        """The moments of the complete rows (no NaN) of a people x items matrix."""
        data = np.asarray(matrix, dtype="float64").reshape(-1, len(items))
        data = data[~np.isnan(data).any(axis=1)]
        if not len(data):
            return cls.empty(items)
        mean = data.mean(axis=0)
        centred = data - mean
        return cls(tuple(items), len(data), mean, centred.T @ centred)

    def __add__(self, other: Moments) -> Moments:
        """The moments of both groups' people together (Chan et al.'s pairwise update)."""
        if self.items != other.items:
            raise ValueError("moments of different items cannot be added")
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n / n)
        comoment = self.comoment + other.comoment + np.outer(delta, delta) * (self.n * other.n / n)
        return Moments(self.items, n, mean, comoment)

    def covariance(self) -> np.ndarray:
        """The sample covariance matrix (ddof = 1)."""
        return self.comoment / (self.n - 1)

    def to_json(self) -> dict:
        return {
            "items": list(self.items),
            "n": self.n,
            "mean": self.mean.tolist(),
            "comoment": self.comoment.tolist(),
        }

    @classmethod
    def from_json(cls, data: dict) -> Moments:
        items = tuple(data["items"])
        k = len(items)
        mean = np.asarray(data["mean"], dtype="float64").reshape(k)
        comoment = np.asarray(data["comoment"], dtype="float64").reshape(k, k)
        return cls(items, int(data["n"]), mean, comoment)


@dataclass(frozen=True)
class Reliability:
    """Cronbach's alpha of a scale with its Feldt confidence interval, on n people and k items."""

    alpha: float
    ci_low: float
    ci_high: float
    n: int
    k: int


def alpha_of(cov: np.ndarray) -> float:
    """Cronbach's alpha from the items' covariance matrix: NaN below 2 items or without variance."""
    k = cov.shape[0]
    total = cov.sum()
    if k < 2 or not np.isfinite(total) or total <= 0:
        return float("nan")
    return float(k / (k - 1) * (1 - np.trace(cov) / total))


def feldt(cov: np.ndarray, n: int, *, confidence: float = 0.95) -> Reliability:
    """Alpha of n people's covariance matrix with Feldt's interval: 1 - (1 - alpha) F, F the
    F-distribution's quantiles on (n - 1, (n - 1)(k - 1)) degrees of freedom."""
    k = cov.shape[0]
    if n < 2 or k < 2:
        return Reliability(float("nan"), float("nan"), float("nan"), int(n), int(k))
    alpha = alpha_of(cov)
    df1, df2 = n - 1, (n - 1) * (k - 1)
    tail = (1 - confidence) / 2
    low = 1 - (1 - alpha) * stats.f.isf(tail, df1, df2)
    high = 1 - (1 - alpha) * stats.f.isf(1 - tail, df1, df2)
    return Reliability(alpha, float(low), float(high), int(n), int(k))


def item_table(
    columns: Sequence[str],
    n: int,
    cov: np.ndarray | None,
    mean: np.ndarray | None,
    sd: np.ndarray | None,
) -> pd.DataFrame:
    """Per item: n, mean, sd, corrected item-total correlation, alpha if deleted, negative.

    The corrected item-total correlation is the item's correlation with the sum of the other
    items, from the covariance matrix; ``negative`` flags items below 0, which pull against the
    scale. Below 2 people or 2 items every figure is NaN (``cov`` may then be None).
    """
    k = len(columns)
    result = pd.DataFrame(index=pd.Index(list(columns), name="item"))
    if n < 2 or k < 2 or cov is None:
        result["n"] = n
        for name in ("mean", "sd", "item_rest_r", "alpha_if_deleted"):
            result[name] = np.nan
        result["negative"] = False
        return result
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
    result["n"] = n
    result["mean"] = mean
    result["sd"] = sd
    result["item_rest_r"] = r
    result["alpha_if_deleted"] = np.where(np.isfinite(alpha_without), alpha_without, np.nan)
    result["negative"] = np.nan_to_num(r, nan=0.0) < 0
    return result


def reliability(moments: Moments, *, confidence: float = 0.95) -> Reliability:
    """Cronbach's alpha with its Feldt interval, as norms.reliability, from moments."""
    if moments.n < 2:
        return feldt(np.zeros((len(moments.items),) * 2), moments.n, confidence=confidence)
    return feldt(moments.covariance(), moments.n, confidence=confidence)


def item_statistics(moments: Moments) -> pd.DataFrame:
    """The columns and definitions of norms.item_statistics, from moments."""
    if moments.n < 2:
        return item_table(moments.items, moments.n, None, moments.mean, moments.mean)
    cov = moments.covariance()
    return item_table(moments.items, moments.n, cov, moments.mean, np.sqrt(np.diag(cov)))
