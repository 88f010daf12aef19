"""Long work off the request: background jobs on a task queue (Huey), with the database as truth.

A request that starts long work records a ``Job`` (``store.start``), commits and hands its id to
the queue; a worker (``recruit worker``) claims the job, runs its kind's function with a
heartbeat and progress, and finishes it (``runner``). The queue only delivers ids: a job is
claimed by one worker at a time, picked up again when its worker dies, kept with its reason
when it fails (and retried on demand), and its file is deleted after 24 hours.

kinds.py: the registry of kinds (``kind -> function(job, progress)``); work.py: the kinds the
services do (exports, rescoring, reference norms); runner.py: claiming, running, requeueing,
purging; store.py: starting, finding, retrying and describing jobs for requests; queue.py: the
Huey instance and its tasks.
"""

from recruit.services.jobs import work  # noqa: F401 - registers the services' kinds
from recruit.services.jobs.kinds import KINDS, JobFailed, JobLost, Progress, register
from recruit.services.jobs.queue import install
from recruit.services.jobs.runner import purge_expired, requeue_stale, run
from recruit.services.jobs.store import (
    describe,
    download_headers,
    expired,
    file_of,
    file_stream,
    finished,
    for_api,
    for_user,
    keep_hours,
    percent,
    recent,
    retry,
    start,
    start_export,
)
from recruit.services.jobs.work import EXPORT_FORMATS, export_filters, export_parameters

__all__ = [
    "EXPORT_FORMATS",
    "KINDS",
    "JobFailed",
    "JobLost",
    "Progress",
    "describe",
    "download_headers",
    "expired",
    "export_filters",
    "export_parameters",
    "file_of",
    "file_stream",
    "finished",
    "for_api",
    "for_user",
    "install",
    "keep_hours",
    "percent",
    "purge_expired",
    "recent",
    "register",
    "requeue_stale",
    "retry",
    "run",
    "start",
    "start_export",
]
