"""Fixtures: the app on a real SQLite file and on a real PostgreSQL server, a client, an SMTP
server, builders. The web tests' shared steps (logging in, counting rows...) are in
tests/helpers.py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

TESTS = Path(__file__).resolve().parent
MINI_BANK = TESTS / "data" / "questions"
REAL_BANK = TESTS.parent / "questions"
ARTIFACTS = TESTS / "artifacts"

# The app keeps its generated secret and default database in the instance folder: never the
# developer's own during tests.
os.environ["RECRUIT_INSTANCE_PATH"] = tempfile.mkdtemp(prefix="recruit-instance-")
os.environ.pop("DATABASE_URL", None)
os.environ.pop("SECRET_KEY", None)

PG_BIN = Path(os.environ.get("RECRUIT_PG_BIN", "/usr/lib/postgresql/15/bin"))


def require_all() -> bool:
    """In CI a browser or PostgreSQL test that cannot run is a failure, never a skip."""
    return bool(os.environ.get("CI") or os.environ.get("RECRUIT_REQUIRE_ALL"))


def unavailable(reason: str):
    if require_all():
        pytest.fail(f"required test resource missing: {reason}")
    pytest.skip(reason)


def _as_postgres(args: list[str]) -> list[str]:
    """initdb and pg_ctl refuse to run as root: run them as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """A throwaway PostgreSQL cluster on loopback; yields its base URL (no database name)."""
    if not (PG_BIN / "initdb").exists():
        unavailable(f"PostgreSQL server binaries not found in {PG_BIN}")
    workdir = Path(tempfile.mkdtemp(prefix="recruit-pg-"))
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    data = workdir / "data"
    subprocess.run(
        _as_postgres(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        ),
        check=True,
        capture_output=True,
    )
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(
        _as_postgres(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(workdir / "log"),
                "-w",
                "-o",
                f"-c listen_addresses=127.0.0.1 -p {port} -k {workdir} -c fsync=off",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server():
    """A throwaway Redis server on loopback, without persistence; yields its URL."""
    import socket
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server not installed (scripts/system-packages installs it)")
    try:
        import redis
    except ImportError:
        unavailable("the redis client is not installed (the test extra has it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly"]
    server = subprocess.Popen(
        [*args, "no", "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=10)


def create_pg_database(server_url: str, name: str) -> str:
    import psycopg

    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"


def migrated(url: str) -> str:
    """Run the migrations on an empty database, as `recruit db upgrade` does."""
    from flask_migrate import upgrade

    from recruit import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "QUESTIONS_DIR": str(MINI_BANK)})
    with app.app_context():
        upgrade()
        from recruit.extensions import db

        db.engine.dispose()
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A migrated database of each kind, shared by the session and emptied after each test."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "recruit.sqlite3"
        return migrated(f"sqlite:///{path}")
    server = request.getfixturevalue("pg_server")
    return migrated(create_pg_database(server, "recruit_web"))


def make_app(url: str, bank: Path = MINI_BANK, **overrides):
    from recruit import create_app

    config = {
        "SQLALCHEMY_DATABASE_URI": url,
        "TESTING": True,
        "QUESTIONS_DIR": str(bank),
        "SECRET_KEY": "test-secret",
        "RECRUIT_BASE_URL": "http://localhost",
        "MAIL_WORKER": "off",
        # Jobs run at once in the process that starts them; tests/web/test_jobs.py runs real
        # workers on a real queue.
        "RECRUIT_QUEUE_URL": "immediate",
    }
    config.update(overrides)
    return create_app(config)


def empty_database(app) -> None:
    from recruit.extensions import db

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()


@pytest.fixture
def app(database_url):
    app = make_app(database_url)
    yield app
    empty_database(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def no_background_sender(app):
    """For tests that drive send_pending themselves: stop any worker the app started on its own."""
    worker = app.extensions.get("recruit.mail_worker")
    if worker is not None:
        worker.stop()


@pytest.fixture
def smtp(app):
    """An SMTP server on loopback that ``app`` sends to; yields its helpers.Inbox."""
    from tests.helpers import Inbox, serve

    inbox = Inbox()
    controller = serve(app, inbox)
    yield inbox
    controller.stop()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def make_invitation(
    app,
    *,
    lang="fr",
    days=14,
    form_id="mini",
    name="Dominique Test",
    email="dominique@example.org",
    org="Acme",
    campaign=None,
) -> str:
    """Create what is missing (organisation, campaign, candidate) and an invitation; return the
    token. The campaign is the organisation's default one for the form unless titled."""
    import sqlalchemy as sa

    from recruit.data import questions
    from recruit.data.models import Campaign
    from recruit.extensions import db
    from recruit.services import invitations

    with app.app_context():
        organisation = invitations.find_organisation(org) or invitations.create_organisation(org)
        form = questions.bank(app).get(form_id, lang)
        if campaign is None:
            pool = invitations.default_campaign(organisation, form)
        else:
            pool = db.session.scalar(
                sa.select(Campaign).where(
                    Campaign.organisation_id == organisation.id, Campaign.title == campaign
                )
            ) or invitations.create_campaign(organisation, form, campaign)
        candidate = invitations.find_or_create_candidate(organisation, name, email)
        _, token = invitations.invite(pool, candidate, days=days)
        db.session.commit()
    return token


def complete_invitation(app, token: str, responses: dict) -> None:
    """Consent, answer every item with ``responses`` (item id -> payload) and submit."""
    from recruit.candidate import services
    from recruit.core import scoring
    from recruit.extensions import db

    with app.app_context():
        invitation = services.find_invitation(token)
        form = services.form_for(invitation)
        services.record_consent(invitation, form, "consent text", form.language)
        typed = {i: scoring.parse_response(form.item(i), p) for i, p in responses.items()}
        services.save_page(invitation, form, 1, typed, 30.0)
        assert services.submit(invitation, form)
        db.session.commit()


def random_responses(form, rng) -> dict:
    """A plausible set of answers to every item of a form, drawn from ``rng``: ratings use at
    least three different values, so that the attempt is scored rather than flagged uniform."""
    while True:
        responses = _random_responses(form, rng)
        rated = {v for r in responses.values() for v in r.get("ratings", {}).values()}
        if len(rated) >= 3 or not any(i.format == "rating" for i in form.items):
            return responses


def _random_responses(form, rng) -> dict:
    responses = {}
    for item in form.items:
        ids = [o.id for o in item.options]
        if item.format == "most_least":
            best, worst = rng.sample(ids, 2)
            responses[item.id] = {"best": best, "worst": worst}
        elif item.format == "rating":
            responses[item.id] = {"ratings": {i: rng.randint(1, 6) for i in ids}}
        else:
            responses[item.id] = {"choice": rng.choice(ids)}
    return responses


def mini_form_data(lang: str = "fr") -> dict:
    """The mini bank's form in ``lang``, as read from its YAML file: a dict to spoil."""
    return yaml.safe_load((MINI_BANK / f"mini.{lang}.yaml").read_text(encoding="utf-8"))


def write_form(folder: Path, data: dict, lang: str | None = None) -> Path:
    """Write ``data`` as a bank file named after its form and language in ``folder``."""
    lang = lang or data["language"]
    path = folder / f"{data['form']}.{lang}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --- Background jobs: real workers on a real queue (tests/web/test_jobs.py) ------------------

JOB_SETTINGS = {
    "RECRUIT_JOB_HEARTBEAT_SECONDS": "0.2",
    "RECRUIT_JOB_STALE_SECONDS": "2",
}


class JobWorld:
    """An app and worker processes sharing a database, a queue and a jobs folder."""

    def __init__(self, tmp_path: Path, database_url: str, queue_url: str):
        self.database_url, self.queue_url = database_url, queue_url
        self.jobs_dir = tmp_path / "jobs"
        self.log = tmp_path / "runs.log"
        self.log.touch()
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "RECRUIT_QUEUE_URL": queue_url,
            "RECRUIT_JOBS_DIR": str(self.jobs_dir),
            "RECRUIT_INSTANCE_PATH": str(tmp_path / "instance"),
            "RECRUIT_QUESTIONS_DIR": str(MINI_BANK),
            "SECRET_KEY": "test-secret",
            "RECRUIT_MAIL_WORKER": "off",
            **JOB_SETTINGS,
        }
        self.app = make_app(
            database_url,
            RECRUIT_QUEUE_URL=queue_url,
            RECRUIT_JOBS_DIR=str(self.jobs_dir),
            RECRUIT_JOB_HEARTBEAT_SECONDS=0.2,
            RECRUIT_JOB_STALE_SECONDS=2,
        )
        self.workers: list[subprocess.Popen] = []

    def worker(self, threads: int = 1, *, plain: bool = False) -> subprocess.Popen:
        """A worker process: ``recruit worker`` itself, or (default) through tests.jobworker,
        which adds the test kind ``slow_count``."""
        venv = Path(sys.executable).parent
        command = [str(venv / "recruit")] if plain else [sys.executable, "-m", "tests.jobworker"]
        with open(self.log.with_suffix(f".worker{len(self.workers)}"), "w") as errors:
            process = subprocess.Popen(
                [*command, "worker", "--threads", str(threads)],
                cwd=TESTS.parent,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=errors,
            )
        self.workers.append(process)
        return process

    def runs(self) -> list[str]:
        """One line per start of a test job: "<job id> <claim token>"."""
        return self.log.read_text(encoding="utf-8").splitlines()

    def close(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
        empty_database(self.app)


@pytest.fixture
def sqlite_jobs(tmp_path):
    """A file SQLite database and a SqliteHuey queue file, as on one box."""
    url = migrated(f"sqlite:///{tmp_path / 'recruit.sqlite3'}")
    world = JobWorld(tmp_path, url, f"sqlite:///{tmp_path / 'queue.sqlite3'}")
    yield world
    world.close()


@pytest.fixture
def redis_pg_jobs(tmp_path, pg_server, redis_server):
    """PostgreSQL and a Redis queue, as across instances."""
    url = migrated(create_pg_database(pg_server, "recruit_jobs"))
    world = JobWorld(tmp_path, url, redis_server.replace("/0", "/1"))
    yield world
    world.close()
