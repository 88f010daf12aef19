"""The load and crash checks at small size, on SQLite and on PostgreSQL, in the test suite.

Each test starts its own gunicorn (and database) and stops it in a `finally`, whatever happens;
PostgreSQL runs use the suite's throwaway cluster (`pg_server`, which fails rather than skips in
CI when the server binaries are missing). Full size: tests/load/load.py and tests/load/crash.py.
"""

from __future__ import annotations

import pytest

from tests.load import harness

SMALL = {"candidates": 20, "concurrency": 10, "recruiters": 1, "hr": 1, "seconds": 90.0}

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def run(request, backend: str, *, crash: bool, **paced) -> harness.Report:
    options = harness.Options(
        backend=backend, crash=crash, log=lambda _line: None, **SMALL, **paced
    )
    if backend == "postgresql":
        options.pg_server = request.getfixturevalue("pg_server")
    report = harness.execute(options)
    print(harness.describe(report))
    return report


@pytest.mark.parametrize("backend", BACKENDS)
def test_load_small(request, backend):
    # Candidates who read each page a moment, as the full-size run's do (4-12 s there).
    report = run(request, backend, crash=False, reading=(0.02, 0.08), ramp=0.3)
    assert report.ok, harness.describe(report)
    assert all(c.finished for c in report.candidates)
    assert report.check.answers_checked == len(report.candidates) * report.items
    assert report.check.submits_checked == len(report.candidates)
    assert report.export_rows == len(report.candidates)
    assert report.stats.latencies["shortlist"] and report.stats.latencies["export_csv"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_crash_small(request, backend):
    report = run(request, backend, crash=True)
    assert report.ok, harness.describe(report)
    assert report.crash_check is not None and report.crash_check.answers_checked > 0
    assert sum(report.stats.outage_failures.values()) > 0, "no request met the outage"
    assert report.crash_info.get("resumes", 0) > 0
    assert all(c.finished for c in report.candidates)
    assert report.check.submits_checked == len(report.candidates)


def test_the_command_line_paces_candidates_unless_told_not_to():
    from tests.load import load

    paced = load.parse([])
    assert paced.reading == load.READING and paced.reading[0] > 0
    assert paced.ramp == load.RAMP and paced.reader_pause == load.READER_PAUSE
    saturated = load.parse(["--reading", "0"])
    assert saturated.reading == (0.0, 0.0) and saturated.ramp == 0.0
    assert saturated.reader_pause == harness.Options().reader_pause
    assert load.parse(["--crash"]).reading == (0.0, 0.0)
    assert load.parse(["--reading", "2-3", "--ramp", "5"]).reading == (2.0, 3.0)
    for wrong in ("5-2", "-1", "soon"):
        with pytest.raises(SystemExit):
            load.parse(["--reading", wrong])
