"""Benchmark: the candidate's page save through the whole stack against a bare one-row insert.

    apt-get install -y wrk   # the load generator (C, with a Lua script)
    .venv/bin/python tests/benchmarks/bench_answers.py --backend sqlite
    .venv/bin/python tests/benchmarks/bench_answers.py --backend postgresql

Two gunicorn servers with the same settings (2 workers, `--worker-class sync` by default, or
gthread with `--worker-class gthread --threads 4`) on 127.0.0.1, each on its own fresh database
of the same kind (SQLite files in WAL mode in one temporary folder, or two databases of one
throwaway PostgreSQL cluster with `--backend postgresql`):
- ours: `gunicorn wsgi:app` and POST /t/<token>/p/1 with a complete, valid page: rate limits,
  session and CSRF check, token lookup with the campaign (SELECT ... FOR UPDATE OF invitations
  on PostgreSQL), stored answers and progress, WTForms validation of the page's 4 items,
  `save_page` (one INSERT ... ON CONFLICT DO UPDATE for the answers, one for the page time), one
  commit, the request log line and the security headers, 303;
- bare: `gunicorn bare_wsgi:app` (tests/benchmarks/bare_wsgi.py), a Flask route that inserts one
  row with the SQLAlchemy ORM in one transaction and answers 303, posted the same bodies.
Both are driven by the same wrk command (`--connections` connections, `--wrk-threads` threads)
for `--seconds`, after a `--warmup`, alternating bare and ours for `--rounds` rounds; it prints
each round, then for each side the median req/s and latency p50/p99 over rounds, and the ratio
ours/bare (target >= 0.5). Any response other than 303 or any socket error fails the run, and
the work is checked in the databases afterwards (page saves counted by a trigger the benchmark
adds, rows inserted).

Which save is measured: a page can be saved as new only once per invitation, and each session
has its own CSRF token, so an insert-only run would need tens of thousands of invitations, each
consented and opened beforehand, and the database would grow during the run. Instead
`--invitations` candidates (200) each consent and save page 1 once during the setup (through
HTTP, with their own session cookie, CSRF token and signed page stamp), and wrk then re-posts
page 1 for them in turn, alternating two answer sets that differ on every item: every measured
request is a real save of a whole page that changes every answer (the upserts update the
page's answers and its page time, in one transaction), with a different invitation on each
connection at any moment (no row lock is shared between concurrent requests). This is the same
route, code and statements as the first save, where the upserts insert.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import bare_wsgi  # noqa: E402
import requests  # noqa: E402

from tests.load import harness  # noqa: E402

WRK_SCRIPT = r"""
-- Cycles through the requests of the file given after "--": one per line, "path TAB cookie TAB
-- body"; counts 303 answers and the others.
local lines = {}
local counter = 0
ok, other = 0, 0

init = function(args)
  for line in io.lines(args[1]) do
    local path, cookie, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
    if cookie ~= "" then headers["Cookie"] = cookie end
    table.insert(lines, wrk.format("POST", path, headers, body))
  end
end

request = function()
  counter = counter % #lines + 1
  return lines[counter]
end

response = function(status, headers, body)
  if status == 303 then ok = ok + 1 else other = other + 1 end
end

local threads = {}
setup = function(thread) table.insert(threads, thread) end

done = function(summary, latency, requests)
  local good, bad = 0, 0
  for _, thread in ipairs(threads) do
    good = good + thread:get("ok")
    bad = bad + thread:get("other")
  end
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d\n", summary.duration, summary.requests,
    good, bad, e.connect + e.read + e.write + e.timeout, latency:percentile(50),
    latency:percentile(99)))
