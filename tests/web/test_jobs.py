"""Background jobs: real worker processes on a real queue (SqliteHuey on a SQLite file; Redis
with PostgreSQL), and the job pages and API on the tests' app (which runs jobs at once)."""

from __future__ import annotations

import io
import random
import re
import signal
import time
from datetime import timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

import tests.jobworker  # noqa: F401 - registers the test kind slow_count in this process too
from recruit.data import questions
from recruit.data.models import Invitation, Job, User, utcnow
from recruit.extensions import db
from recruit.services import jobs, results
from recruit.services.invitations import find_organisation
from tests.conftest import complete_invitation, csrf_from, make_invitation, random_responses
from tests.helpers import api_key, bearer, confirm, count, export_job, logged_in, make_user, upload


def completed(app, n: int, org: str = "Acme") -> None:
    """``n`` completed tests in the organisation's default campaign of the mini form."""
    form = questions.bank(app).get("mini", "fr")
    rng = random.Random(n)
    for i in range(n):
        token = make_invitation(app, org=org, name=f"Personne {i}", email=f"p{i}@{org}.example")
        complete_invitation(app, token, random_responses(form, rng))


def fetch(client, url: str, **options):
    """GET ``url``, read and closed (a file download keeps its file open until then)."""
    response = client.get(url, **options)
    response.get_data()
    response.close()
    return response


def started_job(response) -> str:
    """The job page a file came from (export_job's response), the response closed."""
    response.get_data()
    response.close()
    return response.request.path.removesuffix("/file")


def job_row(app, job_id: int) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job


def wait_for(app, job_id: int, done, timeout: float = 30.0) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        job = job_row(app, job_id)
        if done(job):
            return job
        assert time.monotonic() < deadline, f"job {job_id} stuck: {job.status} {job.rows_done}"
        time.sleep(0.05)


def start_slow(world, rows: int, delay: float) -> int:
    with world.app.app_context():
        organisation = find_organisation("Acme")
        job = jobs.start(
            "slow_count",
            {"rows": rows, "delay": delay, "log": str(world.log)},
            language="fr",
            organisation_id=organisation.id,
        )
        return job.id


def make_org(app, org: str = "Acme") -> None:
    from recruit.services import invitations

    with app.app_context():
        invitations.find_organisation(org) or invitations.create_organisation(org)
        db.session.commit()


# --- Real workers ---------------------------------------------------------------------------


def test_a_job_survives_its_worker_killed_mid_job_and_its_progress_moves(sqlite_jobs):
    world = sqlite_jobs
    make_org(world.app)
    first = world.worker()
    job_id = start_slow(world, rows=60, delay=0.05)
    seen = []
    job = wait_for(world.app, job_id, lambda j: j.rows_done >= 8 or j.status == "done")
    while job.rows_done < 25 and job.status == "running":
        seen.append(job.rows_done)
        time.sleep(0.1)
        job = job_row(world.app, job_id)
    assert job.status == "running" and job.rows_total == 60
    assert len(set(seen)) >= 2 and seen == sorted(seen), seen  # progress moves, forward
    first.send_signal(signal.SIGKILL)  # mid-job: no chance to clean up
    first.wait(timeout=10)
    interrupted = job_row(world.app, job_id)
    assert interrupted.status == "running" and 0 < interrupted.rows_done < 60
    world.worker()  # a new worker: it finds the job once its heartbeat is stale
    job = wait_for(world.app, job_id, lambda j: j.status == "done", timeout=40)
    assert job.attempts == 2 and job.rows_done == job.rows_total == 60
    runs = world.runs()
    assert len(runs) == 2 and runs[0] != runs[1]  # two claims, by two workers
    assert job.claimed_by == runs[1].split(" ", 1)[1]
    # The file of the second run, downloadable by the organisation's HR.
    make_user(world.app, "hr")
    hr = logged_in(world.app, "hr@acme.example.org")
    assert fetch(hr, f"/jobs/{job_id}/file").get_data() == b"60\n"
    parts = list(world.jobs_dir.glob("*/*.part"))  # the killed run's unfinished file
    with world.app.app_context():
        world.app.config["RECRUIT_JOB_KEEP_HOURS"] = 0  # parts older than that go
        jobs.purge_expired()
    assert parts and not any(p.exists() for p in parts)


