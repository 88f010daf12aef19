"""Benchmark: every page that reads many results, timed on organisations of N completed tests.

    .venv/bin/python tests/benchmarks/bench_scale.py --build N --database-url URL --password PW
    .venv/bin/python tests/benchmarks/bench_scale.py [--sizes 5000,50000]
        [--databases sqlite,postgresql] [--repeat 5] [--postgres-url URL] [--profile PAGES]

With ``--build``: migrate the database at URL, build the organisation "Bench" in it (see
tests/benchmarks/scale_data.py: N completed tests of the real bank over 100 uneven campaigns,
started and expired links too, bulk-inserted), with the accounts hr@bench.example (hr) and
recruteur@bench.example (recruiter), both with password PW; the last line of stdout is the
organisation's API key. Nothing is timed.

Without it: for each database and each size, build in a fresh database (a SQLite file in a
temporary folder; a database of a throwaway PostgreSQL cluster on 127.0.0.1, or of the server at
``--postgres-url``) through the ``--build`` command line, then time each page in this process
with Flask's test client, logged in through the real login form (recruiter pages as the
recruiter, the dashboard as hr, the API with a Bearer key):

- ``hr``: the HR dashboard /hr/ over every campaign;
- ``campaign``: the biggest campaign's page (it holds ~40 % of the tests);
- ``shortlist_p1`` and ``shortlist_p200``: its shortlist, page 1 and page 200 (past the last
  page: the last one);
- ``pooled``: the shortlist of the two biggest campaigns, on the pooled norm;
- ``candidate``: one completed candidate of the biggest campaign;
- ``compare``: three of its candidates side by side;
- ``api_results``: /api/v1/campaigns/<biggest>/results?per_page=500.

``--existing N=URL`` (repeatable) times the organisation that ``--build N`` made earlier in the
database at URL instead of building one (a million tests take about 15 minutes to build); the
timing process logs in with ``--password`` and makes its own API key.

Time: the median of ``--repeat`` requests after one warm-up request (the warm-up is shown apart:
it builds the per-campaign item sums the dashboard keeps). Memory, per request: the growth of
the resident set during the request (Linux VmHWM, reset before each request through
/proc/self/clear_refs; getrusage's maxrss growth where that is not allowed), and, from one more
request run under tracemalloc (so that its slowdown stays out of the timings), the peak of the
Python heap during it. Each database gets a table: rows = pages, columns = each N, the growth
ratios between successive sizes, the memory figures, and a verdict against the issue's targets:
at 50,000 every recruiter page and the API page < 300 ms, the dashboard < 1 s; at 1,000,000
the dashboard < 3 s, the shortlist pages < 1 s, no request above 500 MB; growth 5k -> 50k <=
3x and 50k -> 1M <= 10x. Pages with no target at the sizes run say n/a.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import logging
import os
import pstats
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import scale_data  # noqa: E402

PG_BIN = Path(os.environ.get("RECRUIT_PG_BIN", "/usr/lib/postgresql/15/bin"))
BENCH_PASSWORD = "bench: a long passphrase nobody guesses"
BENCH_SECRET = "bench-secret-key-of-the-scale-benchmark"
PAGES = {
    "hr": "HR dashboard /hr/",
    "campaign": "campaign page (biggest)",
    "shortlist_p1": "shortlist, page 1",
    "shortlist_p200": "shortlist, page 200",
    "pooled": "pooled shortlist of 2",
    "candidate": "one candidate",
    "compare": "comparison of 3",
    "api_results": "API results, 500 rows",
}
RECRUITER_PAGES = ("campaign", "shortlist_p1", "shortlist_p200", "pooled", "candidate", "compare")
SHORTLIST_PAGES = ("shortlist_p1", "shortlist_p200", "pooled")
# (size, page) -> the most milliseconds allowed; growth between sizes: the most allowed ratio.
TIME_LIMITS = {
    50_000: {**dict.fromkeys(RECRUITER_PAGES, 300), "hr": 1000, "api_results": 300},
    1_000_000: {"hr": 3000, **dict.fromkeys(SHORTLIST_PAGES, 1000)},
}
MEMORY_LIMITS = {1_000_000: 500}  # MB, every page
GROWTH_LIMITS = {(5_000, 50_000): 3.0, (50_000, 1_000_000): 10.0}
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


# --- Databases ------------------------------------------------------------------------------


def _as_postgres(args: list[str]) -> list[str]:
    """initdb and pg_ctl refuse to run as root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextlib.contextmanager