end
"""


def differing(items, first_payloads, rng):
    """Another complete answer set to the page whose every item differs from the first one."""
    for _ in range(1000):
        data, payloads = harness.random_answers(items, rng)
        if all(payloads[i] != first_payloads[i] for i in payloads):
            return data, payloads
    raise RuntimeError("no differing answer set found")


def prepare_sessions(base_url: str, tokens: list[str], seed: int) -> list[str]:
    """Consent and save page 1 once for each invitation; return wrk lines re-posting it."""
    rng = random.Random(seed)
    first, second = [], []
    for token in tokens:
        session = requests.Session()
        welcome = session.get(f"{base_url}/t/{token}", timeout=30)
        csrf = harness.hidden_value(welcome.text, "csrf_token")
        consent = session.post(
            f"{base_url}/t/{token}/consent",
            data={"csrf_token": csrf, "agree": "y"},
            allow_redirects=False,
            timeout=30,
        )
        assert consent.status_code == 303, consent.status_code
        page = session.get(f"{base_url}/t/{token}/p/1", timeout=30).text
        items = harness.page_items(page)
        fields = {
            "csrf_token": harness.hidden_value(page, "csrf_token"),
            "shown": harness.hidden_value(page, "shown"),
        }
        data_a, payloads_a = harness.random_answers(items, rng)
        data_b, _ = differing(items, payloads_a, rng)
        saved = session.post(
            f"{base_url}/t/{token}/p/1", data={**fields, **data_a}, allow_redirects=False
        )
        assert saved.status_code == 303, saved.status_code
        cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
        path = f"/t/{token}/p/1"
        second.append(f"{path}\t{cookie}\t{urlencode({**fields, **data_b})}")
        first.append(f"{path}\t{cookie}\t{urlencode({**fields, **data_a})}")
        session.close()
    return second + first  # each invitation gets B, then A, then B...: every save changes


def wrk(url: str, script: Path, lines: Path, seconds: float, connections: int, threads: int):
    args = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s"]
    args += ["--timeout", "30s", "-s", str(script), url, "--", str(lines)]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    match = re.search(r"^RESULT (.*)$", done.stdout, re.M)
    if not match:
        raise RuntimeError(f"wrk gave no result:\n{done.stdout}\n{done.stderr}")
    duration_us, total, ok, other, socket_errors, p50_us, p99_us = map(int, match.group(1).split())
    return {
        "rps": total / (duration_us / 1e6),
        "requests": total,
        "ok": ok,
        "other": other,
        "socket_errors": socket_errors,
        "p50": p50_us / 1000,
        "p99": p99_us / 1000,
    }


# A page view is timed once (a replayed signed stamp adds no visit), and wrk replays the same
# pages: the saves are counted by a trigger the benchmark adds to page_times, which every save
# upserts once. It inserts a row per save (no shared counter row that concurrent saves would
# queue on); that extra insert is charged to our side.
SAVE_COUNTER = {
    "sqlite": [
        "CREATE TABLE IF NOT EXISTS bench_saves (id INTEGER PRIMARY KEY)",
        "CREATE TRIGGER IF NOT EXISTS bench_count AFTER UPDATE ON page_times"
        " BEGIN INSERT INTO bench_saves (id) VALUES (NULL); END",
    ],
    "postgresql": [
        "CREATE TABLE IF NOT EXISTS bench_saves (id bigserial PRIMARY KEY)",
        "CREATE OR REPLACE FUNCTION bench_count() RETURNS trigger AS $$"
        " BEGIN INSERT INTO bench_saves DEFAULT VALUES; RETURN NULL; END $$ LANGUAGE plpgsql",
        "CREATE OR REPLACE TRIGGER bench_count AFTER UPDATE ON page_times"
        " FOR EACH ROW EXECUTE FUNCTION bench_count()",
    ],
}


def saves(url: str) -> int:
    """Page saves done so far (see SAVE_COUNTER); installs the counter on first use."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        for statement in SAVE_COUNTER[conn.dialect.name]:
            conn.execute(sa.text(statement))
        total = conn.execute(sa.text("SELECT count(*) FROM bench_saves")).scalar()
    engine.dispose()
    return int(total)