def test_two_workers_never_run_the_same_job_at_once(redis_pg_jobs):
    world = redis_pg_jobs
    make_org(world.app)
    world.worker(threads=2)
    world.worker(threads=2)
    job_id = start_slow(world, rows=10, delay=0.05)
    with world.app.app_context():
        queue = world.app.extensions["recruit.jobs"]
        for _ in range(5):  # the same id delivered again and again, to four worker threads
            queue.enqueue(job_id)
    job = wait_for(world.app, job_id, lambda j: j.status == "done")
    time.sleep(1.0)  # the extra deliveries are taken and refused by now
    job = job_row(world.app, job_id)
    assert job.status == "done" and job.attempts == 1
    assert world.runs() == [f"{job_id} {job.claimed_by}"]


def test_the_api_export_flow_end_to_end_with_recruit_worker(sqlite_jobs):
    world = sqlite_jobs
    completed(world.app, 3)
    key = api_key(world.app)
    world.worker(plain=True)
    client = world.app.test_client()
    started = client.post("/api/v1/exports", json={"format": "csv"}, headers=bearer(key))
    assert started.status_code == 202
    body = started.get_json()
    assert started.headers["Location"] == body["url"] == f"/api/v1/exports/{body['id']}"
    assert body["status"] == "queued" and body["file_url"] is None
    deadline = time.monotonic() + 30
    while (status := client.get(body["url"], headers=bearer(key)).get_json())["status"] != "done":
        assert status["status"] in ("queued", "running") and time.monotonic() < deadline
        time.sleep(0.1)
    assert status["rows_done"] == status["rows_total"] == 3 and status["percent"] == 100
    assert status["file_url"] == f"/api/v1/exports/{body['id']}/file"
    response = fetch(client, status["file_url"], headers=bearer(key))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    frame = pd.read_csv(io.BytesIO(response.get_data()), encoding="utf-8-sig")
    assert len(frame) == 3 and "composite_t" in frame.columns


# --- Pages, files and the API on the tests' app ---------------------------------------------


@pytest.fixture
def acme(app):
    completed(app, 3)
    make_user(app, "hr")
    make_user(app, "hr", org="Other")
    return logged_in(app, "hr@acme.example.org")


def test_the_job_page_shows_progress_then_the_file(app, acme):
    started = acme.post(
        "/hr/export.xlsx", data={"csrf_token": csrf_from(acme.get("/hr/export.xlsx").text)}
    )
    assert started.status_code == 303
    job_url = started.headers["Location"]
    page = acme.get(job_url)
    assert page.status_code == 200
    assert "Télécharger recruit-export-" in page.text
    assert 'http-equiv="refresh"' not in page.text  # finished: no more refreshing
    status = acme.get(job_url + ".json").get_json()
    assert status["status"] == "done" and status["links"]["file"] == job_url + "/file"
    assert re.search(r"/jobs/\d+", acme.get("/jobs/").text)
    with app.app_context():  # a job under way refreshes itself, without and with JavaScript
        job = db.session.get(Job, int(job_url.rsplit("/", 1)[1]))
        job.status, job.rows_done, job.rows_total = "running", 250, 1000
        db.session.commit()
    page = acme.get(job_url).text
    assert '<noscript><meta http-equiv="refresh"' in page and "jobs.js" in page
    assert "25\u202f%" in page and "250 sur 1\u202f000 lignes" in page


