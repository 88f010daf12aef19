"""The API's exports as jobs: POST /exports starts one (202), GET follows it and serves its file;
the synchronous exports refuse sets above RECRUIT_SYNC_EXPORT_MAX_ROWS (413, pointing here)."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, url_for
from flask_babel import get_locale

from recruit.api.errors import ApiError
from recruit.api.services import Caller, campaign_or_404
from recruit.data.models import Job
from recruit.services import exports, jobs

JOB_ENDPOINT = "/api/v1/exports"
TIMES = ("created_at", "started_at", "finished_at", "expires_at")


def filters_of(args: dict) -> exports.ExportFilters:
    """The export filters of a query string or a body (ExportArgsSchema, ExportJobRequestSchema)."""
    return exports.ExportFilters(
        campaign_ids=tuple(args["campaign"]) or None,
        date_from=args["start"],
        date_to=args["end"],
        norm=args["norm"],
    )


def check_sync_size(organisation_id: int, args: dict) -> None:
    """413 with a pointer to the job endpoint when the export is too large to answer at once."""
    limit = int(current_app.config["RECRUIT_SYNC_EXPORT_MAX_ROWS"])
    rows = exports.count_rows(organisation_id, filters_of(args))
    if rows > limit:
        raise ApiError(
            413,
            "export_too_large",
            f"This export holds {rows} rows, more than the {limit} a synchronous export "
            f"answers: POST the same filters (and a format) to {JOB_ENDPOINT} to export "
            "them as a job.",
            extra={"job_endpoint": JOB_ENDPOINT, "rows": rows, "limit": limit},
        )


def start(caller: Caller, body: dict) -> dict:
    """Start an export job for the key's organisation; every campaign named must be its own."""
    for campaign_id in body["campaign"]:
        campaign_or_404(caller.organisation_id, campaign_id)
    job = jobs.start_export(
        caller.organisation_id,
        filters_of(body),
        body["format"],
        sep=exports.CSV_SEPARATORS[body["sep"]],
        language=str(get_locale() or "fr"),
        api_key_id=caller.api_key_id,
    )
    return describe(job)


def job_or_404(organisation_id: int, job_id: int) -> Job:
    job = jobs.for_api(job_id, organisation_id)
    if job is None:
        raise ApiError(404, "not_found", "No such export job.")
    return job


def detail(organisation_id: int, job_id: int) -> dict:
    return describe(job_or_404(organisation_id, job_id))


def describe(job: Job) -> dict:
    described = jobs.describe(job)
    has_file = jobs.file_of(job) is not None
    return {
        **described,
        **{name: getattr(job, name) for name in TIMES},  # the schema writes them (UTC)
        "format": job.parameters.get("format"),
        "url": url_for("api.export_job", job_id=job.id),
        "file_url": url_for("api.export_job_file", job_id=job.id) if has_file else None,
    }


def file_of(organisation_id: int, job_id: int) -> tuple[Path, Job]:
    """The job's file; 410 once deleted after its time, 409 while the job is not done."""
    job = job_or_404(organisation_id, job_id)
    path = jobs.file_of(job)
    if path is not None:
        return path, job
    if jobs.expired(job) or job.status == "done":
        raise ApiError(
            410,
            "gone",
            f"This export's file was deleted {jobs.keep_hours():g} hours after it was made: "
            "start a new export.",
        )
    if job.status == "failed":
        raise ApiError(409, "job_failed", f"This export failed: {job.error}")
    raise ApiError(409, "not_ready", "This export is not done yet: poll its URL.")
