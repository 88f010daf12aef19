"""Item statistics from sufficient statistics (recruit.core.moments): summed per group, they
give the figures read from the whole matrix at once."""

import json

import numpy as np
import pandas as pd
import pytest

from recruit.core import moments, norms
from recruit.core.moments import Moments


def random_scores(seed: int, n: int, k: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    trait = rng.normal(size=(n, 1))
    data = np.clip(0.5 + 0.2 * trait + rng.normal(scale=0.25, size=(n, k)), 0, 1).round(2)
    data[rng.random((n, k)) < 0.05] = np.nan  # a few unanswered items
    return data


@pytest.mark.parametrize("seed", range(6))
def test_groups_added_give_the_statistics_of_everyone(seed):
    items = [f"i{j}" for j in range(7)]
    data = random_scores(seed, 600, len(items))
    cuts = sorted(np.random.default_rng(seed).choice(np.arange(1, 600), 5, replace=False))
    total = Moments.empty(items)
    for part in np.split(data, cuts):
        total = total + Moments.of(part, items)
    whole = pd.DataFrame(data, columns=items)
    expected = norms.item_statistics(whole)
    got = moments.item_statistics(total)
    assert list(got.columns) == list(expected.columns) and list(got.index) == items
    assert (got["n"] == expected["n"]).all()
    for column in ("mean", "sd", "item_rest_r", "alpha_if_deleted"):
        np.testing.assert_allclose(got[column], expected[column], rtol=1e-10)
    assert (got["negative"] == expected["negative"]).all()
    a, b = moments.reliability(total), norms.reliability(whole)
    assert (a.n, a.k) == (b.n, b.k)
    np.testing.assert_allclose([a.alpha, a.ci_low, a.ci_high], [b.alpha, b.ci_low, b.ci_high])


def test_alpha_by_hand():
    # 4 people, 3 items. Item variances (ddof 1): 1, 1, 1; totals 0, 2, 4, 6 have variance
    # 20/3, so alpha = 3/2 * (1 - 3 / (20/3)) = 3/2 * 11/20 = 0.825.
    data = np.array([[0, 0, 0], [1, 0, 1], [1, 2, 1], [2, 2, 2]], dtype=float)
    data -= data.mean(axis=0)
    scale = np.sqrt(data.var(axis=0, ddof=1))
    data = data / scale  # every item now has variance 1
    totals = data.sum(axis=1)
    k = 3
    expected = k / (k - 1) * (1 - k / totals.var(ddof=1))
    result = moments.reliability(Moments.of(data, ["a", "b", "c"]))
    assert result.alpha == pytest.approx(expected) and result.n == 4 and result.k == 3


def test_incomplete_rows_are_left_out_and_json_round_trips():
    items = ["a", "b"]
    data = np.array([[0.0, 1.0], [np.nan, 0.5], [1.0, 0.0], [0.5, 0.5]])
    m = Moments.of(data, items)
    assert m.n == 3 and m.mean.tolist() == pytest.approx([0.5, 0.5])
    back = Moments.from_json(json.loads(json.dumps(m.to_json())))
    assert back.items == m.items and back.n == 3
    np.testing.assert_array_equal(back.comoment, m.comoment)


def test_empty_and_mismatched_moments():
    items = ["a", "b", "c"]
    empty = Moments.empty(items)
    one = Moments.of(np.array([[1.0, 0.0, 0.5]]), items)
    assert (empty + one).n == 1 and (one + empty).n == 1
    assert np.isnan(moments.reliability(one).alpha)
    assert moments.item_statistics(one)["mean"].isna().all()
    with pytest.raises(ValueError):
        one + Moments.empty(["a", "b"])
