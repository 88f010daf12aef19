"""Benchmark: the export writers against bare pandas writes of the same frame, in the same run.

    .venv/bin/python tests/benchmarks/bench_export.py [--rows 100000] [--repeat 1]

Builds the frame `exports.export_frame` would return for N synthetic candidates x 5 scales (+ the
composite) in N/1000 campaigns, without a database (same columns, dtypes, rounding; 1 % of the
names start with "=" so that neutralizing has work to do), and a context with the real bank's
scales. Then it measures, each in a fresh subprocess that loads the frame from a pickle:
- csv:  b"".join(exports.csv_chunks(frame))     vs  frame.to_csv(index=False).encode("utf-8")
- xlsx: exports.write_xlsx(frame, context, tmp)  vs  frame.to_excel(tmp, engine="xlsxwriter",
  index=False)
Time: best of `--repeat` runs (time.perf_counter). Memory: the subprocess's peak resident set
during the writes minus its resident set just before them: Linux's VmHWM from /proc/self/status,
reset to the current size by writing 5 to /proc/self/clear_refs once the frame is loaded (so
the load's own peak hides nothing); it counts C allocations (zlib, buffers) too. Where that
reset is not allowed, getrusage's ru_maxrss is used instead and the load's peak may mask a
smaller write peak (the output says which). tracemalloc is not used: it sees only Python's
allocator, and it slows xlsxwriter's pure-Python cell loop several-fold, so it could not share
a run with the timing. A fresh process per measurement keeps one writer's peak from hiding
another's.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from recruit.core import norms  # noqa: E402
from recruit.core.bank import load_bank  # noqa: E402
from recruit.services import exports, results  # noqa: E402

SCALES = ["plaisir", "noblesse", "ecoute", "au_dela", "naturel"]
WEIGHTS = np.array([0.3, 0.2, 0.2, 0.15, 0.15])
TASKS = ("load", "csv_ours", "csv_bare", "xlsx_ours", "xlsx_bare")


def make_frame(rows: int, seed: int = 7) -> pd.DataFrame:
    """What export_frame returns for `rows` candidates on the campaign norm."""
    rng = np.random.default_rng(seed)
    pools = max(rows // 1000, 1)
    pool = np.sort(rng.integers(0, pools, rows))
    ids = np.arange(1, rows + 1)
    names = pd.Series([f"Camille Martin-{i}" for i in ids], dtype="str")
    names[rng.random(rows) < 0.01] = '=HYPERLINK("http://x","y")'
    external = pd.Series([f"ATS-{i:07d}" for i in ids], dtype="str")
    external[rng.random(rows) < 0.4] = np.nan
    frame = pd.DataFrame(
        {
            "invitation_id": ids,
            "external_id": external,
            "candidate_name": names,
            "candidate_email": pd.Series([f"c{i}@example.org" for i in ids], dtype="str"),
            "campaign_id": pool + 1,
            "campaign": pd.Series([f"Conseiller clientèle {p}" for p in pool], dtype="str"),
            "site": pd.Series([f"Agence {p % 40}" for p in pool], dtype="str"),
            "language": pd.Series(np.where(pool % 3 == 0, "en", "fr"), dtype="str"),
            "form_id": pd.Series(["service-orientation"] * rows, dtype="str"),
            "form_version": pd.Series(["3f1c9a0b7d2e4c51"] * rows, dtype="str"),
            "scoring_method": pd.Series(["pomp-v1"] * rows, dtype="str"),
            "completed_at": (
                np.datetime64("2026-01-01T08:00:00", "us")
                + rng.integers(0, 365 * 86_400, rows).astype("timedelta64[s]")
            ).astype("datetime64[us]"),
        }
    )
    level = rng.normal(60, 8, pools)[pool]
    raw = np.clip(level[:, None] + rng.normal(0, 12, (rows, len(SCALES))), 0, 100)
    raw[rng.random(raw.shape) < 0.01] = np.nan
    for j, scale in enumerate(SCALES):
        frame[scale] = raw[:, j]
    frame["composite"] = np.nansum(raw * WEIGHTS, axis=1) / np.sum(
        np.where(np.isnan(raw), 0, WEIGHTS), axis=1
    )
    frame["norm_pool"] = pd.Series([f"campaign:{p + 1}" for p in pool], dtype="str")
    scale_ids = ["composite", *SCALES]
    normalized = norms.normalize(frame, pool="norm_pool", scales=scale_ids)
    frame = pd.concat([frame, normalized], axis=1)
    frame["norm_kind"] = pd.Series(["campaign"] * rows, dtype="str")
    frame["norm_method"] = pd.Series(["standard"] * rows, dtype="str")
    frame = exports.round_scores(frame, scale_ids)
    return frame[exports.export_columns(scale_ids)]


def make_context(frame: pd.DataFrame) -> exports.ExportContext:
    """A context like export_frame's: the real bank's scales, the fitted norm table, items."""
    rng = np.random.default_rng(3)
    bank = load_bank(ROOT / "questions")
    scales = [
        (f.form, f.language, s.id, s.label, s.short, s.description, s.weight)
        for f in bank
        for s in f.scales
    ]
    scale_ids = ["composite", *SCALES]
    table = norms.fit_norms(frame, pool="norm_pool", scales=scale_ids).rename(
        columns={"norm_pool": "pool"}
    )
    item_scores = pd.DataFrame(
        rng.random((1000, 30)).round(2), columns=[f"i{i:02d}" for i in range(30)]
    )
    stats = norms.item_statistics(item_scores).reset_index()
    stats = stats.assign(form_id="service-orientation", language="fr", scale="plaisir")
    stats = stats.assign(format="most_least")[exports.ITEM_COLUMNS]
    fit = norms.reliability(item_scores)
    reliability = pd.DataFrame(
        [
            ("service-orientation", "fr", "3f1c9a0b7d2e4c51")
            + (fit.alpha, fit.ci_low, fit.ci_high, fit.n, fit.k)
        ],
        columns=exports.RELIABILITY_COLUMNS,
    )
    versions = frame.groupby(["form_id", "language", "form_version"]).size().rename("n")
    return exports.ExportContext(
        organisation="Benchmark SA",
        filters=exports.ExportFilters(),
        exported_at=datetime(2026, 11, 1, 12, 0),
        norm=results.NormInfo("campaign", "standard"),
        norm_table=table[["pool", *norms.TABLE_COLUMNS]],
        scales=pd.DataFrame(
            scales,
            columns=["form_id", "language", "scale", "label", "short", "description", "weight"],
        ),
        campaigns=frame[["campaign_id", "campaign", "site", "form_id", "language"]]
        .drop_duplicates()
        .reset_index(drop=True),
        form_versions=versions.reset_index(),
        scoring_methods=("pomp-v1",),
        scale_ids=tuple(scale_ids),
        rows=len(frame),
        item_statistics=stats,
        reliability=reliability,
    )


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise KeyError(field)


def reset_peak() -> tuple[float, str]:
    """Start a fresh peak from here; returns (the resident set now in MB, the method used)."""
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_mb("VmRSS"), "VmHWM"
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "ru_maxrss"


def peak_mb(method: str) -> float:
    if method == "VmHWM":
        return _status_mb("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def run_task(task: str, frame: pd.DataFrame, context: exports.ExportContext, out: Path) -> int:
    """One write; returns the size of what it produced, in bytes."""
    if task == "csv_ours":
        return len(b"".join(exports.csv_chunks(frame)))
    if task == "csv_bare":
        return len(frame.to_csv(index=False).encode("utf-8"))
    if task == "xlsx_ours":
        exports.write_xlsx(frame, context, out)
    elif task == "xlsx_bare":
        frame.to_excel(out, engine="xlsxwriter", index=False)
    return out.stat().st_size if task != "load" else 0


def child(task: str, pickled: Path, repeat: int) -> None:
    frame, context = pd.read_pickle(pickled)
    before, method = reset_peak()
    times, size = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat if task != "load" else 1):
            start = time.perf_counter()
            size = run_task(task, frame, context, Path(tmp) / "out.xlsx")
            times.append(time.perf_counter() - start)
    after = peak_mb(method)
    print(
        json.dumps(
            {"seconds": min(times), "before": before, "after": after, "size": size, "how": method}
        )
    )


def measure(task: str, pickled: Path, repeat: int) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            task,
            "--pickle",
            str(pickled),
            "--repeat",
            str(repeat),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", choices=TASKS, help=argparse.SUPPRESS)
    parser.add_argument("--pickle", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.pickle, args.repeat)
        return

    import xlsxwriter

    frame = make_frame(args.rows)
    context = make_context(frame)
    megabytes = frame.memory_usage(deep=True).sum() / 2**20
    print(
        f"pandas {pd.__version__}, numpy {np.__version__}, xlsxwriter {xlsxwriter.__version__}; "
        f"{len(frame):,} rows x {frame.shape[1]} columns ({megabytes:.0f} MB in memory); "
        f"best of {args.repeat} run(s), one subprocess per measurement"
    )
    with tempfile.TemporaryDirectory() as tmp:
        pickled = Path(tmp) / "frame.pkl"
        pd.to_pickle((frame, context), pickled)
        figures = {task: measure(task, pickled, args.repeat) for task in TASKS}
    loaded = figures["load"]
    print(
        f"resident set once the frame is loaded: {loaded['before']:.0f} MB (subtracted below); "
        f"peak measured with {loaded['how']}"
    )
    print(f"{'write':<10} {'seconds':>8} {'extra peak MB':>14} {'output MB':>10}")
    for task in TASKS[1:]:
        f = figures[task]
        extra = f["after"] - f["before"]
        print(f"{task:<10} {f['seconds']:>8.2f} {extra:>14.0f} {f['size'] / 2**20:>10.1f}")
    for kind in ("csv", "xlsx"):
        ours, bare = figures[f"{kind}_ours"], figures[f"{kind}_bare"]
        time_ratio = ours["seconds"] / bare["seconds"]
        ours_mb, bare_mb = ours["after"] - ours["before"], bare["after"] - bare["before"]
        memory = f"{ours_mb / bare_mb:.2f}" if bare_mb > 0 else "n/a"
        verdict = "within" if time_ratio <= 1.5 else "OVER"
        print(
            f"{kind}: ours/bare time {time_ratio:.2f} ({verdict} the 1.5x target), "
            f"extra peak memory {memory}"
        )


if __name__ == "__main__":
    main()