def test_files_expire_after_their_time(app, acme, runner):
    job_url = started_job(export_job(acme, "/hr/export.xlsx"))
    job_id = int(job_url.rsplit("/", 1)[1])
    with app.app_context():
        job = db.session.get(Job, job_id)
        path = jobs.file_of(job)
        assert path is not None and path.exists()
        job.expires_at = utcnow() - timedelta(seconds=1)  # 24 hours later
        db.session.commit()
    gone = fetch(acme, job_url + "/file")
    assert gone.status_code == 410 and "gardés 24 heures" in gone.text
    result = runner.invoke(args=["jobs", "purge"])
    assert result.exit_code == 0 and "1 job file(s) deleted" in result.output
    assert not path.exists() and job_row(app, job_id).status == "expired"
    assert acme.get(job_url + "/file").status_code == 410
    assert "Relancer la tâche" in acme.get(job_url).text


def test_another_organisations_job_is_404_on_the_web_and_the_api(app, acme):
    job_url = started_job(export_job(acme, "/hr/export.xlsx"))
    job_id = int(job_url.rsplit("/", 1)[1])
    other = logged_in(app, "hr@other.example.org")
    for path in (job_url, job_url + ".json", job_url + "/file"):
        assert fetch(other, path).status_code == 404
    token = csrf_from(other.get("/hr/export.xlsx").text)
    assert other.post(job_url + "/retry", data={"csrf_token": token}).status_code == 404
    recruiter = logged_in(app, make_user(app, "recruiter"))  # same organisation, not its role
    assert recruiter.get(job_url).status_code == 404
    theirs, ours = api_key(app, org="Other"), api_key(app)
    for path in (f"/api/v1/exports/{job_id}", f"/api/v1/exports/{job_id}/file"):
        response = app.test_client().get(path, headers=bearer(theirs))
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert (
        app.test_client().get(f"/api/v1/exports/{job_id}", headers=bearer(ours)).status_code == 200
    )


def test_a_failed_job_shows_its_reason_and_can_be_retried(app, acme):
    started = acme.post(
        "/hr/export.xlsx?norm=reference",
        data={"csrf_token": csrf_from(acme.get("/hr/export.xlsx?norm=reference").text)},
    )
    job_url = started.headers["Location"]
    page = acme.get(job_url).text
    assert "La tâche a échoué." in page
    assert "norme de référence n&#39;est pas encore calculée" in page
    assert job_row(app, int(job_url.rsplit("/", 1)[1])).status == "failed"
    assert acme.post(job_url + "/retry", data={}).status_code == 400  # no CSRF token
    with app.app_context():
        results.refresh_reference_norm(find_organisation("Acme").id, "mini")
        db.session.commit()
    retried = acme.post(job_url + "/retry", data={"csrf_token": csrf_from(page)})
    assert retried.status_code == 303 and retried.headers["Location"] == job_url
    job = job_row(app, int(job_url.rsplit("/", 1)[1]))
    assert job.status == "done" and job.error is None and job.attempts == 1
    again = acme.post(job_url + "/retry", data={"csrf_token": csrf_from(page)})
    assert again.status_code == 409  # a done job is not retried


def test_synchronous_exports_above_the_limit_are_413_pointing_to_the_job_endpoint(app, acme):
    app.config["RECRUIT_SYNC_EXPORT_MAX_ROWS"] = 2
    key = api_key(app)
    for path in ("/api/v1/export.csv", "/api/v1/export.xlsx"):
        response = app.test_client().get(path, headers=bearer(key))
        assert response.status_code == 413
        error = response.get_json()["error"]
        assert error["code"] == "export_too_large" and error["job_endpoint"] == "/api/v1/exports"
        assert error["rows"] == 3 and error["limit"] == 2
    app.config["RECRUIT_SYNC_EXPORT_MAX_ROWS"] = 3
    assert app.test_client().get("/api/v1/export.csv", headers=bearer(key)).status_code == 200
    assert count(app, Job) == 0


