"""Running a job in a worker: claim it, beat its heartbeat, do its kind's work, and finish it
only while the claim still holds. Also the periodic work: requeueing the jobs of dead workers
and deleting files past their time.

The claim is a conditional update (queued -> running, or running with a stale heartbeat ->
running) that one worker only can win; each claim has its own token, and every later write of
the job (heartbeat, progress, done, failed) is conditional on that token, so a worker whose job
was taken over finds out at its next write and stops without finishing it. The heartbeat and
the progress go through their own connections and commit at once; the kind's own database work
stays in the session and is committed together with the job's "done".
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from recruit.data.models import Job, utcnow
from recruit.extensions import db
from recruit.services.jobs import kinds, queue

logger = logging.getLogger("recruit.jobs")
PROGRESS_INTERVAL = 0.5  # seconds: progress is written at most this often
JOBS = Job.__table__


def jobs_dir() -> Path:
    return Path(current_app.config["RECRUIT_JOBS_DIR"])


def folder_of(organisation_id: int | None) -> Path:
    """instance/jobs/<organisation id>/ (``operator`` for the command line's jobs)."""
    return jobs_dir() / (str(organisation_id) if organisation_id is not None else "operator")


def _seconds(name: str) -> float:
    return float(current_app.config[name])


def claim(job_id: int) -> str | None:
    """Take the job for this worker: its claim token, or None if it is not to be run here
    (done, failed, expired, or running with a live heartbeat elsewhere)."""
    token = f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(6)}"
    now = utcnow()
    stale_before = now - timedelta(seconds=_seconds("RECRUIT_JOB_STALE_SECONDS"))
    result = db.session.execute(
        sa.update(JOBS)
        .where(
            JOBS.c.id == job_id,
            sa.or_(
                JOBS.c.status == "queued",
                sa.and_(
                    JOBS.c.status == "running",
                    JOBS.c.heartbeat_at < stale_before,
                    JOBS.c.attempts < current_app.config["RECRUIT_JOB_MAX_ATTEMPTS"],
                ),
            ),
        )
        .values(
            status="running",
            claimed_by=token,
            attempts=JOBS.c.attempts + 1,
            heartbeat_at=now,
            started_at=now,
            error=None,
        )
    )
    db.session.commit()
    return token if result.rowcount == 1 else None


class Beat:
    """A claimed job's heartbeat (from a thread) and progress (from the job): the ``progress``
    a kind's function is handed (see recruit.services.jobs.kinds.Progress)."""

    def __init__(self, job: Job, token: str):
        self.engine = db.engine
        self.job_id, self.token = job.id, token
        self.folder = folder_of(job.organisation_id)
        self.interval = _seconds("RECRUIT_JOB_HEARTBEAT_SECONDS")
        self.done, self.total = 0, None
        self.output: tuple[str, str] | None = None
        self.part: Path | None = None
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._last = 0.0
        self._thread = threading.Thread(target=self._beat, name=f"job-{job.id}-beat", daemon=True)

    def _write(self, **values) -> None:
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(JOBS)
                .where(
                    JOBS.c.id == self.job_id,
                    JOBS.c.claimed_by == self.token,
                    JOBS.c.status == "running",
                )
                .values(heartbeat_at=utcnow(), **values)
            )
        if result.rowcount != 1:
            self.lost.set()

    def __call__(self, done: int, total: int | None = None) -> None:
        """Report ``done`` rows of ``total``; raises JobLost once the claim is gone."""
        if self.lost.is_set():
            raise kinds.JobLost()
        self.done = int(done)
        if total is not None:
            self.total = int(total)
        now = time.monotonic()
        if now - self._last >= PROGRESS_INTERVAL or self.done == self.total:
            self._last = now
            try:
                self._write(rows_done=self.done, rows_total=self.total)
            except sa.exc.OperationalError:  # the database busy: the next report says it
                logger.warning("job %s: progress not written (database busy)", self.job_id)
            if self.lost.is_set():
                raise kinds.JobLost()

    def file(self, name: str, mimetype: str) -> Path:
        """The path to write the job's file to; it is kept under ``name`` once the job is done."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.output = (name[:200], mimetype[:120])
        self.part = self.folder / f"{self.job_id}.{secrets.token_hex(8)}.part"
        return self.part

    def keep_file(self) -> Path | None:
        """Move the written file to its final, unguessable name; None if the job made none."""
        if self.part is None or not self.part.exists():
            return None
        suffix = Path(self.output[0]).suffix if self.output else ""
        final = self.folder / f"{self.job_id}-{secrets.token_hex(12)}{suffix}"
        os.replace(self.part, final)
        return final

    def discard_file(self) -> None:
        if self.part is not None:
            self.part.unlink(missing_ok=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._write()
            except Exception:  # noqa: BLE001 - a missed beat is retried at the next one
                logger.warning("job %s: heartbeat not written", self.job_id, exc_info=True)
            if self.lost.is_set():
                return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)


def run(job_id: int) -> str:
    """Claim and run one job; returns what became of it: done, failed, lost or not_claimed."""
    token = claim(job_id)
    if token is None:
        logger.info("job %s: not claimed (finished, or running elsewhere)", job_id)
        return "not_claimed"
    job = db.session.get(Job, job_id)
    kind = kinds.get(job.kind)
    language = (job.parameters or {}).get("language") or "fr"
    beat = Beat(job, token)
    outcome, reason = "done", None
    beat.start()
    try:
        with force_locale(language):
            if kind is None:
                raise kinds.JobFailed(_("Type de tâche inconnu : %(kind)s.", kind=job.kind))
            kind.function(job, beat)
    except kinds.JobLost:
        outcome = "lost"
    except kinds.JobFailed as exc:
        outcome, reason = "failed", str(exc)
    except Exception as exc:  # noqa: BLE001 - any failure of the work ends the job with a reason
        logger.exception("job %s (%s) failed", job_id, job.kind)
        with force_locale(language):
            reason = _(
                "Erreur inattendue (%(error)s). Relancez la tâche ; si l'erreur revient, "
                "signalez-la avec le numéro de la tâche.",
                error=type(exc).__name__,
            )
        outcome = "failed"
    finally:
        beat.stop()
    if outcome == "done" and _finish(job_id, token, beat):
        logger.info("job %s (%s) done", job_id, job.kind)
        return "done"
    db.session.rollback()
    beat.discard_file()
    if outcome == "failed":
        _fail(job_id, token, reason)
        return "failed"
    logger.warning("job %s: taken over by another worker, stopped without finishing", job_id)
    return "lost"


def _finish(job_id: int, token: str, beat: Beat) -> bool:
    """Mark the job done with its file, in the same transaction as the kind's own changes."""
    now = utcnow()
    total = beat.total if beat.total is not None else None
    values = {
        "status": "done",
        "finished_at": now,
        "heartbeat_at": now,
        "rows_done": total if total is not None else beat.done,
        "rows_total": total,
    }
    final = beat.keep_file()
    if final is not None:
        values.update(
            file_path=final.relative_to(jobs_dir()).as_posix(),
            file_name=beat.output[0],
            file_type=beat.output[1],
            file_size=final.stat().st_size,
            expires_at=now + timedelta(hours=float(current_app.config["RECRUIT_JOB_KEEP_HOURS"])),
        )
    result = db.session.execute(
        sa.update(JOBS)
        .where(JOBS.c.id == job_id, JOBS.c.claimed_by == token, JOBS.c.status == "running")
        .values(**values)
    )
    if result.rowcount != 1:
        db.session.rollback()
        if final is not None:
            final.unlink(missing_ok=True)
        return False
    db.session.commit()
    return True