def rows(url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        total = conn.execute(sa.text("SELECT count(*) FROM bench_rows")).scalar()
    engine.dispose()
    return int(total)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=10.0, help="each measurement")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync")
    parser.add_argument("--threads", type=int, default=4, help="per gthread worker")
    parser.add_argument("--invitations", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for our server, e.g. RATELIMIT_ENABLED=false (diagnosis)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    if args.invitations < args.connections:
        sys.exit("--invitations must be at least --connections (one invitation per connection)")
    threads = args.threads if args.worker_class == "gthread" else 1

    workdir = Path(tempfile.mkdtemp(prefix="recruit-bench-"))
    try:
        with contextlib.ExitStack() as stack:
            if args.backend == "sqlite":
                ours_url = f"sqlite:///{workdir / 'recruit.sqlite3'}"
                bare_url = f"sqlite:///{workdir / 'bare.sqlite3'}"
            else:
                cluster = stack.enter_context(harness.PostgresCluster()).url
                ours_url = harness.create_pg_database(cluster, "recruit_bench")
                bare_url = harness.create_pg_database(cluster, "bare_bench")
            settings = dict(workers=args.workers, threads=threads, worker_class=args.worker_class)
            instance = workdir / "instance"
            instance.mkdir()
            (workdir / "ours").mkdir()
            (workdir / "bare").mkdir()
            ours = harness.Gunicorn(workdir / "ours", {}, **settings)
            ours.env = harness.server_env(ours_url, instance, ours.base_url)
            extra = dict(item.split("=", 1) for item in args.env)
            bare = harness.Gunicorn(
                workdir / "bare", {}, app="bare_wsgi:app", cwd=HERE, ready_path="/ready", **settings
            )
            bare.env = {**ours.env, "DATABASE_URL": bare_url}
            ours.env.update(extra)
            harness.migrate(ours_url, ours.env)
            options = harness.Options(candidates=args.invitations, recruiters=0, hr=0)
            seeded = harness.seed(ours_url, instance, options)
            bare_wsgi.create_table(bare_url)
            stack.callback(ours.stop)
            stack.callback(bare.stop)
            ours.start()
            bare.start()

            lines = prepare_sessions(ours.base_url, seeded.tokens, args.seed)
            ours_lines, bare_lines = workdir / "ours.txt", workdir / "bare.txt"
            ours_lines.write_text("\n".join(lines) + "\n")
            bodies = [line.split("\t", 2)[2] for line in lines]
            bare_lines.write_text("".join(f"/insert\t\t{body}\n" for body in bodies))
            script = workdir / "post.lua"
            script.write_text(WRK_SCRIPT)

            print(
                f"{args.backend}; gunicorn {args.workers} {args.worker_class} workers"
                + (f" x {threads} threads" if args.worker_class == "gthread" else "")
                + f"; wrk -t{args.wrk_threads} -c{args.connections} -d{args.seconds:g}s"
                f" (after {args.warmup:g} s warm-up), {args.rounds} rounds; "
                f"{args.invitations} invitations re-posting page 1 (4 items)"
                + (f"; our server with {' '.join(args.env)}" if args.env else "")
            )
            print(
                f"{'round':>5} {'side':<5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-303':>8}"
            )
            results = {"bare": [], "ours": []}
            sides = {"bare": (bare, bare_lines), "ours": (ours, ours_lines)}
            counted = {"ours": saves(ours_url), "bare": rows(bare_url)}
            answered = {"ours": 0, "bare": 0}
            failed = False
            for round_number in range(1, args.rounds + 1):
                for side in ("bare", "ours"):
                    server, requests_file = sides[side]
                    conn = (args.connections, args.wrk_threads)
                    if args.warmup > 0:
                        warm = wrk(server.base_url, script, requests_file, args.warmup, *conn)
                        answered[side] += warm["ok"]
                    result = wrk(server.base_url, script, requests_file, args.seconds, *conn)
                    answered[side] += result["ok"]
                    results[side].append(result)
                    bad = result["other"] + result["socket_errors"]
                    if args.warmup > 0:
                        bad += warm["other"] + warm["socket_errors"]
                    failed |= bad > 0
                    print(
                        f"{round_number:>5} {side:<5} {result['rps']:>8.0f} {result['p50']:>8.1f}"
                        f" {result['p99']:>8.1f} {bad:>8}"
                    )
                    time.sleep(0.5)
            done = {
                "ours": saves(ours_url) - counted["ours"],
                "bare": rows(bare_url) - counted["bare"],
            }
            summary = {}
            for side in ("bare", "ours"):
                runs = results[side]
                summary[side] = {
                    key: statistics.median(r[key] for r in runs) for key in ("rps", "p50", "p99")
                }
            ratio = summary["ours"]["rps"] / summary["bare"]["rps"]
            print(f"median over {args.rounds} rounds:")
            for side, label in (("bare", "bare insert"), ("ours", "page save")):
                s = summary[side]
                print(
                    f"  {label:<12} {s['rps']:>7.0f} req/s  p50 {s['p50']:>6.1f} ms"
                    f"  p99 {s['p99']:>6.1f} ms"
                )
            print(f"  ratio ours/bare {ratio:.2f} (target >= 0.50)")
            print(
                f"checked in the databases: {done['ours']} page saves recorded for "
                f"{answered['ours']} 303 answers; {done['bare']} rows for {answered['bare']}"
            )
            # wrk stops with requests in flight: those may be done without their answer counted.
            slack = args.connections * 2 * args.rounds
            for side in ("ours", "bare"):
                if not answered[side] <= done[side] <= answered[side] + slack:
                    print(f"{side}: the database does not match the answers")
                    failed = True
            if failed:
                print("FAILED: errors or non-303 answers (see the server logs)")
                for server in (ours, bare):
                    for block in server.tracebacks():
                        print(block)
            return 1 if failed else 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
