"""The job pages every staff capability shares: a job's progress, its file, its retry.

A request that starts long work answers 303 to ``/jobs/<id>``. The page says what the job is
and how far it is (a percentage and the rows done), refreshes itself while the job runs (a meta
refresh without JavaScript; with it, jobs.js polls ``/jobs/<id>.json``), then links to the file.
Another organisation's job, or one of a role the user does not have, is 404; a file past its
24 hours is 410. HTTP only: recruit.services.jobs does the work.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from recruit.data.models import Job
from recruit.services import jobs
from recruit.web import access
from recruit.web.forms import PostButton

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
staff = access.role_required(*access.READ_ROLES)
REFRESH_SECONDS = 2


def _job_or_404(job_id: int) -> Job:
    job = jobs.for_user(access.id_or_404(job_id), current_user)
    if job is None:
        abort(404)
    return job


def links(job: Job) -> dict:
    """The job's URLs for its page's script."""
    urls = {
        "page": url_for("jobs.job", job_id=job.id),
        "status": url_for("jobs.status", job_id=job.id),
    }
    if jobs.file_of(job) is not None:
        urls["file"] = url_for("jobs.download", job_id=job.id)
    return urls


@bp.get("/")
@staff
def recent():
    return render_template("jobs/list.html", jobs=jobs.recent(current_user), kinds=jobs.KINDS)


@bp.get("/<int:job_id>")
@staff
def job(job_id: int):
    found = _job_or_404(job_id)
    return render_template(
        "jobs/job.html",
        job=found,
        kind=jobs.KINDS.get(found.kind),
        percent=jobs.percent(found),
        finished=jobs.finished(found),
        expired=jobs.expired(found),
        has_file=jobs.file_of(found) is not None,
        refresh=REFRESH_SECONDS,
        form=PostButton(),
    )


@bp.get("/<int:job_id>.json")
@staff
def status(job_id: int):
    found = _job_or_404(job_id)
    return jsonify({**jobs.describe(found), "links": links(found)})


@bp.get("/<int:job_id>/file")
@staff
def download(job_id: int):
    found = _job_or_404(job_id)
    path = jobs.file_of(found)
    if path is None:
        if jobs.expired(found) or found.status == "done":
            message = _(
                "Ce fichier n'est plus disponible : les fichiers sont gardés %(hours)s heures, "
                "puis supprimés. Relancez la tâche pour le préparer à nouveau.",
                hours=f"{jobs.keep_hours():g}",
            )
            return _notice(found, _("Fichier expiré"), message, 410)
        message = _("Le fichier n'est pas prêt : la tâche n'est pas terminée.")
        return _notice(found, _("Fichier pas encore prêt"), message, 409)
    return Response(
        jobs.file_stream(path),
        content_type=found.file_type,
        headers=jobs.download_headers(found, path),
    )


@bp.post("/<int:job_id>/retry")
@staff
def retry(job_id: int):
    found = _job_or_404(job_id)
    if not PostButton().validate_on_submit():
        abort(400)
    if not jobs.retry(found, user=current_user):
        message = _("Seule une tâche échouée ou expirée peut être relancée.")
        return _notice(found, _("Tâche en cours ou terminée"), message, 409)
    return redirect(url_for("jobs.job", job_id=found.id), 303)


def _notice(job: Job, title: str, message: str, status: int):
    return render_template("jobs/notice.html", job=job, title=title, message=message), status