def test_bad_export_job_requests_are_refused_and_save_nothing(app, acme):
    key = api_key(app)
    client = app.test_client()
    make_invitation(app, org="Other", email="x@other.example")
    bad = [
        ({"format": "pdf"}, 422),
        ({}, 422),
        ({"format": "csv", "campaign": ["1"]}, 422),
        ({"format": "csv", "campaign": [1.5]}, 422),
        ({"format": "csv", "start": "2026-12-01", "end": "2026-11-01"}, 422),
        ({"format": "csv", "norm": "galaxy"}, 422),
        ({"format": "csv", "surprise": 1}, 422),
        ({"format": "csv", "campaign": [2**31]}, 422),
    ]
    for body, status in bad:
        response = client.post("/api/v1/exports", json=body, headers=bearer(key))
        assert response.status_code == status, body
        assert response.get_json()["error"]["message"]
    not_json = client.post("/api/v1/exports", data="format=csv", headers=bearer(key))
    assert not_json.status_code == 415
    with app.app_context():
        theirs = db.session.scalar(
            sa.select(Invitation.campaign_id)
            .join(Invitation.campaign)
            .where(sa.text("campaigns.organisation_id != :acme"))
            .params(acme=find_organisation("Acme").id)
        )
    assert theirs is not None
    refused = client.post(
        "/api/v1/exports", json={"format": "csv", "campaign": [theirs]}, headers=bearer(key)
    )
    assert refused.status_code == 404
    assert client.get("/api/v1/exports/999999", headers=bearer(key)).status_code == 404
    assert acme.post("/hr/export.xlsx", data={}).status_code == 400  # no CSRF token
    assert acme.get("/jobs/999999").status_code == 404
    assert count(app, Job) == 0


def test_large_imports_and_csv_exports_run_as_jobs(app, acme):
    app.config["RECRUIT_IMPORT_SYNC_MAX_ROWS"] = 2
    app.config["RECRUIT_CSV_STREAM_MAX_ROWS"] = 2
    csv = acme.post(
        "/hr/export.csv?sep=semicolon",
        data={"csrf_token": csrf_from(acme.get("/hr/export.xlsx").text)},
    )
    assert csv.status_code == 303
    data = fetch(acme, csv.headers["Location"] + "/file").get_data()
    assert len(pd.read_csv(io.BytesIO(data), sep=";", encoding="utf-8-sig")) == 3
    assert "Préparer le fichier" in acme.get("/hr/export.csv").text  # a GET starts nothing
    recruiter = logged_in(app, make_user(app, "recruiter"))
    with app.app_context():
        campaign_id = db.session.scalar(sa.select(Invitation.campaign_id).limit(1))
    lines = "".join(f"Nouvelle {i},nouvelle{i}@example.org\n" for i in range(3))
    preview = upload(recruiter, campaign_id, f"nom,email\n{lines}".encode())
    before = count(app, Invitation)
    started = confirm(recruiter, preview)
    assert started.status_code == 303 and started.headers["Location"].startswith("/jobs/")
    page = recruiter.get(started.headers["Location"]).text
    assert "3 invitation(s) créée(s)" in page
    assert count(app, Invitation) == before + 3
    with app.app_context():
        job = db.session.scalar(sa.select(Job).where(Job.kind == "import"))
        user = db.session.scalar(sa.select(User).where(User.role == "recruiter"))
        assert job.status == "done" and job.user_id == user.id and job.rows_total == 3


@pytest.mark.parametrize("job_id", [2**31, 10**17])
def test_an_id_past_the_columns_range_is_a_404(app, job_id):
    key = api_key(app)
    response = app.test_client().get(f"/api/v1/exports/{job_id}", headers=bearer(key))
    assert response.status_code == 404
    hr = logged_in(app, make_user(app, "hr"))
    assert hr.get(f"/jobs/{job_id}").status_code == 404
