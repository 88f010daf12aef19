"""Jobs seen from a request: start one, find it for its user or API key, retry it, read it.

Each function that writes commits once, then (for start and retry) hands the id to the queue:
after the commit, so that the worker finds the row.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from recruit.data.models import Job, User, utcnow
from recruit.extensions import db
from recruit.services import audit
from recruit.services.jobs import kinds, queue, runner, work

FINISHED = ("done", "failed", "expired")
RETRYABLE = ("failed", "expired")
RECENT = 20


def start(
    kind: str,
    parameters: dict,
    *,
    language: str,
    organisation_id: int | None,
    user: User | None = None,
    api_key_id: int | None = None,
) -> Job:
    """Record a queued job, commit, and deliver it to a worker."""
    registered = kinds.get(kind)
    if registered is None:
        raise ValueError(f"unknown job kind: {kind!r}")
    job = Job(
        organisation_id=organisation_id,
        user_id=user.id if user is not None else None,
        api_key_id=api_key_id,
        role=registered.role,
        kind=kind,
        parameters={**parameters, "language": language},
        status="queued",
        rows_done=0,
        attempts=0,
        heartbeat_at=utcnow(),
    )
    db.session.add(job)
    db.session.flush()
    if organisation_id is not None:
        audit.record(
            "job_started",
            "job",
            job.id,
            user=user,
            organisation_id=organisation_id,
            kind=kind,
            api_key=api_key_id,
        )
    db.session.commit()
    queue.enqueue(job.id)
    return job


def start_export(
    organisation_id: int,
    filters,
    file_format: str,
    *,
    sep: str = ",",
    language: str,
    user: User | None = None,
    api_key_id: int | None = None,
) -> Job:
    """Start an export job (csv or xlsx) with the filters of recruit.services.exports."""
    parameters = work.export_parameters(filters, file_format, sep)
    return start(
        "export",
        parameters,
        language=language,
        organisation_id=organisation_id,
        user=user,
        api_key_id=api_key_id,
    )


def _visible_to(user: User):
    """The user's organisation, and the job's role (an admin sees every role's jobs)."""
    clauses = [Job.organisation_id == user.organisation_id]
    if user.role != "admin":
        clauses.append(Job.role == user.role)
    return clauses


# Ids are 32-bit columns: a larger one names no job (and PostgreSQL refuses to compare it).
MAX_JOB_ID = 2**31 - 1


def for_user(job_id: int, user: User) -> Job | None:
    """The job if ``user`` may see it; None for another organisation's or role's (a 404)."""
    if not 1 <= job_id <= MAX_JOB_ID:
        return None
    return db.session.scalar(sa.select(Job).where(Job.id == job_id, *_visible_to(user)))


def for_api(job_id: int, organisation_id: int, kind: str = "export") -> Job | None:
    """An export job of the API key's organisation; None otherwise (a 404)."""
    if not 1 <= job_id <= MAX_JOB_ID:
        return None
    return db.session.scalar(
        sa.select(Job).where(
            Job.id == job_id, Job.organisation_id == organisation_id, Job.kind == kind
        )
    )


def recent(user: User, limit: int = RECENT) -> list[Job]:
    """The user's own latest jobs, newest first."""
    return list(
        db.session.scalars(
            sa.select(Job)
            .where(Job.user_id == user.id, *_visible_to(user))
            .order_by(Job.created_at.desc(), Job.id.desc())
            .limit(limit)
        )
    )


def retry(job: Job, *, user: User | None = None) -> bool:
    """Queue a failed (or expired) job again from the start; False if it is not one."""
    result = db.session.execute(
        sa.update(Job)
        .where(Job.id == job.id, Job.status.in_(RETRYABLE))
        .values(
            status="queued",
            attempts=0,
            rows_done=0,
            rows_total=None,
            error=None,
            claimed_by=None,
            heartbeat_at=utcnow(),
            started_at=None,
            finished_at=None,
            expires_at=None,
            file_path=None,
            file_name=None,
            file_type=None,
            file_size=None,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return False
    if job.organisation_id is not None:
        audit.record(
            "job_retried",
            "job",
            job.id,
            user=user,
            organisation_id=job.organisation_id,
            kind=job.kind,
        )
    db.session.commit()
    queue.enqueue(job.id)
    return True


def keep_hours() -> float:
    """How long a job's file is kept (RECRUIT_JOB_KEEP_HOURS)."""
    return float(current_app.config["RECRUIT_JOB_KEEP_HOURS"])


def finished(job: Job) -> bool:
    return job.status in FINISHED


def percent(job: Job) -> int | None:
    """How far the job is, 0 to 100; None while its size is unknown."""
    if job.status == "done":
        return 100
    if not job.rows_total:
        return None
    return max(0, min(99, job.rows_done * 100 // job.rows_total))


def expired(job: Job, now: datetime | None = None) -> bool:
    """Its file was kept its time and is gone (or is past it and about to be)."""
    now = now or utcnow()
    return job.status == "expired" or (
        job.status == "done" and job.expires_at is not None and job.expires_at <= now
    )


def file_of(job: Job) -> Path | None:
    """The job's file on disk while it is kept; None if it has none (or none any more)."""
    if job.status != "done" or not job.file_path or expired(job):
        return None
    path = runner.jobs_dir() / job.file_path
    return path if path.is_file() else None


def file_stream(path: Path):
    """The file's bytes in chunks, closed once read (a response that is never closed, as a test
    client's may be, leaves no file open)."""
    from recruit.services.exports.xlsx import file_chunks

    return file_chunks(open(path, "rb"))  # noqa: SIM115 - closed by file_chunks


def download_headers(job: Job, path: Path) -> dict:
    """Content-Disposition (the file's name, RFC 6266) and Content-Length of a job's file."""
    from urllib.parse import quote

    name = job.file_name or path.name
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return {"Content-Disposition": disposition, "Content-Length": str(path.stat().st_size)}


def describe(job: Job) -> dict:
    """The job as JSON (the job page's script, the API); links are the caller's to add."""
    return {
        "id": job.id,
        "kind": job.kind,
        "status": "expired" if expired(job) else job.status,
        "finished": finished(job),
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "percent": percent(job),
        "error": job.error,
        "attempts": job.attempts,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "expires_at": _iso(job.expires_at),
        "file_name": job.file_name if job.status == "done" else None,
        "file_size": job.file_size if job.status == "done" else None,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None