def throwaway_cluster():
    """A PostgreSQL cluster on 127.0.0.1 for this run; yields its server URL (no database)."""
    workdir = Path(tempfile.mkdtemp(prefix="recruit-bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    data = workdir / "data"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
    initdb += ["--no-sync", "-E", "UTF8", "--locale=C.UTF-8"]
    subprocess.run(_as_postgres(initdb), check=True, capture_output=True)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {workdir} -c fsync=off"
    start = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(workdir / "log"), "-w"]
    subprocess.run(_as_postgres([*start, "-o", options, "start"]), check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        stop = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]
        subprocess.run(_as_postgres(stop), capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


def fresh_pg_database(server_url: str, name: str) -> str:
    """Drop and create database ``name`` on the server; return its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    admin = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


@contextlib.contextmanager
def databases_of(kind: str, postgres_url: str | None):
    """Yields a function size -> the URL of a fresh, empty database of that kind."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="recruit-bench-") as tmp:
            yield lambda n: f"sqlite:///{tmp}/bench-{n}.sqlite3"
    elif postgres_url:
        yield lambda n: fresh_pg_database(postgres_url, f"recruit_bench_{n}")
    else:
        if not (PG_BIN / "initdb").exists():
            raise SystemExit(f"PostgreSQL server binaries not found in {PG_BIN}")
        with throwaway_cluster() as server:
            yield lambda n: fresh_pg_database(server, f"recruit_bench_{n}")


def _redacted(url: str) -> str:
    return re.sub(r"//[^@/]*@", "//…@", url)


def existing_databases(entries: list[str] | None) -> dict[tuple[str, int], str]:
    """--existing N=URL entries -> {(database kind, N): URL}."""
    found = {}
    for entry in entries or []:
        size, _, url = entry.partition("=")
        if not url or not size.replace("_", "").isdigit():
            raise SystemExit(f"--existing wants N=URL, not {entry!r}")
        kind = "postgresql" if url.startswith("postgresql") else "sqlite"
        found[(kind, int(size.replace("_", "")))] = url
    return found


def timing_key(app) -> str:
    """A new API key of the organisation "Bench" of a database built earlier."""
    import sqlalchemy as sa

    from recruit.data.models import Organisation
    from recruit.extensions import db
    from recruit.services import apikeys

    with app.app_context():
        organisation = db.session.scalar(
            sa.select(Organisation).where(Organisation.name == scale_data.ORGANISATION)
        )
        if organisation is None:
            raise SystemExit("no organisation 'Bench' there: build it with --build first")
        _, key = apikeys.create_key(organisation, "Bench timing")
        db.session.commit()
        db.session.remove()
    return key


# --- Building -------------------------------------------------------------------------------


def build_command(n: int, url: str, password: str) -> None:
    """--build: migrate, build, print what was written and, last, the API key."""
    app = scale_data.create_app_for(url)
    scale_data.migrate(app)
    built = scale_data.build(app, n, password)
    rows = ", ".join(f"{table} {count:,}" for table, count in built.counts.items())
    print(f"built organisation {scale_data.ORGANISATION!r} in {built.seconds:.1f} s: {rows}")
    print(built.api_key)


def build_in_subprocess(n: int, url: str, env: dict) -> tuple[str, float]:
    """Run the --build command line; return (API key, wall seconds)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--build", str(n), "--database-url", url]
        + ["--password", BENCH_PASSWORD],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    seconds = time.perf_counter() - start
    lines = done.stdout.strip().splitlines()
    for line in lines[:-1]:
        print(f"  {line}", flush=True)
    return lines[-1].strip(), seconds


# --- Timing ---------------------------------------------------------------------------------


def _status_mb(name: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(name)


def reset_peak() -> tuple[float, str]:
    """Start a fresh resident-set peak; return (the resident set now, MB, how it is measured)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_mb("VmRSS"), "VmHWM"
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "maxrss"


def peak_mb(how: str) -> float:
    if how == "VmHWM":
        return _status_mb("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Figures:
    """One page at one size: times in ms, memory in MB."""

    median: float
    first: float
    times: list[float]
    rss: float
    heap: float
    how: str


@dataclass
class Request:
    client: object
    url: str
    headers: dict = field(default_factory=dict)
    check: object = None  # a function of the response that raises if it is wrong

    def send(self):
        response = self.client.get(self.url, headers=self.headers)
        if response.status_code != 200:
            raise RuntimeError(f"GET {self.url}: {response.status_code}\n{response.text[:800]}")
        if self.check is not None:
            self.check(response)
        return response


def measure(request: Request, repeat: int) -> Figures:
    gc.collect()
    start = time.perf_counter()
    request.send()
    first = (time.perf_counter() - start) * 1000
    times, rss, how = [], 0.0, "VmHWM"
    for _ in range(repeat):
        gc.collect()
        before, how = reset_peak()
        start = time.perf_counter()
        request.send()
        times.append((time.perf_counter() - start) * 1000)
        rss = max(rss, peak_mb(how) - before)
    gc.collect()
    tracemalloc.start()
    try:
        request.send()
        heap = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    return Figures(statistics.median(times), first, times, rss, heap, how)


def logged_in(app, email: str, password: str = BENCH_PASSWORD):
    """A test client logged in through the login form (its CSRF token included)."""
    client = app.test_client()
    page = client.get("/login")
    token = CSRF.search(page.text)
    data = {"email": email, "password": password}
    if token:
        data["csrf_token"] = token.group(1)
    response = client.post("/login", data=data)
    if response.status_code != 302:
        raise RuntimeError(f"login of {email} failed: {response.status_code}")
    return client


def targets(app) -> dict:
    """The biggest campaigns and some of the biggest one's completed candidates."""
    import sqlalchemy as sa

    from recruit.data.models import Campaign, Invitation, Organisation, Result
    from recruit.extensions import db

    with app.app_context():
        organisation_id = db.session.scalar(
            sa.select(Organisation.id).where(Organisation.name == scale_data.ORGANISATION)
        )
        sizes = db.session.execute(
            sa.select(Result.campaign_id, sa.func.count())
            .join(Campaign, Campaign.id == Result.campaign_id)
            .where(Campaign.organisation_id == organisation_id)
            .group_by(Result.campaign_id)
            .order_by(sa.func.count().desc(), Result.campaign_id)
            .limit(2)
        ).all()
        biggest, second = sizes[0][0], sizes[1][0]
        completed = list(
            db.session.scalars(
                sa.select(Invitation.id)
                .where(Invitation.campaign_id == biggest, Invitation.status == "completed")
                .order_by(Invitation.id)
            )
        )
        db.session.remove()
    middle = len(completed) // 2
    return {
        "biggest": biggest,
        "biggest_n": sizes[0][1],
        "second": second,
        "candidate": completed[middle],
        "compare": completed[middle : middle + 3],
    }


def _api_rows(expected: int):
    def check(response):
        body = response.get_json()
        if len(body["items"]) != expected:
            raise RuntimeError(f"API page has {len(body['items'])} rows, not {expected}")

    return check


def requests_for(
    app, api_key: str, password: str = BENCH_PASSWORD
) -> tuple[dict[str, Request], dict]:
    from flask import url_for

    found = targets(app)
    hr = logged_in(app, scale_data.HR_EMAIL, password)
    recruiter = logged_in(app, scale_data.RECRUITER_EMAIL, password)
    biggest = found["biggest"]
    with app.test_request_context():
        urls = {
            "hr": url_for("hr.dashboard"),
            "campaign": url_for("recruiter.campaign", campaign_id=biggest),
            "shortlist_p1": url_for("recruiter.campaign_shortlist", campaign_id=biggest, page=1),
            "shortlist_p200": url_for(
                "recruiter.campaign_shortlist", campaign_id=biggest, page=200
            ),
            "pooled": url_for(
                "recruiter.cross_shortlist", campaign=[biggest, found["second"]], norm="pooled"
            ),
            "candidate": url_for("recruiter.candidate", invitation_id=found["candidate"]),
            "compare": url_for("recruiter.compare", id=found["compare"]),
            "api_results": url_for(
                "api.campaign_results", campaign_id=biggest, page=1, per_page=500
            ),
        }
    made = {page: Request(recruiter, url) for page, url in urls.items()}
    made["hr"] = Request(hr, urls["hr"])
    made["api_results"] = Request(
        app.test_client(),
        urls["api_results"],
        {"Authorization": f"Bearer {api_key}"},
        _api_rows(min(500, found["biggest_n"])),
    )
    return made, found


def profile(request: Request, lines: int = 30) -> str:
    """cProfile of one request, by cumulative time (the app's own functions and the slowest)."""
    profiler = cProfile.Profile()
    profiler.enable()
    request.send()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(lines)
    return out.getvalue()


# --- The table ------------------------------------------------------------------------------


def short(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def verdict(page: str, figures: dict[int, Figures]) -> tuple[str, list[str]]:
    """PASS, FAIL or n/a for one page over the sizes run, and what failed."""
    checked, failed = 0, []
    for size, limits in TIME_LIMITS.items():
        if size in figures and page in limits:
            checked += 1
            if figures[size].median >= limits[page]:
                failed.append(f"{short(size)}: {figures[size].median:.0f} ms >= {limits[page]}")
    for size, limit in MEMORY_LIMITS.items():
        if size in figures:
            checked += 1
            peak = max(figures[size].rss, figures[size].heap)
            if peak > limit:
                failed.append(f"{short(size)}: {peak:.0f} MB > {limit}")
    for (low, high), limit in GROWTH_LIMITS.items():
        if low in figures and high in figures:
            checked += 1
            ratio = figures[high].median / figures[low].median
            if ratio > limit:
                failed.append(f"{short(low)}->{short(high)}: {ratio:.1f}x > {limit:g}x")
    if not checked:
        return "n/a", failed
    return ("FAIL" if failed else "PASS"), failed


def table(database: str, sizes: list[int], runs: dict[int, dict[str, Figures]], repeat: int):
    """Print one database's table."""
    pairs = list(zip(sizes, sizes[1:], strict=False))
    how = next(iter(next(iter(runs.values())).values())).how
    header = [f"{'page':<24}"]
    header += [f"{'ms@' + short(n):>10}" for n in sizes]
    header += [f"{short(a) + '->' + short(b):>10}" for a, b in pairs]
    header += [f"{'first@' + short(n):>10}" for n in sizes]
    header += [f"{'heapMB@' + short(n):>11}" for n in sizes]
    header += [f"{'rssMB@' + short(n):>10}" for n in sizes]
    header += ["  verdict"]
    print()
    print(
        f"{database}: median of {repeat} after one warm-up (ms); first = the warm-up; heapMB ="
        f" tracemalloc peak of the Python heap during one request; rssMB = growth of the"
        f" resident set during a request ({how}), the largest of the timed ones"
    )
    print("".join(header))
    notes = []
    for page, label in PAGES.items():
        figures = {n: runs[n][page] for n in sizes}
        cells = [f"{label:<24}"]
        cells += [f"{figures[n].median:>10.1f}" for n in sizes]
        cells += [f"{figures[b].median / figures[a].median:>9.1f}x" for a, b in pairs]
        cells += [f"{figures[n].first:>10.1f}" for n in sizes]
        cells += [f"{figures[n].heap:>11.1f}" for n in sizes]
        cells += [f"{figures[n].rss:>10.1f}" for n in sizes]
        result, failed = verdict(page, figures)
        cells.append(f"  {result}")
        print("".join(cells))
        notes += [f"  {label}: {why}" for why in failed]
    if notes:
        print("failed targets:")
        print("\n".join(notes))


# --- Main -----------------------------------------------------------------------------------


def run(args) -> None:
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    profiled = [p.strip() for p in (args.profile or "").split(",") if p.strip()]
    unknown = [k for k in kinds if k not in ("sqlite", "postgresql")]
    unknown += [p for p in profiled if p not in PAGES]
    if unknown:
        raise SystemExit(f"unknown database or page: {', '.join(unknown)}")
    instance = tempfile.mkdtemp(prefix="recruit-bench-instance-")
    env = dict(os.environ, SECRET_KEY=BENCH_SECRET, RECRUIT_INSTANCE_PATH=instance)
    os.environ.update(SECRET_KEY=BENCH_SECRET, RECRUIT_INSTANCE_PATH=instance)
    os.environ.pop("DATABASE_URL", None)
    # The request log line is still written (its cost is part of every request), to nowhere.
    quiet = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - open for the run
    logging.getLogger("recruit.request").addHandler(quiet)
    existing = existing_databases(args.existing)
    builds: dict[str, dict[int, float]] = {}
    results: dict[str, dict[int, dict[str, Figures]]] = {}
    try:
        for kind in kinds:
            builds[kind], results[kind] = {}, {}
            mine = sorted(set(sizes) | {n for k, n in existing if k == kind})
            fresh = [n for n in mine if (kind, n) not in existing]
            places = databases_of(kind, args.postgres_url) if fresh else contextlib.nullcontext()
            with places as url_for_size:
                for n in mine:
                    password = BENCH_PASSWORD
                    if (kind, n) in existing:
                        url, password = existing[(kind, n)], args.password or BENCH_PASSWORD
                        print(f"{kind} N={n:,}: built earlier at {_redacted(url)}", flush=True)
                        seconds = None
                    else:
                        url = url_for_size(n)
                        print(f"{kind} N={n:,}: building", flush=True)
                        key, seconds = build_in_subprocess(n, url, env)
                        builds[kind][n] = seconds
                    app = scale_data.create_app_for(
                        url, SECRET_KEY=BENCH_SECRET, RECRUIT_BASE_URL="http://localhost"
                    )
                    if seconds is None:
                        key = timing_key(app)
                    made, found = requests_for(app, key, password)
                    built = "" if seconds is None else f"built in {seconds:.1f} s (command line"
                    built += "" if seconds is None else ", migrations included); "
                    print(
                        f"{kind} N={n:,}: {built}biggest campaign {found['biggest']} with"
                        f" {found['biggest_n']:,} tests; timing",
                        flush=True,
                    )
                    results[kind][n] = {}
                    for page in PAGES:
                        figures = measure(made[page], args.repeat)
                        results[kind][n][page] = figures
                        print(
                            f"  {page:<15} median {figures.median:8.1f} ms"
                            f" (first {figures.first:.1f}), heap {figures.heap:.1f} MB,"
                            f" rss +{figures.rss:.1f} MB",
                            flush=True,
                        )
                    for page in profiled:
                        print(f"\n--- cProfile of {page} at N={n:,} on {kind} ---")
                        print(profile(made[page]))
                    with app.app_context():
                        from recruit.extensions import db

                        db.session.remove()
                        db.engine.dispose()
                    del app, made
    finally:
        shutil.rmtree(instance, ignore_errors=True)
    print()
    for kind in kinds:
        built = ", ".join(f"N={n:,}: {s:.1f} s" for n, s in builds[kind].items())
        print(f"{kind} builds: {built or 'none (built earlier)'}")
    for kind in kinds:
        table(kind, sorted(results[kind]), results[kind], args.repeat)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=int, metavar="N", help="only build N completed tests")
    parser.add_argument("--database-url", help="with --build: the database to build in")
    parser.add_argument("--password", help="with --build: the two accounts' password")
    parser.add_argument("--sizes", default="5000,50000")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres-url", help="a PostgreSQL server to create databases on")
    parser.add_argument("--profile", help="pages to profile with cProfile, comma-separated")
    parser.add_argument(
        "--existing",
        action="append",
        metavar="N=URL",
        help="time the organisation built earlier (--build N) in the database at URL instead "
        "of building it again; --password is its accounts' password (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.build is not None:
        if not args.database_url or not args.password:
            parser.error("--build needs --database-url and --password")
        build_command(args.build, args.database_url, args.password)
    else:
        run(args)


if __name__ == "__main__":
    main()
