"""The scale benchmark's builder and timing mode (tests/benchmarks/bench_scale.py), run small
through their real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from recruit.data.models import (
    Answer,
    Campaign,
    Candidate,
    Invitation,
    Organisation,
    PageTime,
    Result,
    ScaleScore,
    User,
    utcnow,
)
from recruit.extensions import db
from tests.conftest import REAL_BANK, create_pg_database, empty_database, make_app
from tests.helpers import PASSWORD, bearer, count, logged_in

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_scale.py"
N = 300


def run_script(*args: str, timeout: int = 120) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()


def check_built(url: str, key: str) -> None:
    """What a build of N tests must have written, and that its accounts and key work."""
    app = make_app(url, REAL_BANK, RATELIMIT_ENABLED=False)
    try:
        api = app.test_client().get("/api/v1/campaigns?per_page=100", headers=bearer(key))
        assert api.status_code == 200, api.text
        assert api.get_json()["total"] == 100

        hr = logged_in(app, "hr@bench.example")
        assert hr.get("/hr/").status_code == 200
        recruiter = logged_in(app, "recruteur@bench.example")
        assert recruiter.get("/campaigns").status_code == 200

        with app.app_context():
            organisation = db.session.scalar(
                sa.select(Organisation).where(Organisation.name == "Bench")
            )
            roles = dict(
                db.session.execute(
                    sa.select(User.email, User.role).where(User.organisation_id == organisation.id)
                ).all()
            )
            assert roles == {"hr@bench.example": "hr", "recruteur@bench.example": "recruiter"}
            sizes = sorted(
                db.session.execute(
                    sa.select(sa.func.count()).select_from(Result).group_by(Result.campaign_id)
                ).scalars(),
                reverse=True,
            )
            languages = dict(
                db.session.execute(
                    sa.select(Campaign.language, sa.func.count()).group_by(Campaign.language)
                ).all()
            )
            expired = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Invitation)
                .where(
                    Invitation.status.in_(["pending", "started"]),
                    Invitation.expires_at <= utcnow(),
                )
            )
            answers_per_test = set(
                db.session.execute(
                    sa.select(sa.func.count())
                    .select_from(Answer)
                    .join(Invitation, Invitation.id == Answer.invitation_id)
                    .where(Invitation.status == "completed")
                    .group_by(Answer.invitation_id)
                ).scalars()
            )
            started_answers = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Answer)
                .join(Invitation, Invitation.id == Answer.invitation_id)
                .where(Invitation.status == "started")
            )
            flagged = db.session.scalar(
                sa.select(sa.func.count()).select_from(Result).where(Result.flags != "")
            )
        assert count(app, Campaign) == 100
        assert count(app, Invitation, status="completed") == N
        assert count(app, Result) == N
        assert count(app, ScaleScore) == 5 * N
        assert count(app, Invitation, status="started") > 0
        assert count(app, Invitation, status="pending") > 0
        assert expired > 0
        assert count(app, Candidate) == count(app, Invitation)
        assert answers_per_test == {40}  # every item of the real form
        assert started_answers > 0
        assert count(app, PageTime, PageTime.page == 10) == N
        # Uneven campaigns, the first about 40 % of the tests; both languages, mostly French.
        assert 0.3 * N <= sizes[0] <= 0.5 * N and sizes[1] < sizes[0] / 2
        assert languages["fr"] > languages["en"] > 0
        assert 0 < flagged < N / 5  # the flat raters, about 1 in 25
    finally:
        empty_database(app)


def test_build_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path}/bench.sqlite3"
    lines = run_script("--build", str(N), "--database-url", url, "--password", PASSWORD)
    key = lines[-1]
    assert key.startswith("rk_")
    check_built(url, key)


def test_build_on_postgresql(pg_server):
    url = create_pg_database(pg_server, "recruit_bench_test")
    lines = run_script("--build", str(N), "--database-url", url, "--password", PASSWORD)
    check_built(url, lines[-1])


def test_timing_mode_prints_every_page():
    lines = run_script("--sizes", "100,200", "--databases", "sqlite", "--repeat", "1")
    text = "\n".join(lines)
    header = next(i for i, line in enumerate(lines) if line.startswith("page "))
    assert "ms@100" in lines[header] and "ms@200" in lines[header]
    assert "100->200" in lines[header]
    rows = lines[header + 1 : header + 9]
    labels = [
        "HR dashboard /hr/",
        "campaign page (biggest)",
        "shortlist, page 1",
        "shortlist, page 200",
        "pooled shortlist of 2",
        "one candidate",
        "comparison of 3",
        "API results, 500 rows",
    ]
    assert [row[:24].strip() for row in rows] == labels
    assert all(row.rstrip().endswith("n/a") for row in rows)  # no target below 50,000
    assert "sqlite builds: N=100" in text


@pytest.mark.parametrize(
    ("figures", "expected"),
    [
        ({5_000: 100, 50_000: 250}, "PASS"),
        ({5_000: 50, 50_000: 250}, "FAIL"),  # grew 5x
        ({5_000: 200, 50_000: 320}, "FAIL"),  # over 300 ms
        ({200: 10, 400: 20}, "n/a"),
    ],
)
def test_verdict(figures, expected):
    sys.path.insert(0, str(SCRIPT.parent))
    import bench_scale

    made = {n: bench_scale.Figures(ms, ms, [ms], 1.0, 1.0, "VmHWM") for n, ms in figures.items()}
    assert bench_scale.verdict("campaign", made)[0] == expected
