"""The norms module against independent computations (scipy, pingouin, loops written here)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from recruit.core import norms

BOUNDS = [4, 11, 23, 40, 60, 77, 89, 96]


def stanine_by_hand(pct: float) -> int:
    return 1 + sum(1 for b in BOUNDS if pct >= b)


def sten_by_hand(z: float) -> int:
    return min(10, max(1, math.floor(2 * z) + 6))


def random_scores(seed=1, pools=6, per_pool=(30, 80)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for p in range(pools):
        n = int(rng.integers(*per_pool))
        frames.append(
            pd.DataFrame(
                {
                    "campagne": f"Réception – site {p} ✓",
                    "mois": "2026-11" if p % 2 else "2026-10",
                    # Rounded to get ties, as real scale scores have.
                    "a": rng.normal(50 + 5 * p, 5 + p, n).round(0),
                    "b": rng.normal(70, 10, n).round(1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_standard_normalization_matches_scipy_pool_by_pool():
    scores = random_scores()
    scores.loc[[3, 50, 51], "b"] = np.nan
    out = norms.normalize(scores, pool="campagne", scales=["a", "b"])
    for _, group in scores.groupby("campagne"):
        for scale in ("a", "b"):
            present = group[scale].dropna()
            z = stats.zscore(present, ddof=1)
            np.testing.assert_allclose(out.loc[present.index, f"{scale}_z"], z)
            np.testing.assert_allclose(out.loc[present.index, f"{scale}_t"], 50 + 10 * z)
            pct = [stats.percentileofscore(present, x, kind="mean") for x in present]
            np.testing.assert_allclose(out.loc[present.index, f"{scale}_pct"], pct)
            stanines = [stanine_by_hand(p) for p in pct]
            assert out.loc[present.index, f"{scale}_stanine"].tolist() == stanines
            assert out.loc[present.index, f"{scale}_sten"].tolist() == [sten_by_hand(v) for v in z]
    missing = scores["b"].isna()
    assert (
        out.loc[missing, [f"b_{d}" for d in ("z", "t", "pct", "sten", "stanine")]]
        .isna()
        .all()
        .all()
    )
    assert out.loc[~missing, "b_z"].notna().all()


def test_robust_normalization_matches_scipy():
    scores = random_scores(seed=2)
    out = norms.normalize(scores, pool="campagne", scales=["a"], method="robust")
    for _, group in scores.groupby("campagne"):
        x = group["a"]
        spread = stats.median_abs_deviation(x, scale="normal")
        if spread == 0:
            spread = x.std(ddof=1)
        np.testing.assert_allclose(out.loc[x.index, "a_z"], (x - x.median()) / spread, rtol=1e-4)


def test_norm_table_columns_and_values():
    scores = random_scores(seed=3)
    table = norms.fit_norms(scores, pool="campagne", scales=["a"], method="robust")
    assert list(table.columns) == ["campagne", *norms.TABLE_COLUMNS]
    row = table.iloc[0]
    group = scores.loc[scores["campagne"] == row["campagne"], "a"]
    assert row["n"] == len(group)
    assert row["mean"] == pytest.approx(group.mean())
    assert row["sd"] == pytest.approx(group.std(ddof=1))
    assert row["median"] == pytest.approx(group.median())
    assert row["mad"] == pytest.approx(stats.median_abs_deviation(group))
    assert row["location"] == pytest.approx(group.median())
    assert row["spread"] == pytest.approx(1.4826 * stats.median_abs_deviation(group))
    assert not row["provisional"]


def test_several_pool_columns_form_one_pool_each():
    scores = random_scores(seed=4)
    out = norms.normalize(scores, pool=["mois"], scales=["a"])
    by_month = norms.normalize(scores, pool="mois", scales=["a"])
    pd.testing.assert_frame_equal(out, by_month)
    both = norms.normalize(scores, pool=["campagne", "mois"], scales=["a"])
    single = norms.normalize(scores, pool="campagne", scales=["a"])
    # Each campaign sits in one month, so the two poolings agree.
    pd.testing.assert_frame_equal(both, single)


def test_small_pool_is_shrunk_toward_the_reference_by_hand():
    scores = pd.DataFrame(
        {"pool": ["small"] * 4 + ["big"] * 6, "x": [10, 12, 14, 16, 0, 0, 0, 30, 30, 30]}
    )
    reference = pd.DataFrame({"scale": ["x"], "location": [20.0], "spread": [5.0]})
    table = norms.fit_norms(
        scores, pool="pool", scales=["x"], min_pool=5, shrink_k=2, reference=reference
    )
    small = table.set_index("pool").loc["small"]
    sd = np.std([10, 12, 14, 16], ddof=1)
    # location = (n m + k m_ref)/(n + k); spread^2 = ((n-1) s^2 + k s_ref^2)/((n-1) + k)
    assert small["location"] == pytest.approx((4 * 13 + 2 * 20) / 6)
    assert small["spread"] == pytest.approx(math.sqrt((3 * sd**2 + 2 * 25) / 5))
    assert small["provisional"] and small["percentile"] == "normal"
    big = table.set_index("pool").loc["big"]
    assert big["location"] == 15 and not big["provisional"]
    out = norms.apply_norms(scores, table, pool="pool", scales=["x"])
    z = (10 - small["location"]) / small["spread"]
    assert out.loc[0, "x_z"] == pytest.approx(z)
    assert out.loc[0, "x_pct"] == pytest.approx(100 * stats.norm.cdf(z))
    assert out.loc[0, "norm_provisional"] and out.loc[0, "norm_n"] == 4
    assert not out.loc[5, "norm_provisional"] and out.loc[5, "norm_n"] == 6


def test_default_reference_is_everyone_pooled_and_default_k_is_min_pool():
    scores = pd.DataFrame({"pool": ["s", "s"] + ["b"] * 8, "x": [1.0, 3.0, 2, 4, 6, 8, 2, 4, 6, 8]})
    table = norms.fit_norms(scores, pool="pool", scales=["x"], min_pool=9).set_index("pool")
    m_ref, s_ref = scores["x"].mean(), scores["x"].std(ddof=1)
    assert table.loc["s", "location"] == pytest.approx((2 * 2 + 9 * m_ref) / 11)
    assert table.loc["s", "spread"] == pytest.approx(math.sqrt((1 * 2 + 9 * s_ref**2) / 10))


def test_pool_of_one_constant_pool_and_empty_frame_are_defined():
    scores = pd.DataFrame({"pool": ["one", "flat", "flat", "flat"], "x": [7.0, 5.0, 5.0, 5.0]})
    out = norms.normalize(scores, pool="pool", scales=["x"], min_pool=1)
    # The constant pool has no spread: z = 0, and everyone is at the middle rank.
    assert out.loc[1:, "x_z"].tolist() == [0, 0, 0]
    assert out.loc[1:, "x_pct"].tolist() == [50, 50, 50]
    assert out.loc[0, "x_z"] == 0 and out.loc[0, "x_pct"] == 50
    assert np.isfinite(out.select_dtypes("number").to_numpy(dtype=float)).all()
    shrunk = norms.normalize(scores, pool="pool", scales=["x"], min_pool=30)
    assert np.isfinite(shrunk["x_z"]).all()
    empty = norms.normalize(scores.iloc[:0], pool="pool", scales=["x"])
    assert empty.empty and "x_stanine" in empty.columns
    all_missing = norms.normalize(scores.assign(x=np.nan), pool="pool", scales=["x"])
    assert all_missing["x_z"].isna().all()


def test_pool_missing_from_the_table_gets_nan():
    scores = random_scores(seed=5)
    table = norms.fit_norms(
        scores[scores["campagne"] != scores["campagne"].iloc[-1]], pool="campagne", scales=["a"]
    )
    out = norms.apply_norms(scores, table, pool="campagne", scales=["a"])
    last = scores["campagne"] == scores["campagne"].iloc[-1]
    assert out.loc[last, "a_z"].isna().all() and out.loc[last, "norm_n"].isna().all()
    assert out.loc[~last, "a_z"].notna().all()


def test_many_pools():
    scores = random_scores(seed=6, pools=300, per_pool=(1, 40))
    out = norms.normalize(scores, pool="campagne", scales=["a", "b"])
    assert len(out) == len(scores) and out.index.equals(scores.index)
    assert out["a_pct"].between(0, 100, inclusive="neither").all()


def test_unknown_method_and_missing_column_are_refused():
    scores = random_scores()
    with pytest.raises(ValueError, match="method"):
        norms.fit_norms(scores, pool="campagne", scales=["a"], method="magic")
    with pytest.raises(KeyError, match="nope"):
        norms.fit_norms(scores, pool="campagne", scales=["nope"])


pools = st.lists(
    st.tuples(
        st.sampled_from(["α", "b", "ç", "d"]),
        st.one_of(st.none(), st.integers(0, 20).map(float)),
    ),
    min_size=0,
    max_size=80,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(pools, st.sampled_from(norms.METHODS), st.integers(0, 10))
def test_invariants(rows, method, min_pool):
    scores = pd.DataFrame(rows, columns=["pool", "x"]).astype({"x": "float64"})
    out = norms.normalize(scores, pool="pool", scales=["x"], method=method, min_pool=min_pool)
    present = scores["x"].notna()
    assert out.loc[~present, "x_z"].isna().all()
    assert out.loc[present, "x_z"].notna().all()
    assert np.isfinite(out.loc[present, ["x_z", "x_t", "x_pct"]].to_numpy()).all()
    assert out.loc[present, "x_pct"].between(0, 100, inclusive="neither").all()
    assert out.loc[present, "x_sten"].between(1, 10).all()
    assert out.loc[present, "x_stanine"].between(1, 9).all()
    for _, group in scores[present].groupby("pool"):
        # Within a pool every derived score keeps the candidates' order (ties stay ties).
        order = group["x"].rank(method="min")
        for derived in ("x_z", "x_t", "x_pct", "x_sten", "x_stanine"):
            derived_order = out.loc[group.index, derived].rank(method="min")
            assert (
                np.sign(np.subtract.outer(order.values, order.values))
                * np.sign(np.subtract.outer(derived_order.values, derived_order.values))
                >= 0
            ).all()


@settings(max_examples=25, deadline=None)
@given(st.integers(200, 2000), st.floats(-50, 50), st.floats(0.5, 20), st.integers(0, 10_000))
def test_large_pool_z_has_mean_zero_and_sd_one(n, mean, sd, seed):
    rng = np.random.default_rng(seed)
    scores = pd.DataFrame({"pool": "p", "x": rng.normal(mean, sd, n)})
    z = norms.normalize(scores, pool="pool", scales=["x"])["x_z"]
    assert z.mean() == pytest.approx(0, abs=1e-9)
    assert z.std(ddof=1) == pytest.approx(1, abs=1e-9)


def test_reliability_matches_pingouin_on_its_own_data_set():
    data = pg.read_dataset("cronbach_alpha").pivot(index="Subj", columns="Items", values="Scores")
    result = norms.reliability(data)
    alpha, (low, high) = pg.cronbach_alpha(data=data)
    assert result.alpha == pytest.approx(0.5917188485995826)
    assert result.alpha == pytest.approx(alpha)
    assert (round(result.ci_low, 3), round(result.ci_high, 3)) == (low, high) == (0.195, 0.84)
    assert (result.n, result.k) == (data.shape[0], data.shape[1])


def test_reliability_on_random_data_with_missing_values_is_listwise():
    rng = np.random.default_rng(9)
    trait = rng.normal(size=300)
    data = pd.DataFrame({f"i{j}": trait + rng.normal(scale=1 + j / 3, size=300) for j in range(8)})
    data.iloc[::17, 2] = np.nan
    result = norms.reliability(data)
    complete = data.dropna()
    alpha, _ = pg.cronbach_alpha(data=complete)
    assert result.alpha == pytest.approx(alpha)
    assert result.n == len(complete)
    assert result.ci_low < result.alpha < result.ci_high


def test_reliability_degenerate_cases_are_nan_not_errors():
    assert math.isnan(norms.reliability(pd.DataFrame({"a": [1.0, 2.0]})).alpha)
    assert math.isnan(norms.reliability(pd.DataFrame({"a": [1.0], "b": [2.0]})).alpha)
    assert math.isnan(norms.reliability(pd.DataFrame({"a": [1.0, 1.0], "b": [2.0, 2.0]})).alpha)
    assert norms.reliability(pd.DataFrame(columns=["a", "b"], dtype=float)).n == 0


def test_item_statistics_against_direct_computation():
    rng = np.random.default_rng(11)
    trait = rng.normal(size=400)
    data = pd.DataFrame({f"i{j}": trait + rng.normal(scale=1.5, size=400) for j in range(6)})
    data["reversed"] = -trait + rng.normal(scale=1.5, size=400)
    result = norms.item_statistics(data)
    for item in data.columns:
        rest = data.drop(columns=item).sum(axis=1)
        assert result.loc[item, "item_rest_r"] == pytest.approx(np.corrcoef(data[item], rest)[0, 1])
        assert result.loc[item, "alpha_if_deleted"] == pytest.approx(
            pg.cronbach_alpha(data=data.drop(columns=item))[0]
        )
        assert result.loc[item, "mean"] == pytest.approx(data[item].mean())
        assert result.loc[item, "sd"] == pytest.approx(data[item].std(ddof=1))
    assert result["negative"].tolist() == [False] * 6 + [True]


def test_item_statistics_degenerate_cases():
    few = norms.item_statistics(pd.DataFrame({"a": [1.0], "b": [2.0]}))
    assert few["item_rest_r"].isna().all() and not few["negative"].any()
    constant = norms.item_statistics(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [2.0, 2.0, 2.0]}))
    assert np.isnan(constant.loc["b", "item_rest_r"]) and not constant.loc["b", "negative"]


# --- The current implementation against the one it replaced, bit for bit --------------------
# tests/unit/norms_before.py is a frozen copy of the module before it was made faster: every
# output (values, dtypes, columns, index, NaN) must stay identical to the last bit.

from tests.unit import norms_before  # noqa: E402


def assert_identical(new: pd.DataFrame, old: pd.DataFrame) -> None:
    """Same columns, index, dtypes and values; floats compared bit for bit (-0.0 is not 0.0)."""
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    assert list(new.dtypes) == list(old.dtypes)
    for column in new.columns:
        a, b = new[column].to_numpy(), old[column].to_numpy()
        if a.dtype == np.float64:
            assert np.array_equal(np.isnan(a), np.isnan(b)), column
            present = ~np.isnan(a)
            assert np.array_equal(a[present].view(np.int64), b[present].view(np.int64)), column


def same_as_before(name: str, *args, **kw) -> pd.DataFrame | None:
    """Call ``name`` in both modules: identical frames, or the same exception type from both."""
    try:
        old = getattr(norms_before, name)(*args, **kw)
    except Exception as error:  # noqa: BLE001 - whatever the old one raised, the new one must too
        with pytest.raises(type(error)):
            getattr(norms, name)(*args, **kw)
        return None
    new = getattr(norms, name)(*args, **kw)
    assert_identical(new, old)
    return new


def pool_keys(rng: np.random.Generator, kind: str, n: int, pools: int) -> pd.Series:
    """``n`` pool keys of one kind of column, about a tenth of them missing where it can be."""
    which = rng.integers(0, pools, n)
    # Skewed sizes: some pools of one or two people, some large.
    which = np.where(rng.random(n) < 0.3, which % max(pools // 3, 1), which)
    missing = rng.random(n) < 0.1
    if kind == "str":
        return pd.Series([f"pool {p} ✓" for p in which]).where(~missing)
    if kind == "object":
        keys = pd.Series([f"p{p}" for p in which], dtype=object)
        keys[missing] = [None if i % 2 else np.nan for i in range(int(missing.sum()))]
        return keys
    if kind == "string":
        return pd.Series([f"p{p}" for p in which], dtype="string").where(~missing, pd.NA)
    if kind == "int":
        return pd.Series(which * 7 - 20)
    if kind == "float":
        return pd.Series(which / 4).where(~missing)
    if kind == "category":
        labels = pd.Series([f"c{p}" for p in which]).where(~missing)
        categories = [f"c{p}" for p in range(pools + 2)][::-1]  # unused ones, reversed order
        return pd.Series(pd.Categorical(labels, categories=categories))
    if kind == "bool":
        return pd.Series(which % 2 == 0)
    raise ValueError(kind)


KINDS = ["str", "object", "string", "int", "float", "category", "bool"]


def varied_scores(seed: int, n: int | None = None) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Random scores with ties, missing values, tiny and constant pools; 1-2 pool columns."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400)) if n is None else n
    pools = int(rng.integers(1, 40))
    pool_columns = ["pool"] if rng.random() < 0.6 else ["pool", "site"]
    data = {c: pool_keys(rng, str(rng.choice(KINDS)), n, pools) for c in pool_columns}
    scales = [f"s{j}" for j in range(int(rng.integers(1, 4)))]
    for j, scale in enumerate(scales):
        x = rng.normal(50, 10, n)
        if j % 2 == 0:
            x = x.round(0)  # ties
        x[rng.random(n) < rng.choice([0.0, 0.05, 0.3])] = np.nan
        data[scale] = x
    scores = pd.DataFrame(data)  # every column on the same RangeIndex, dtypes kept
    if rng.random() < 0.3 and n > 5:
        # A constant pool (MAD 0, maybe SD 0) and a scale missing in a whole pool.
        first = scores[pool_columns[0]].iloc[0]
        same = scores[pool_columns[0]].eq(first).fillna(False).to_numpy(dtype=bool)
        scores.loc[same, scales[0]] = 3.0
        scores.loc[same, scales[-1]] = np.nan if len(scales) > 1 else 3.0
    if rng.random() < 0.3:
        scores.index = pd.Index(rng.permutation(n) * 3 + 100, name="candidate")
    return scores, pool_columns, scales


SEEDS = range(120)


@pytest.mark.parametrize("seed", SEEDS)
def test_normalize_is_identical_to_before(seed):
    scores, pool, scales = varied_scores(seed)
    rng = np.random.default_rng(1000 + seed)
    method = str(rng.choice(norms.METHODS))
    min_pool = int(rng.choice([0, 1, 2, 5, 30, 10_000]))
    shrink_k = None if rng.random() < 0.5 else float(rng.choice([0.0, 0.5, 3.0]))
    kw = {"pool": pool, "scales": scales, "method": method, "min_pool": min_pool}
    same_as_before("normalize", scores, **kw, shrink_k=shrink_k)
    same_as_before("fit_norms", scores, **kw, shrink_k=shrink_k)


@pytest.mark.parametrize("seed", SEEDS)
def test_apply_norms_with_a_foreign_table_is_identical_to_before(seed):
    """Tables fitted on other rows (absent pools, other counts), with a reference, or odd ones."""
    scores, pool, scales = varied_scores(seed)
    rng = np.random.default_rng(2000 + seed)
    method = str(rng.choice(norms.METHODS))
    kw = {"pool": pool, "scales": scales}
    half = scores.iloc[rng.permutation(len(scores))[: len(scores) // 2]]
    reference = norms_before.fit_norms(
        half.assign(_all="all"), pool="_all", scales=scales, method=method, min_pool=0
    )
    for source in (half, scores.iloc[::-1]):
        table = same_as_before(
            "fit_norms", source, **kw, method=method, min_pool=int(rng.integers(0, 40))
        )
        same_as_before("apply_norms", scores, table, **kw)
        same_as_before("apply_norms", source, table, **kw)
    table = same_as_before("fit_norms", half, **kw, method=method, reference=reference)
    same_as_before("apply_norms", scores, table, **kw)
    everything_normal = norms_before.fit_norms(scores, **kw, method=method, min_pool=10**9)
    same_as_before("apply_norms", scores, everything_normal, **kw)
    # A table with more scales than applied: norm_n is still the largest over the table's.
    same_as_before(
        "apply_norms", scores, norms_before.fit_norms(scores, **kw), **kw | {"scales": scales[:1]}
    )
    same_as_before("apply_norms", scores.iloc[:0], table, **kw)
    same_as_before("apply_norms", scores, table.iloc[:0], **kw)


_X = [1.0, 2, 2, 3, 4, 5, 6, np.nan]
EDGE_FRAMES = {
    "inf": pd.DataFrame({"p": ["a"] * 4 + ["b"] * 4, "x": [1.0, np.inf, 2, -np.inf, *_X[:4]]}),
    "signed zeros": pd.DataFrame(
        {"p": ["a"] * 8, "x": [-0.0, 0.0, 0.0, -0.0, 1.0, -1.0, -0.0, np.nan]}
    ),
    "int scores": pd.DataFrame({"p": ["a", "b"] * 4, "x": [1, 2, 3, 3, 4, 5, 6, 7]}),
    "Int64 scores": pd.DataFrame(
        {"p": ["a"] * 8, "x": pd.array([1, 2, 3, 3, 4, None, 6, 7], dtype="Int64")}
    ),
    "datetime pool": pd.DataFrame(
        {"p": pd.to_datetime(["2020-01-01", "2020-01-02", None, None] * 2), "x": _X}
    ),
    "duplicate index": pd.DataFrame({"p": ["a", "b"] * 4, "x": _X}, index=[0, 0, 1, 1] * 2),
    "one row": pd.DataFrame({"p": ["a"], "x": [1.0]}),
    "all missing": pd.DataFrame({"p": ["a", "b"] * 4, "x": [np.nan] * 8}),
    "empty": pd.DataFrame({"p": pd.Series([], dtype=str), "x": pd.Series([], dtype=float)}),
    "all keys missing": pd.DataFrame({"p": [None] * 8, "x": _X}),
    # Missing values among infinities, and a pool whose median is infinite (inf - inf warns).
    "inf and missing": pd.DataFrame(
        {
            "p": ["a"] * 8 + ["b"] * 4,
            "x": [np.inf, np.nan, np.inf, 1.0, np.nan, -np.inf, np.inf, 1.0, np.inf, np.nan, 2, 9],
        }
    ),
    # +inf with a finite robust z, hence a rank, among missing values in its pool.
    "inf ranked": pd.DataFrame(
        {"p": ["c"] * 12, "x": [np.nan, np.inf, np.nan, np.inf, np.nan, np.inf, 1, 2, 3, 4, 5, 6]}
    ),
}


@pytest.mark.parametrize("name", EDGE_FRAMES)
@pytest.mark.parametrize("method", norms.METHODS)
@pytest.mark.parametrize("min_pool", [0, 2, 30])
def test_edge_cases_are_identical_to_before(name, method, min_pool):
    kw = {"pool": "p", "scales": ["x"], "method": method, "min_pool": min_pool}
    same_as_before("normalize", EDGE_FRAMES[name], **kw)
    same_as_before("fit_norms", EDGE_FRAMES[name], **kw)


def test_refused_inputs_are_refused_as_before():
    scores = pd.DataFrame({"p": ["a"] * 8, "x": _X})
    same_as_before("normalize", scores, pool="p", scales=["x", "x"])
    same_as_before("normalize", scores.assign(p=1.0), pool="p", scales=["x", "p"])
    same_as_before("normalize", scores.iloc[:0].assign(p=1.0), pool="p", scales=["x", "p"])
    table = norms_before.fit_norms(scores, pool="p", scales=["x"])
    same_as_before("apply_norms", scores, table, pool="p", scales=["x", "x"])
    # A pool column that is also a scale: pandas leaves it out of a groupby when it shares memory.
    same_as_before("apply_norms", scores.assign(p=1.0), table, pool="p", scales=["x", "p"])
    same_as_before("normalize", scores.assign(p=1), pool="p", scales=["x", "p"], min_pool=0)


def benchmark_like(rows: int, pools: int, seed: int) -> pd.DataFrame:
    """Scores shaped like tests/benchmarks/bench_norms.py: string keys, 1 % missing, ties."""
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, pools, rows)
    data = {"campaign": pd.Series([f"campagne-{p:04d}" for p in pool], dtype="string")}
    for scale in ("a", "b"):
        values = np.clip(rng.normal(60, 8, pools)[pool] + 10 * rng.normal(size=rows), 0, 100)
        values = values.round(1)
        values[rng.random(rows) < 0.01] = np.nan
        data[scale] = values
    return pd.DataFrame(data)


@pytest.mark.parametrize(
    ("rows", "pools", "min_pool"),
    [(20_000, 20, 30), (30_000, 400, 30), (30_000, 400, 80), (100_000, 50_000, 2)],
)
def test_many_rows_and_pools_are_identical_to_before(rows, pools, min_pool):
    """Groups numbered past 8 and 16 bits, pools of one, the benchmark's own shape of data."""
    scores = benchmark_like(rows, pools, seed=rows + pools)
    for method in norms.METHODS:
        kw = {"pool": "campaign", "scales": ["a", "b"], "method": method, "min_pool": min_pool}
        same_as_before("normalize", scores, **kw)
        table = same_as_before("fit_norms", scores.iloc[::2], **kw)
        same_as_before("apply_norms", scores, table, pool="campaign", scales=["a", "b"])


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(pools, st.sampled_from(norms.METHODS), st.integers(0, 10), st.booleans())
def test_invariant_frames_are_identical_to_before(rows, method, min_pool, two_pools):
    scores = pd.DataFrame(rows, columns=["pool", "x"]).astype({"x": "float64"})
    scores["y"] = -scores["x"].iloc[::-1].to_numpy()
    scores["site"] = np.arange(len(scores)) % 2
    pool = ["pool", "site"] if two_pools else "pool"
    kw = {"pool": pool, "scales": ["x", "y"], "method": method, "min_pool": min_pool}
    same_as_before("normalize", scores, **kw)
    table = same_as_before("fit_norms", scores.iloc[: len(scores) // 2], **kw)
    if table is not None:
        same_as_before("apply_norms", scores, table, pool=pool, scales=["x", "y"])
