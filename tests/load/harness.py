"""The load and crash checks of the candidate flow, against a real gunicorn on loopback.

Shared by `load.py` (the script, any size), `crash.py` and `test_load_small.py` (small size in the
test suite). One run:

1. a fresh database: a SQLite file (WAL, set by the app) in a temporary folder, or a database in a
   throwaway PostgreSQL cluster started on a free loopback port (or in a cluster given by URL);
2. `recruit db upgrade`, then, through the app's own services, an organisation, recruiters, an HR
   user and N invitations to the real bank's form (service-orientation, fr);
3. `gunicorn wsgi:app` (gthread, 2 workers x 4 threads by default) on 127.0.0.1, a free port, in its
   own process group;
4. the load: N candidates (a pool of C threads, one `requests.Session` each) open their link,
   consent, answer every page with random answers read from the page's own fields, go back one
   page halfway (its stored answers must show) and reload the page they are on, review and submit;
   meanwhile R recruiters read shortlists and the campaign page and one HR user downloads CSV
   exports and the dashboard, until every candidate is done;
5. with `crash=True`: once a share of all page saves is acknowledged, SIGKILL the whole gunicorn
   process group, check in the database that everything acknowledged so far is there, restart
   gunicorn on the same port and database; each candidate whose request failed waits for the
   server, opens their link again, must land on their first unanswered page (or the one after it
   when the failed request was a save that committed without its answer arriving) and goes on;
6. the checks, in the database with SQLAlchemy: every acknowledged (303) page save is stored once
   per item with the payload sent, every acknowledged submit is completed with exactly one result
   and a score on every scale; a last CSV export has one row per completed test.

Every loop is bounded by a count and by the run's deadline. Only loopback addresses are used.
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parents[2]
BANK_DIR = ROOT / "questions"
FORM_ID, LANGUAGE = "service-orientation", "fr"
SECRET_KEY = "recruit-load-test-secret-key-0123456789abcdef"
PASSWORD = "load-test-password-42"
ORGANISATION = "Charge et Fils"
PG_BIN = Path(
    os.environ.get("RECRUIT_PG_BIN")
    or max(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        default="/usr/lib/postgresql/15/bin",
    )
)
HOST = "127.0.0.1"

MAX_CANDIDATE_STEPS = 120  # requests one candidate may make (a clean run needs about 24)
MAX_OUTAGES = 5  # connection failures one client waits out in the crash test
REQUEST_TIMEOUT = 60.0


@dataclass
class Options:
    backend: str = "sqlite"  # sqlite | postgresql
    candidates: int = 200
    concurrency: int | None = None  # candidate threads; default: all candidates at once
    recruiters: int = 2
    hr: int = 1
    seconds: float = 300.0  # deadline of the whole load phase
    crash: bool = False
    crash_at: float = 0.4  # share of all page saves acknowledged when the server is killed
    outage: float = 1.0  # seconds between the kill and the restart
    workers: int = 2
    threads: int = 4
    reader_pause: float = 0.05  # seconds between two reads of a recruiter or HR client
    # Seconds a candidate spends reading a page before answering it (drawn uniformly between
    # the two), and over which the candidates' first visits are spread. (0, 0) and 0: every
    # candidate at once, with no reading time - a saturated server (the crash test's load).
    reading: tuple[float, float] = (0.0, 0.0)
    ramp: float = 0.0
    max_reads: int = 5000  # reads per recruiter or HR client
    pg_server: str | None = None  # an existing cluster's base URL (no database name)
    keep: bool = False  # keep the temporary folder (database, server log)
    seed: int = 2026
    log: object = print

    @property
    def pool_size(self) -> int:
        return max(1, min(self.concurrency or self.candidates, self.candidates))


# --- Processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    """initdb and pg_ctl refuse to run as root: run them as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


