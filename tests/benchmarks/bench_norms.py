"""Benchmark: `norms.normalize` against a bare-pandas baseline, measured in the same run.

    .venv/bin/python tests/benchmarks/bench_norms.py [--rows 1000000] [--repeat 3]

Builds N candidates x 5 scales in N/1000 pools (1,000 pools at 1M rows), then times
- baseline: for each scale, one groupby-transform for z (mean and std) and one groupby-rank for
  the percentile — the least a correct per-pool normalization has to do;
- `normalize` (standard method, min_pool=30: fits the norm table with n, mean, sd, median, MAD
  and applies z, T, percentile, sten, stanine).
The two take turns, `--repeat` rounds (a round of a fast size makes several calls, 50 ms at
least). Prints the best time of each, the ratio of the best times, the median of the per-round
ratios (how stable it is), and the growth from 10k to 1M rows.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from recruit.core.norms import normalize

SCALES = ["plaisir", "noblesse", "ecoute", "au_dela", "naturel"]


def make_scores(rows: int, pools: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, pools, rows)
    level = rng.normal(60, 8, pools)[pool]
    spread = rng.uniform(6, 14, pools)[pool]
    data = {"campaign": pd.Series(pool).map(lambda p: f"campagne-{p:04d}").astype("string")}
    for scale in SCALES:
        values = np.clip(level + spread * rng.standard_normal(rows), 0, 100).round(1)
        values[rng.random(rows) < 0.01] = np.nan
        data[scale] = values
    return pd.DataFrame(data)


def baseline(scores: pd.DataFrame) -> pd.DataFrame:
    grouped = scores.groupby("campaign")
    out = {}
    for scale in SCALES:
        column = grouped[scale]
        out[f"{scale}_z"] = (scores[scale] - column.transform("mean")) / column.transform("std")
        out[f"{scale}_pct"] = column.rank(pct=True) * 100
    return pd.DataFrame(out)


def paired_times(functions, repeat: int) -> list[list[float]]:
    """Seconds per call of each function, ``repeat`` rounds, the functions taking turns.

    Taking turns (in an order that alternates) spreads the noise of a shared machine over all of
    them alike; a round calls a fast function several times so that it lasts 50 ms at least.
    """
    calls = []
    for fn in functions:  # warm up, and size the rounds
        start = time.perf_counter()
        fn()
        calls.append(max(1, int(0.05 / max(time.perf_counter() - start, 1e-9))))
    times = [[] for _ in functions]
    for round_ in range(repeat):
        turns = list(enumerate(functions))
        for i, fn in turns if round_ % 2 == 0 else turns[::-1]:
            start = time.perf_counter()
            for _ in range(calls[i]):
                fn()
            times[i].append((time.perf_counter() - start) / calls[i])
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"pandas {pd.__version__}, numpy {np.__version__}; best of {args.repeat} rounds")
    print(
        f"{'rows':>10} {'pools':>6} {'baseline s':>11} {'normalize s':>12} {'ratio':>6}"
        f" {'median ratio':>13}"
    )
    sizes = sorted({10_000, 100_000, args.rows})
    results = {}
    for rows in sizes:
        pools = max(rows // 1000, 10)
        scores = make_scores(rows, pools)
        base_times, our_times = paired_times(
            [
                lambda s=scores: baseline(s),
                lambda s=scores: normalize(s, pool="campaign", scales=SCALES),
            ],
            args.repeat,
        )
        base, ours = min(base_times), min(our_times)
        # The ratio of the best times, and the median of the ratios within a round.
        paired = statistics.median(o / b for o, b in zip(our_times, base_times, strict=True))
        results[rows] = ours
        print(
            f"{rows:>10,} {pools:>6,} {base:>11.3f} {ours:>12.3f} {ours / base:>6.2f}"
            f" {paired:>13.2f}"
        )
    small, large = sizes[0], sizes[-1]
    growth = results[large] / results[small]
    print(f"normalize time x{growth:.1f} for x{large // small} rows")


if __name__ == "__main__":
    main()