def _fail(job_id: int, token: str, reason: str | None) -> None:
    db.session.execute(
        sa.update(JOBS)
        .where(JOBS.c.id == job_id, JOBS.c.claimed_by == token, JOBS.c.status == "running")
        .values(status="failed", error=(reason or "")[:500], finished_at=utcnow())
    )
    db.session.commit()


def requeue_stale() -> list[int]:
    """Put back in the queue the running jobs whose heartbeat is stale (their worker died) and
    the queued jobs nobody took for as long (their message was lost); a job interrupted
    RECRUIT_JOB_MAX_ATTEMPTS times fails instead. Returns the ids delivered again."""
    now = utcnow()
    stale_before = now - timedelta(seconds=_seconds("RECRUIT_JOB_STALE_SECONDS"))
    max_attempts = current_app.config["RECRUIT_JOB_MAX_ATTEMPTS"]
    stale = (JOBS.c.status == "running") & (JOBS.c.heartbeat_at < stale_before)
    spent = db.session.execute(
        sa.select(JOBS.c.id, JOBS.c.parameters).where(stale, JOBS.c.attempts >= max_attempts)
    ).all()
    for job_id, parameters in spent:
        with force_locale((parameters or {}).get("language") or "fr"):
            reason = _(
                "La tâche a été interrompue %(n)s fois (arrêt du serveur de tâches) : "
                "relancez-la ; si elle s'interrompt encore, signalez-le.",
                n=max_attempts,
            )
        db.session.execute(
            sa.update(JOBS)
            .where(JOBS.c.id == job_id, stale)
            .values(status="failed", finished_at=now, error=reason)
        )
    if spent:
        logger.warning(
            "job(s) %s interrupted %s times: failed", [r[0] for r in spent], max_attempts
        )
    waiting = (JOBS.c.status == "queued") & (
        (JOBS.c.heartbeat_at < stale_before) | JOBS.c.heartbeat_at.is_(None)
    )
    ids = list(db.session.scalars(sa.select(JOBS.c.id).where(stale | waiting)))
    if ids:
        db.session.execute(
            sa.update(JOBS)
            .where(JOBS.c.id.in_(ids), stale | waiting)
            .values(status="queued", claimed_by=None, heartbeat_at=now)
        )
    db.session.commit()
    for job_id in ids:
        queue.enqueue(job_id)
    if ids:
        logger.warning("requeued job(s) %s (stale heartbeat or never taken)", ids)
    return ids


def purge_expired() -> int:
    """Delete the files of jobs past their keeping time (the jobs become "expired") and parts
    left by interrupted workers; returns the number of jobs expired."""
    now = utcnow()
    expired = db.session.execute(
        sa.select(JOBS.c.id, JOBS.c.file_path).where(
            JOBS.c.status == "done", JOBS.c.expires_at <= now
        )
    ).all()
    if expired:
        db.session.execute(
            sa.update(JOBS)
            .where(JOBS.c.id.in_([job_id for job_id, _path in expired]), JOBS.c.status == "done")
            .values(status="expired", file_path=None)
        )
    db.session.commit()
    root = jobs_dir()
    for _job_id, path in expired:
        if path:
            (root / path).unlink(missing_ok=True)
    keep = timedelta(hours=float(current_app.config["RECRUIT_JOB_KEEP_HOURS"]))
    cutoff = time.time() - keep.total_seconds()
    for part in root.glob("*/*.part") if root.exists() else ():
        if part.stat().st_mtime < cutoff:
            part.unlink(missing_ok=True)
    return len(expired)