class PostgresCluster:
    """A throwaway PostgreSQL cluster on a free loopback port, as tests/conftest.py starts one."""

    def __init__(self, bin_dir: Path = PG_BIN):
        self.bin_dir = bin_dir
        self.workdir: Path | None = None
        self.url = ""

    def __enter__(self) -> PostgresCluster:
        if not (self.bin_dir / "initdb").exists():
            raise RuntimeError(f"PostgreSQL server binaries not found in {self.bin_dir}")
        self.workdir = Path(tempfile.mkdtemp(prefix="recruit-load-pg-"))
        data = self.workdir / "data"
        port = free_port()
        initdb = [str(self.bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
        initdb += ["--no-sync", "-E", "UTF8", "--locale=C.UTF-8"]
        options = f"-c listen_addresses={HOST} -p {port} -k {self.workdir} -c fsync=off"
        options += " -c max_connections=200"
        pg_ctl = [str(self.bin_dir / "pg_ctl"), "-D", str(data), "-l", str(self.workdir / "log")]
        try:
            if os.geteuid() == 0:
                shutil.chown(self.workdir, "postgres", "postgres")
            subprocess.run(_as_postgres(initdb), check=True, capture_output=True)
            subprocess.run(
                _as_postgres([*pg_ctl, "-w", "-o", options, "start"]),
                check=True,
                capture_output=True,
            )
        except BaseException:
            self.__exit__()
            raise
        self.url = f"postgresql+psycopg://postgres@{HOST}:{port}"
        return self

    def __exit__(self, *exc) -> None:
        if self.workdir is None:
            return
        data = self.workdir / "data"
        if (data / "postmaster.pid").exists():
            subprocess.run(
                _as_postgres([str(self.bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate"])
                + ["stop"],
                capture_output=True,
            )
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir = None


def create_pg_database(server_url: str, name: str) -> str:
    import psycopg

    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"


def _bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


class Gunicorn:
    """`gunicorn <app>` on loopback in its own process group: a kill takes master and workers."""

    def __init__(
        self,
        workdir: Path,
        env: dict,
        *,
        app="wsgi:app",
        cwd=ROOT,
        workers=2,
        threads=4,
        worker_class: str | None = None,
        ready_path="/login",
    ):
        self.workdir, self.env, self.app, self.cwd = workdir, env, app, cwd
        self.workers, self.threads = workers, threads
        self.worker_class = worker_class or ("gthread" if threads > 1 else "sync")
        self.ready_path = ready_path
        self.port = free_port()
        self.log_path = workdir / "gunicorn.log"
        self.proc: subprocess.Popen | None = None
        self.up = threading.Event()
        self.generation = 0  # incremented at each kill: requests sent before it may fail
        self.starts = 0

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        args = [_bin("gunicorn"), self.app, "--bind", f"{HOST}:{self.port}"]
        args += ["--workers", str(self.workers), "--worker-class", self.worker_class]
        if self.worker_class == "gthread":
            args += ["--threads", str(self.threads)]
        args += ["--timeout", "120", "--graceful-timeout", "5", "--error-logfile", "-"]
        args += ["--log-level", "info", "--backlog", "2048"]
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== start {self.starts + 1}: {' '.join(args)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                args,
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                if requests.get(self.base_url + self.ready_path, timeout=5).status_code == 200:
                    self.up.set()
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the master and its workers at once; return when the group is gone."""
        self.up.clear()
        self.generation += 1
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _group_alive(self.proc.pid):
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop gracefully, then make sure nothing of the process group is left."""
        self.up.clear()
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def tracebacks(self, limit: int = 5) -> list[str]:
        """The server log's distinct error reports: ERROR or CRITICAL records, tracebacks."""
        blocks, current = [], None
        for line in self.log_text().splitlines():
            if line.startswith(("[", "===")):
                current = None
                if "] ERROR" in line or "[ERROR]" in line or "[CRITICAL]" in line:
                    current = [line]
                    blocks.append(current)
            elif line.startswith("Traceback") and current is None:
                current = [line]
                blocks.append(current)
            elif current is not None:
                current.append(line)
        seen, distinct = set(), []
        for block in blocks:
            key = block[-1]
            if key not in seen:
                seen.add(key)
                distinct.append("\n".join(_condensed(block)))
        return distinct[:limit]


def _condensed(block: list[str]) -> list[str]:
    """A log record and its traceback, keeping the app's own frames and the exception lines."""
    kept = [block[0]]
    for index, line in enumerate(block[1:], start=1):
        if line.startswith("  File ") and str(ROOT / "recruit") in line:
            kept.append(line)
            if index + 1 < len(block):
                kept.append(block[index + 1])
        elif line and not line.startswith(" ") and line != kept[-1]:
            kept.append(line)
    return kept


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Zombies count as alive for kill(0): ask /proc whether any member is still running.
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            parts = status.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(parts[2]) == pgid and parts[0] != "Z":
            return True
    return False


# --- The database ------------------------------------------------------------------------------


@contextlib.contextmanager
def _environ(**values):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update({k: v for k, v in values.items() if v is not None})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def server_env(database_url: str, instance: Path, base_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET_KEY,
        RECRUIT_MAIL_WORKER="off",
        RECRUIT_INSTANCE_PATH=str(instance),
        RECRUIT_QUESTIONS_DIR=str(BANK_DIR),
        RECRUIT_BASE_URL=base_url,
        # Every client here has the same address: candidate links are limited per address
        # (recruit/security.py), so the limit is raised, not switched off (its cost is measured).
        # Login keeps its fixed limits (20 a minute per address): each reader logs in once.
        RECRUIT_RATELIMIT_CANDIDATE="1000000 per minute",
        RECRUIT_RATELIMIT_API="1000000 per minute",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    return env


@dataclass
class Seeded:
    campaign_id: int
    tokens: list[str]
    recruiters: list[str]
    hr: list[str]
    pages: int
    items: int
    scales: list[str]


def migrate(database_url: str, env: dict) -> None:
    done = subprocess.run(
        [_bin("recruit"), "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"recruit db upgrade failed:\n{done.stdout}\n{done.stderr}")


def seed(database_url: str, instance: Path, options: Options) -> Seeded:
    """Organisation, users and invitations through the app's own services."""
    from recruit import create_app
    from recruit.auth import services as accounts
    from recruit.data import questions
    from recruit.extensions import db
    from recruit.services import invitations

    with _environ(RECRUIT_INSTANCE_PATH=str(instance), SECRET_KEY=SECRET_KEY):
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": database_url,
                "SECRET_KEY": SECRET_KEY,
                "QUESTIONS_DIR": str(BANK_DIR),
                "MAIL_WORKER": "off",
            }
        )
    with app.app_context():
        organisation = invitations.create_organisation(ORGANISATION)
        form = questions.bank(app).get(FORM_ID, LANGUAGE)
        campaign = invitations.default_campaign(organisation, form)
        recruiters = [f"recruteur{i + 1}@example.org" for i in range(options.recruiters)]
        hr = [f"rh{i + 1}@example.org" for i in range(options.hr)]
        for email in recruiters:
            accounts.create_user(organisation, email, "recruiter", PASSWORD, email.split("@")[0])
        for email in hr:
            accounts.create_user(organisation, email, "hr", PASSWORD, email.split("@")[0])
        tokens = []
        for i in range(options.candidates):
            candidate = invitations.find_or_create_candidate(
                organisation, f"Candidat·e {i + 1}", f"candidat{i + 1}@example.org"
            )
            _, token = invitations.invite(campaign, candidate, days=14)
            tokens.append(token)
        db.session.commit()
        seeded = Seeded(
            campaign_id=campaign.id,
            tokens=tokens,
            recruiters=recruiters,
            hr=hr,
            pages=len(form.pages(0)),
            items=len(form.items),
            scales=list(form.scale_ids),
        )
        db.session.remove()
        db.engine.dispose()
    return seeded


# --- Pages -------------------------------------------------------------------------------------

INPUT_RE = re.compile(r"<input\b([^>]*)>", re.S)
ATTR_RE = re.compile(r'([\w:-]+)(?:="([^"]*)")?')
ITEM_RE = re.compile(r'<fieldset class="item" id="item-([^"]+)">')


def _inputs(fragment: str) -> list[dict[str, str]]:
    found = []
    for match in INPUT_RE.finditer(fragment):
        attrs = {k: html.unescape(v) if v else "" for k, v in ATTR_RE.findall(match.group(1))}
        found.append(attrs)
    return found


def hidden_value(page: str, name: str) -> str | None:
    for attrs in _inputs(page):
        if attrs.get("name") == name and attrs.get("type") == "hidden":
            return attrs.get("value")
    return None


@dataclass
class PageItem:
    item_id: str
    format: str  # most_least | rating | choice
    fields: dict[str, list[str]]  # field name -> values offered
    checked: dict[str, str]  # field name -> value shown as checked


def page_items(page: str) -> list[PageItem]:
    """The items of a test page, with their radio fields, read from the HTML."""
    starts = [(m.start(), m.group(1)) for m in ITEM_RE.finditer(page)]
    items = []
    for index, (start, item_id) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(page)
        fields: dict[str, list[str]] = defaultdict(list)
        checked = {}
        for attrs in _inputs(page[start:end]):
            if attrs.get("type") != "radio":
                continue
            fields[attrs["name"]].append(attrs["value"])
            if "checked" in attrs:
                checked[attrs["name"]] = attrs["value"]
        names = set(fields)
        if names == {f"{item_id}-best", f"{item_id}-worst"}:
            kind = "most_least"
        elif names == {f"{item_id}-choice"}:
            kind = "choice"
        else:
            kind = "rating"
        items.append(PageItem(item_id, kind, dict(fields), checked))
    return items


def random_answers(items: list[PageItem], rng: random.Random) -> tuple[dict, dict]:
    """Form fields to post and the payloads the database must then hold, by item id."""
    data, payloads = {}, {}
    for item in items:
        i = item.item_id
        if item.format == "most_least":
            best, worst = rng.sample(item.fields[f"{i}-best"], 2)
            data[f"{i}-best"], data[f"{i}-worst"] = best, worst
            payloads[i] = {"best": best, "worst": worst}
        elif item.format == "choice":
            choice = rng.choice(item.fields[f"{i}-choice"])
            data[f"{i}-choice"] = choice
            payloads[i] = {"choice": choice}
        else:
            ratings = {}
            for name, values in item.fields.items():
                value = rng.choice(values)
                data[name] = value
                ratings[name[len(i) + 1 :]] = int(value)
            payloads[i] = {"ratings": dict(sorted(ratings.items()))}
    return data, payloads


def shown_payloads(items: list[PageItem]) -> dict:
    """The payloads a page shows as checked, in the stored form."""
    shown = {}
    for item in items:
        i, c = item.item_id, item.checked
        if item.format == "most_least":
            if f"{i}-best" in c and f"{i}-worst" in c:
                shown[i] = {"best": c[f"{i}-best"], "worst": c[f"{i}-worst"]}
        elif item.format == "choice":
            if f"{i}-choice" in c:
                shown[i] = {"choice": c[f"{i}-choice"]}
        elif c:
            shown[i] = {"ratings": dict(sorted((n[len(i) + 1 :], int(v)) for n, v in c.items()))}
    return shown


# --- Measurements ------------------------------------------------------------------------------


class Failed(Exception):
    """A request went wrong (recorded in Stats); the client stops."""


class Outage(Exception):
    """The request failed because the server was killed; the client waited for the restart."""


class OutOfTime(Exception):
    """The run's deadline has passed."""


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[dict] = field(default_factory=list)
    outage_failures: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)

    def error(self, category: str, kind: str, method: str, path: str, detail: str) -> None:
        with self.lock:
            self.errors.append(
                {
                    "category": category,
                    "kind": kind,
                    "method": method,
                    "path": path,
                    "detail": detail,
                }
            )

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())


def _path(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class Client:
    """One browser: a cookie jar and a connection, timing and checking every request."""

    def __init__(self, run: Run):
        self.run = run
        self.session = requests.Session()
        self.outages = 0

    def call(self, kind: str, method: str, path: str, expect=(200,), data=None):
        run = self.run
        remaining = run.deadline - time.monotonic()
        if remaining <= 0:
            raise OutOfTime
        generation = run.server.generation
        start = time.perf_counter()
        try:
            response = self.session.request(
                method,
                run.server.base_url + path,
                data=data,
                allow_redirects=False,
                timeout=min(REQUEST_TIMEOUT, remaining + 1),
            )
            response.content  # noqa: B018 - read the whole body inside the timing
        except requests.RequestException as exc:
            server = run.server
            if run.options.crash and (server.generation != generation or not server.up.is_set()):
                self._wait_out_outage(kind)
                raise Outage from exc
            run.stats.error("connection", kind, method, path, repr(exc))
            raise Failed from exc
        run.stats.record(kind, time.perf_counter() - start)
        status = response.status_code
        if status >= 500:
            run.stats.error("5xx", kind, method, path, f"{status}")
            raise Failed
        if status not in expect:
            detail = f"{status}, expected {'/'.join(map(str, expect))}"
            if status in (301, 302, 303):
                detail += f" -> {response.headers.get('Location')}"
            run.stats.error("unexpected status", kind, method, path, detail)
            raise Failed
        return response

    def _wait_out_outage(self, kind: str) -> None:
        run = self.run
        with run.stats.lock:
            run.stats.outage_failures[kind] += 1
        self.outages += 1
        if self.outages > MAX_OUTAGES:
            raise Failed
        self.session.close()  # its pooled connections died with the server
        if not run.server.up.wait(timeout=max(0.0, run.deadline - time.monotonic())):
            raise OutOfTime


# --- Candidates --------------------------------------------------------------------------------


@dataclass
class CandidateState:
    index: int
    token: str
    stage: int = 0  # acknowledged: 0 invited, n on page n (n-1 saved), pages+1 review, +2 done
    pending: int | None = None  # the stage a POST without answer yet would reach
    sent: dict[int, tuple[dict, dict]] = field(default_factory=dict)  # page -> (data, payloads)
    acked: dict[str, dict] = field(default_factory=dict)  # item -> payload of an acked save
    acked_pages: set[int] = field(default_factory=set)
    consented: bool = False
    submitted: bool = False
    finished: bool = False
    resumes: int = 0
    failure: str | None = None


def candidate_flow(run: Run, state: CandidateState) -> None:
    client = Client(run)
    options = run.options
    if options.ramp > 0 and len(run.candidates) > 1:
        _pause(run, options.ramp * state.index / (len(run.candidates) - 1))
    try:
        _candidate_steps(run, state, client)
    finally:
        client.session.close()


def _pause(run: Run, seconds: float) -> None:
    """Wait, as a person does, but never past the run's deadline."""
    if seconds > 0:
        time.sleep(max(0.0, min(seconds, run.deadline - time.monotonic())))


def _read(run: Run, rng: random.Random) -> None:
    """The time a candidate spends reading a page before answering it."""
    low, high = run.options.reading
    if high > 0:
        _pause(run, rng.uniform(low, high))


def _candidate_steps(run: Run, state: CandidateState, client: Client) -> None:
    rng = random.Random(f"{run.options.seed}:{state.index}")
    pages = run.seeded.pages
    halfway = pages // 2 + 1
    token = state.token
    base = f"/t/{token}"
    path, kind = base, "open_link"
    resuming = False
    looked_back = False
    for _step in range(MAX_CANDIDATE_STEPS):
        try:
            if path == base or path == f"{base}/resume":
                expect = (200, 302)
                response = client.call(kind, "GET", path, expect)
                if response.status_code == 302:
                    path, kind = _path(response.headers["Location"]), "follow"
                    continue
                page = response.text
                # The welcome page asks for consent; the thank-you page of a completed test not.
                reached = 0 if 'name="agree"' in page else pages + 2
            elif path.startswith(f"{base}/p/"):
                number = int(path.rsplit("/", 1)[1])
                response = client.call(kind, "GET", path, (200,))
                page = response.text
                reached = number
            elif path == f"{base}/review":
                response = client.call(kind, "GET", path, (200,))
                page = response.text
                reached = pages + 1
            else:
                raise AssertionError(f"unexpected place {path}")
            if resuming:
                run.check_resume(state, reached)
                resuming = False
            state.pending = None
            csrf = hidden_value(page, "csrf_token")
            if reached == 0:
                _read(run, rng)
                state.pending = 1
                response = client.call(
                    "consent", "POST", f"{base}/consent", (303,), {"csrf_token": csrf, "agree": "y"}
                )
                state.pending = None
                run.acknowledge(state, stage=1)
                path, kind = _path(response.headers["Location"]), "page"
                if path != f"{base}/p/1":
                    return run.fail(state, f"consent went to {path}")
            elif reached == pages + 2:
                if not state.submitted:
                    return run.fail(state, "thank-you page without a submit")
                state.finished = True
                return
            elif reached == pages + 1:
                _read(run, rng)
                state.pending = pages + 2
                response = client.call(
                    "submit", "POST", f"{base}/submit", (303,), {"csrf_token": csrf}
                )
                state.pending = None
                run.acknowledge(state, stage=pages + 2, submitted=True)
                path, kind = _path(response.headers["Location"]), "thank_you"
            else:
                number = reached
                if number == halfway and not looked_back and number > 1:
                    looked_back = True
                    back = client.call("back_page", "GET", f"{base}/p/{number - 1}", (200,))
                    shown = shown_payloads(page_items(back.text))
                    expected = state.sent[number - 1][1] if number - 1 in state.sent else {}
                    if shown != expected:
                        run.mismatch(state, number - 1, expected, shown)
                    page = client.call("reload_page", "GET", path, (200,)).text
                    csrf = hidden_value(page, "csrf_token")
                if number not in state.sent:
                    state.sent[number] = random_answers(page_items(page), rng)
                data, payloads = state.sent[number]
                _read(run, rng)
                form = {"csrf_token": csrf, "shown": hidden_value(page, "shown"), **data}
                state.pending = number + 1
                response = client.call("save_page", "POST", path, (303,), form)
                state.pending = None
                run.acknowledge(state, stage=number + 1, page=number, payloads=payloads)
                target = _path(response.headers["Location"])
                wanted = f"{base}/p/{number + 1}" if number < pages else f"{base}/resume"
                if target != wanted:
                    return run.fail(state, f"save of page {number} went to {target}")
                path, kind = target, ("page" if number < pages else "resume")
        except Outage:
            state.resumes += 1
            path, kind, resuming = base, "open_link", True
        except (Failed, OutOfTime):
            return
    run.fail(state, f"more than {MAX_CANDIDATE_STEPS} steps")


# --- Recruiters and HR -------------------------------------------------------------------------


def login(client: Client, email: str) -> None:
    form = client.call("login_form", "GET", "/login", (200,))
    csrf = hidden_value(form.text, "csrf_token")
    client.call(
        "login",
        "POST",
        "/login",
        (302,),
        {"csrf_token": csrf, "email": email, "password": PASSWORD},
    )


def reader_flow(run: Run, email: str, role: str) -> None:
    client = Client(run)
    try:
        _reader_steps(run, email, role, client)
    finally:
        client.session.close()


def _reader_steps(run: Run, email: str, role: str, client: Client) -> None:
    campaign = run.seeded.campaign_id
    for _attempt in range(MAX_OUTAGES + 1):
        try:
            login(client, email)
            break
        except Outage:
            continue
        except (Failed, OutOfTime):
            return
    else:
        return
    for count in range(run.options.max_reads):
        if run.candidates_done.is_set():
            return
        try:
            if role == "hr":
                if count % 4 == 3:
                    client.call("hr_dashboard", "GET", "/hr/", (200,))
                else:
                    client.call("export_csv", "GET", "/hr/export.csv", (200,))
            elif count % 4 == 3:
                client.call("campaign_page", "GET", f"/campaigns/{campaign}", (200,))
            elif count % 4 == 2:
                client.call(
                    "cross_shortlist", "GET", f"/shortlist?campaign={campaign}&norm=pooled", (200,)
                )
            else:
                client.call("shortlist", "GET", f"/campaigns/{campaign}/shortlist", (200,))
        except Outage:
            continue
        except (Failed, OutOfTime):
            return
        run.candidates_done.wait(run.options.reader_pause)


# --- The run -----------------------------------------------------------------------------------


@dataclass
class Check:
    """What the database holds compared with what the clients were told."""

    answers_checked: int = 0
    lost: list[str] = field(default_factory=list)  # acknowledged, absent
    wrong: list[str] = field(default_factory=list)  # acknowledged, another payload
    duplicated: list[str] = field(default_factory=list)
    submits_checked: int = 0
    unscored: list[str] = field(default_factory=list)
    completed: int = 0

    @property
    def problems(self) -> int:
        return len(self.lost) + len(self.wrong) + len(self.duplicated) + len(self.unscored)


@dataclass
class Report:
    options: Options
    seconds: float
    stats: Stats
    check: Check
    crash_check: Check | None
    crash_info: dict
    candidates: list[CandidateState]
    failures: list[str]
    tracebacks: list[str]
    export_rows: int | None
    driver_cpu: float
    workdir: str
    items: int

    @property
    def ok(self) -> bool:
        return not (
            self.stats.errors
            or self.check.problems
            or (self.crash_check and self.crash_check.problems)
            or self.failures
        )


class Run:
    def __init__(self, options: Options, server: Gunicorn, seeded: Seeded, database_url: str):
        self.options, self.server, self.seeded = options, server, seeded
        self.database_url = database_url
        self.stats = Stats()
        self.deadline = time.monotonic() + options.seconds
        self.candidates = [CandidateState(i, t) for i, t in enumerate(seeded.tokens)]
        self.candidates_done = threading.Event()
        self.lock = threading.Lock()
        self.saves_acked = 0
        self.failures: list[str] = []
        self.crash_info: dict = {}
        self.crash_check: Check | None = None

    # Called by the clients.
    def acknowledge(self, state, *, stage, page=None, payloads=None, submitted=False):
        with self.lock:
            state.stage = max(state.stage, stage)
            if stage == 1:
                state.consented = True
            if page is not None:
                state.acked.update(payloads)
                state.acked_pages.add(page)
                self.saves_acked += 1
            if submitted:
                state.submitted = True

    def check_resume(self, state: CandidateState, reached: int) -> None:
        """The link took a candidate back after the crash: to the first step still to do, or,
        when the request that failed had committed, to the one after (which acknowledges it)."""
        allowed = {state.stage} | ({state.pending} if state.pending is not None else set())
        with self.lock:
            self.crash_info["resumes"] = self.crash_info.get("resumes", 0) + 1
        if reached not in allowed:
            self.fail(state, f"resumed at stage {reached}, expected {sorted(allowed)}")
            raise Failed
        if reached != state.stage:
            with self.lock:
                self.crash_info["committed_unanswered"] = (
                    self.crash_info.get("committed_unanswered", 0) + 1
                )
            pages = self.seeded.pages
            if reached == pages + 2:
                self.acknowledge(state, stage=reached, submitted=True)
            elif reached == 1:
                self.acknowledge(state, stage=reached)
            else:
                saved = reached - 1
                self.acknowledge(state, stage=reached, page=saved, payloads=state.sent[saved][1])

    def mismatch(self, state, page, expected, shown) -> None:
        self.fail(state, f"page {page} shows {shown} after saving {expected}")

    def fail(self, state: CandidateState, message: str) -> None:
        state.failure = message
        with self.lock:
            self.failures.append(f"candidate {state.index + 1}: {message}")

    def snapshot(self) -> list[CandidateState]:
        """A copy of what every candidate has been told so far."""
        with self.lock:
            return [
                CandidateState(
                    c.index,
                    c.token,
                    stage=c.stage,
                    acked=dict(c.acked),
                    submitted=c.submitted,
                    consented=c.consented,
                )
                for c in self.candidates
            ]

    def crash_controller(self) -> None:
        target = max(1, int(self.options.crash_at * len(self.candidates) * self.seeded.pages))
        while time.monotonic() < self.deadline and not self.candidates_done.is_set():
            if self.saves_acked >= target:
                break
            time.sleep(0.01)
        if self.candidates_done.is_set() or time.monotonic() >= self.deadline:
            self.failures.append("the crash came after the load was over: nothing was tested")
            return
        killed_at = time.monotonic()
        self.server.kill()
        info = self.crash_info
        info["saves_acked_at_kill"] = self.saves_acked
        info["candidates_done_at_kill"] = sum(c.finished for c in self.candidates)
        self.crash_check = check_database(
            self.database_url, self.snapshot(), self.seeded, full=False
        )
        time.sleep(max(0.0, self.options.outage - (time.monotonic() - killed_at)))
        restart = time.monotonic()
        try:
            self.server.start()
        except RuntimeError as exc:
            self.failures.append(f"gunicorn did not come back after the kill: {exc}")
            self.deadline = time.monotonic()  # every client stops at its next request
            self.server.up.set()  # wake those waiting for the restart
            return
        info["restart_seconds"] = time.monotonic() - restart
        info["outage_seconds"] = time.monotonic() - killed_at

    def execute(self) -> float:
        options = self.options
        readers = [(e, "recruiter") for e in self.seeded.recruiters]
        readers += [(e, "hr") for e in self.seeded.hr]
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=len(readers) + 1) as side:
            reader_futures = [side.submit(reader_flow, self, e, r) for e, r in readers]
            crash = side.submit(self.crash_controller) if options.crash else None
            try:
                with ThreadPoolExecutor(max_workers=options.pool_size) as pool:
                    futures = [pool.submit(candidate_flow, self, c) for c in self.candidates]
                    for future in futures:
                        future.result()
            finally:
                self.candidates_done.set()  # the readers stop, even when a client broke
            elapsed = time.monotonic() - start
            for future in reader_futures:
                future.result()
            if crash is not None:
                crash.result()
        return elapsed


def check_database(
    database_url: str, candidates: list[CandidateState], seeded: Seeded, *, full: bool = True
) -> Check:
    """Compare what the clients were told with the database, through SQLAlchemy directly.

    ``full=False`` (the check at the kill) leaves out the saves still in flight."""
    import sqlalchemy as sa

    from recruit.data.models import Answer, Invitation, Result, ScaleScore, token_hash

    check = Check()
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            by_hash = {token_hash(c.token): c for c in candidates}
            invitations = {
                row.token_hash: row
                for row in conn.execute(
                    sa.select(Invitation.id, Invitation.token_hash, Invitation.status)
                )
            }
            answers = defaultdict(lambda: defaultdict(list))
            for row in conn.execute(
                sa.select(Answer.invitation_id, Answer.item_id, Answer.payload)
            ):
                answers[row.invitation_id][row.item_id].append(row.payload)
            results = Counter(
                r.invitation_id for r in conn.execute(sa.select(Result.invitation_id))
            )
            scales = defaultdict(dict)
            for row in conn.execute(
                sa.select(Result.invitation_id, ScaleScore.scale_id, ScaleScore.value).join(
                    ScaleScore, ScaleScore.result_id == Result.id
                )
            ):
                scales[row.invitation_id][row.scale_id] = row.value
            check.completed = sum(1 for r in invitations.values() if r.status == "completed")
        for digest, candidate in by_hash.items():
            who = f"candidate {candidate.index + 1}"
            invitation = invitations[digest]
            stored = answers[invitation.id]
            for item_id, rows in stored.items():
                if len(rows) != 1:
                    check.duplicated.append(f"{who} item {item_id}: {len(rows)} rows")
            for item_id, payload in candidate.acked.items():
                check.answers_checked += 1
                if item_id not in stored:
                    check.lost.append(f"{who} item {item_id}")
                elif stored[item_id][-1] != payload:
                    check.wrong.append(f"{who} item {item_id}: {stored[item_id][-1]} != {payload}")
            if full:
                # Saves whose answer never came back (the crash) may have committed: then with
                # what was sent. Nothing may be stored that this candidate never sent.
                sent = {
                    i: p for _data, payloads in candidate.sent.values() for i, p in payloads.items()
                }
                for item_id, rows in stored.items():
                    if item_id not in sent:
                        check.wrong.append(f"{who} item {item_id}: stored, never sent")
                    elif item_id not in candidate.acked and rows[-1] != sent[item_id]:
                        check.wrong.append(f"{who} item {item_id}: {rows[-1]} != {sent[item_id]}")
            if candidate.submitted:
                check.submits_checked += 1
                problems = []
                if invitation.status != "completed":
                    problems.append(f"status {invitation.status}")
                if results[invitation.id] != 1:
                    problems.append(f"{results[invitation.id]} results")
                missing = [s for s in seeded.scales if scales[invitation.id].get(s) is None]
                if missing:
                    problems.append(f"no score on {', '.join(missing)}")
                if len(stored) != seeded.items:
                    problems.append(f"{len(stored)} answers of {seeded.items}")
                if problems:
                    check.unscored.append(f"{who}: {'; '.join(problems)}")
    finally:
        engine.dispose()
    return check


def final_export(run: Run) -> int | None:
    """Rows of a CSV export made once every candidate is done (one per completed test)."""
    client = Client(run)
    run.deadline = time.monotonic() + 120
    try:
        login(client, run.seeded.hr[0])
        text = client.call("export_csv", "GET", "/hr/export.csv", (200,)).content
    except (Failed, OutOfTime, Outage):
        return None
    finally:
        client.session.close()
    rows = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    return max(0, len(rows) - 1)


def execute(options: Options) -> Report:
    """Set everything up, run the load (and the crash), check, tear everything down."""
    workdir = Path(tempfile.mkdtemp(prefix="recruit-load-"))
    instance = workdir / "instance"
    instance.mkdir()
    server = None
    log = options.log
    try:
        with contextlib.ExitStack() as stack:
            if options.backend == "sqlite":
                database_url = f"sqlite:///{workdir / 'recruit.sqlite3'}"
            elif options.backend == "postgresql":
                base = options.pg_server or stack.enter_context(PostgresCluster()).url
                name = f"recruit_load_{os.getpid()}_{random.randrange(10**6)}"
                database_url = create_pg_database(base, name)
            else:
                raise ValueError(f"unknown backend {options.backend}")
            server = Gunicorn(workdir, {}, workers=options.workers, threads=options.threads)
            server.env = server_env(database_url, instance, server.base_url)
            started = time.monotonic()
            migrate(database_url, server.env)
            seeded = seed(database_url, instance, options)
            log(
                f"setup: {options.backend}, {len(seeded.tokens)} invitations "
                f"({seeded.items} items on {seeded.pages} pages), "
                f"{time.monotonic() - started:.1f} s"
            )
            server.start()
            stack.callback(server.stop)
            log(
                f"gunicorn wsgi:app on {server.base_url}: {options.workers} workers x "
                f"{options.threads} threads ({server.worker_class})"
            )
            run = Run(options, server, seeded, database_url)
            cpu = time.process_time()
            elapsed = run.execute()
            cpu = time.process_time() - cpu
            check = check_database(database_url, run.candidates, seeded)
            export_rows = final_export(run)
            failures = list(run.failures)
            unfinished = [c for c in run.candidates if not c.finished and c.failure is None]
            if unfinished:
                failures.append(
                    f"{len(unfinished)} candidate(s) did not finish "
                    f"(errors above, or the {options.seconds:.0f} s deadline)"
                )
            if export_rows is not None and export_rows != check.completed:
                failures.append(f"export has {export_rows} rows, {check.completed} tests completed")
            return Report(
                options=options,
                seconds=elapsed,
                stats=run.stats,
                check=check,
                crash_check=run.crash_check,
                crash_info=run.crash_info,
                candidates=run.candidates,
                failures=failures,
                tracebacks=server.tracebacks(),
                export_rows=export_rows,
                driver_cpu=cpu,
                workdir=str(workdir),
                items=seeded.items,
            )
    finally:
        if server is not None:
            server.stop()
        if not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)


# --- Output ------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def describe(report: Report) -> str:
    o, s, c = report.options, report.stats, report.check
    lines = []
    title = "crash test" if o.crash else "load test"
    lines.append(
        f"recruit {title}: {o.backend}, {o.candidates} candidates ({o.pool_size} at once), "
        f"{o.recruiters} recruiter(s), {o.hr} HR; "
        f"gunicorn {o.workers} workers x {o.threads} threads"
    )
    if o.reading[1] > 0:
        lines.append(
            f"paced: each page read {o.reading[0]:g}-{o.reading[1]:g} s before its answer, "
            f"first visits spread over {o.ramp:g} s, readers pause {o.reader_pause:g} s"
        )
    else:
        lines.append("saturated: no reading time, every request sent as soon as one is answered")
    total = s.requests
    lines.append(
        f"load phase {report.seconds:.1f} s: {total} requests, {total / report.seconds:.1f} req/s "
        f"(driver CPU {report.driver_cpu:.1f} s)"
    )
    lines.append(f"{'request':<16}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    everything = []
    for kind in sorted(s.latencies):
        values = s.latencies[kind]
        everything += values
        lines.append(_row(kind, values))
    lines.append(_row("all", everything))
    categories = Counter(e["category"] for e in s.errors)
    lines.append(
        f"errors: {len(s.errors)} (5xx {categories['5xx']}, connection {categories['connection']}, "
        f"unexpected status {categories['unexpected status']})"
    )
    for error in s.errors[:10]:
        lines.append(
            f"  {error['category']}: {error['kind']} {error['method']} "
            f"{_redact(error['path'])}: {error['detail']}"
        )
    if o.crash:
        info = report.crash_info
        outage = sum(s.outage_failures.values())
        lines.append(
            f"crash: SIGKILL of the gunicorn process group after {info.get('saves_acked_at_kill')} "
            f"acknowledged page saves ({info.get('candidates_done_at_kill')} candidates done); "
            f"back in {info.get('outage_seconds', float('nan')):.1f} s "
            f"(restart {info.get('restart_seconds', float('nan')):.1f} s); "
            f"{outage} requests failed in the outage and were retried; "
            f"{info.get('resumes', 0)} candidates reopened their link and landed on their first "
            f"unanswered step ({info.get('committed_unanswered', 0)} of them past a request that "
            f"committed but whose answer was lost)"
        )
        if report.crash_check is not None:
            k = report.crash_check
            lines.append(
                f"  at the kill, in the database: {k.answers_checked} acknowledged answers, "
                f"{len(k.lost)} lost, {len(k.wrong)} wrong, {len(k.duplicated)} duplicated; "
                f"{k.submits_checked} acknowledged submits, {len(k.unscored)} not scored"
            )
    finished = sum(c.finished for c in report.candidates)
    lines.append(f"candidates: {finished} of {len(report.candidates)} finished")
    lines.append(
        f"database: {c.answers_checked} acknowledged answers checked: {len(c.lost)} lost, "
        f"{len(c.wrong)} wrong payload, {len(c.duplicated)} duplicated; "
        f"{c.submits_checked} acknowledged submits: {len(c.unscored)} not completed and scored; "
        f"{c.completed} completed; last CSV export: {report.export_rows} rows"
    )
    for problem in (c.lost + c.wrong + c.duplicated + c.unscored)[:10]:
        lines.append(f"  {problem}")
    for failure in report.failures[:10]:
        lines.append(f"failure: {failure}")
    for block in report.tracebacks:
        lines.append("server log:\n" + block)
    if o.keep:
        lines.append(f"files kept in {report.workdir}")
    lines.append(f"lost answers: {len(c.lost) + len(c.wrong)}")
    lines.append("result: OK" if report.ok else "result: FAILED")
    return "\n".join(lines)


def _row(kind: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{kind:<16}{len(ms):>7}{percentile(ms, 50):>9.1f}{percentile(ms, 95):>9.1f}"
        f"{percentile(ms, 99):>9.1f}{max(ms, default=float('nan')):>9.1f}"
    )


def _redact(path: str) -> str:
    """Candidate tokens are secrets: print only their beginning."""
    return re.sub(r"/t/([\w-]{6})[\w-]+", r"/t/\1…", path)
