"""The task queue (Huey): it only delivers job ids to the workers; the jobs table is the truth.

``RECRUIT_QUEUE_URL`` chooses the broker: empty (default) a SQLite file in the instance folder
(one box, like the default database); ``redis://`` or ``rediss://`` Redis; ``postgresql://``
PostgreSQL (Huey's own tables); ``sqlite:///path`` another SQLite file; ``immediate`` runs each
job in the process that starts it, at once (tests and debugging). Messages are signed with the
app's SECRET_KEY (Huey's SignedSerializer): a worker runs nothing the app did not enqueue.

Periodic tasks: every minute, jobs whose heartbeat is stale go back to the queue (their worker
died); every quarter of an hour, files past their 24 hours are deleted. A worker starting up
does the first at once and again once a heartbeat it may have missed has gone stale.
"""

from __future__ import annotations

import logging
from pathlib import Path

import huey
from flask import Flask, current_app
from huey.serializer import SignedSerializer

EXTENSION = "recruit.jobs"
QUEUE_NAME = "recruit-jobs"
# An infrastructure error (the database unreachable) before a job is claimed: try again later.
DELIVERY_RETRIES = 5
DELIVERY_RETRY_SECONDS = 10

logger = logging.getLogger("recruit.jobs")


def make_huey(url: str, instance_path: str, secret: str) -> huey.Huey:
    """The Huey instance for ``RECRUIT_QUEUE_URL`` (see the module docstring)."""
    options = {"results": False, "serializer": SignedSerializer(secret=secret, salt=QUEUE_NAME)}
    url = (url or "").strip()
    if url == "immediate":
        return huey.MemoryHuey(QUEUE_NAME, immediate=True, **options)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return huey.RedisHuey(QUEUE_NAME, url=url, **options)
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        dsn = "postgresql://" + url.partition("://")[2]  # psycopg's own form
        return huey.PostgresHuey(QUEUE_NAME, dsn=dsn, **options)
    if url.startswith("sqlite:///"):
        filename = url.removeprefix("sqlite:///")
    elif not url:
        filename = str(Path(instance_path) / "queue.sqlite3")
    else:
        raise ValueError(
            "RECRUIT_QUEUE_URL: use redis://..., postgresql://..., sqlite:///PATH, immediate, "
            f"or leave it empty for the instance's SQLite file, not {url!r}"
        )
    Path(filename).parent.mkdir(parents=True, exist_ok=True)
    return huey.SqliteHuey(QUEUE_NAME, filename=filename, **options)


class JobQueue:
    """The app's queue: its Huey instance and the tasks registered on it."""

    def __init__(self, app: Flask):
        from recruit.services.jobs import runner

        self.huey = make_huey(
            app.config["RECRUIT_QUEUE_URL"], app.instance_path, app.config["SECRET_KEY"]
        )

        @self.huey.task(retries=DELIVERY_RETRIES, retry_delay=DELIVERY_RETRY_SECONDS)
        def run_job(job_id: int) -> None:
            with app.app_context():
                runner.run(job_id)

        @self.huey.task()
        def reclaim() -> None:
            with app.app_context():
                runner.requeue_stale()

        @self.huey.periodic_task(huey.crontab(minute="*"))
        def reclaim_every_minute() -> None:
            with app.app_context():
                runner.requeue_stale()

        @self.huey.periodic_task(huey.crontab(minute="*/15"))
        def purge_expired_files() -> None:
            with app.app_context():
                runner.purge_expired()

        self.run_job, self.reclaim = run_job, reclaim

    def enqueue(self, job_id: int) -> None:
        """Deliver a job's id to a worker (at once, in this process, in immediate mode)."""
        self.run_job(job_id)

    def consumer(self, *, workers: int, stale_seconds: float):
        """A Huey consumer of ``workers`` threads; stale jobs are requeued at its start and once
        more when a heartbeat missed just before it started has gone stale."""
        self.reclaim()
        self.reclaim.schedule(delay=stale_seconds + 1)
        return self.huey.create_consumer(
            workers=workers, worker_type="thread", initial_delay=0.1, max_delay=1.0
        )


def install(app: Flask) -> JobQueue:
    queue = app.extensions[EXTENSION] = JobQueue(app)
    return queue


def enqueue(job_id: int) -> None:
    """Deliver ``job_id`` to a worker; if the broker cannot be reached the job stays queued and
    the periodic requeue delivers it later (the database keeps it, not the broker)."""
    try:
        current_app.extensions[EXTENSION].enqueue(job_id)
    except Exception:  # noqa: BLE001 - the broker down must not fail the request
        logger.exception("job %s: could not reach the task queue, left for the requeue", job_id)
