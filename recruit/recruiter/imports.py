"""Bulk invitations from a spreadsheet: the checked preview of a file, then its confirmation.

The file is read by the pure core (``recruit.core.spreadsheets``); this module checks its rows
against the people already invited, keeps a clean file as an ``ImportBatch`` waiting for the
recruiter's word, and then creates every invitation of it, all or nothing, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from recruit.core import spreadsheets, textcheck
from recruit.data.models import Campaign, ImportBatch, Job, User, utcnow
from recruit.extensions import db
from recruit.recruiter.services import Outcome, finish
from recruit.services import audit, invitations, jobs

IMPORT_KIND = "import"


@dataclass(frozen=True)
class Preview:
    """A file checked: its rows, its problems by line, and the batch kept when it has none.

    ``filename`` is the name shown (control characters removed, ``renamed`` if any were);
    ``encoding`` is a CSV's text encoding, None for XLSX."""

    rows: list[spreadsheets.ImportRow]
    problems: list[spreadsheets.ImportProblem]
    batch: ImportBatch | None
    filename: str
    renamed: bool
    encoding: str | None


def preview(campaign: Campaign, user: User, filename: str, data: bytes) -> Preview:
    """Check an uploaded file; keep it as a batch to confirm if every row can be invited."""
    # Control characters in a name (NUL, right-to-left override) hide what the file really is.
    shown = textcheck.strip_controls(filename)
    parsed = spreadsheets.parse_candidates(data, shown)
    rows, problems = parsed.rows, parsed.problems
    taken = invitations.already_invited(campaign, [r.email for r in rows])
    problems += [
        spreadsheets.ImportProblem(r.line, "email", "already_invited", r.email)
        for r in rows
        if r.email.lower() in taken
    ]
    batch = None
    if not problems and rows:
        batch = ImportBatch(
            campaign_id=campaign.id,
            user_id=user.id,
            filename=shown[:200],
            rows=[
                {"line": r.line, "name": r.name, "email": r.email, "external_id": r.external_id}
                for r in rows
            ],
        )
        db.session.add(batch)
        db.session.commit()
    return Preview(
        rows=rows,
        problems=sorted(problems, key=lambda p: (p.line or 0, p.field or "")),
        batch=batch,
        filename=shown,
        renamed=shown != filename,
        encoding=parsed.encoding,
    )


@dataclass(frozen=True)
class Started:
    """A file too large to import within the request: the job that imports it."""

    job_id: int


def confirm(campaign: Campaign, batch_id: int, user: User) -> Outcome | Started | None:
    """Create every invitation of a checked file, all or nothing; None if there is no such file.

    Nothing is imported twice, into a closed campaign, or when someone of the file was invited
    since the preview (the outcome then asks for the file again, to show who). A file of more
    than RECRUIT_IMPORT_SYNC_MAX_ROWS lines is imported by a job instead (``Started``)."""
    peek = _batch(campaign, batch_id)
    if peek is None:
        return None
    limit = current_app.config["RECRUIT_IMPORT_SYNC_MAX_ROWS"]
    if peek.imported_at is None and len(peek.rows) > limit:
        return Started(_import_job(campaign, peek, user))
    done = _invite_batch(campaign, batch_id)
    if not isinstance(done, int):
        return done
    finish("candidates_imported", "campaign", campaign.id, count=done, batch=batch_id)
    return Outcome(_imported_message(done))


def _batch(campaign: Campaign, batch_id: int) -> ImportBatch | None:
    return db.session.scalar(
        sa.select(ImportBatch).where(
            ImportBatch.id == batch_id, ImportBatch.campaign_id == campaign.id
        )
    )


def _imported_message(n: int) -> str:
    return _(
        "%(n)s invitation(s) créée(s). Envoyez les e-mails quand vous êtes prêt.",
        n=n,
    )


def _invite_batch(campaign: Campaign, batch_id: int) -> int | Outcome | None:
    """Invite the file's people (without committing): how many, or why not (an Outcome)."""
    # Before reading the batch: a double click imports once, a concurrent invite waits.
    invitations.lock_for_invitations(campaign)
    batch = _batch(campaign, batch_id)
    if batch is None:
        return None
    if batch.imported_at is not None:
        return Outcome(_("Ce fichier a déjà été importé."), "error")
    if campaign.status != "open":
        return Outcome(_("Cette campagne est clôturée."), "error")
    # Someone may have been invited since the preview: check again, import nothing if so.
    taken = invitations.already_invited(campaign, [r["email"] for r in batch.rows])
    if taken:
        return Outcome(
            _(
                "%(n)s personne(s) du fichier ont été invitées entre-temps : rien n'a été importé, "
                "renvoyez le fichier pour voir le détail.",
                n=len(taken),
            ),
            "error",
            resend=True,
        )
    invited = invitations.invite_many(campaign, batch.rows)
    batch.imported_at = utcnow()
    return len(invited)


def _import_job(campaign: Campaign, batch: ImportBatch, user: User) -> int:
    """The job importing ``batch`` (the one already queued or running for it, if any)."""
    for job in db.session.scalars(
        sa.select(Job).where(
            Job.kind == IMPORT_KIND,
            Job.organisation_id == campaign.organisation_id,
            Job.status.in_(("queued", "running")),
        )
    ):
        if (job.parameters or {}).get("batch_id") == batch.id:
            return job.id
    job = jobs.start(
        IMPORT_KIND,
        {"campaign_id": campaign.id, "batch_id": batch.id, "lines": len(batch.rows)},
        language=str(get_locale() or "fr"),
        organisation_id=campaign.organisation_id,
        user=user,
    )
    return job.id


@jobs.register(IMPORT_KIND, role="recruiter", label=_l("Import de candidats"))
def import_in_background(job, progress) -> None:
    """A large checked file imported by a worker: all or nothing, in the job's transaction."""
    parameters = job.parameters
    campaign = db.session.scalar(
        sa.select(Campaign).where(
            Campaign.id == parameters["campaign_id"],
            Campaign.organisation_id == job.organisation_id,
        )
    )
    if campaign is None:
        raise jobs.JobFailed(_("Cette campagne n'existe plus."))
    # Told before the import writes: on SQLite no other connection writes during it.
    progress(0, parameters.get("lines"))
    done = _invite_batch(campaign, parameters["batch_id"])
    if done is None:
        raise jobs.JobFailed(_("Ce fichier n'existe plus : envoyez-le à nouveau."))
    if not isinstance(done, int):
        raise jobs.JobFailed(done.message)
    user = db.session.get(User, job.user_id) if job.user_id is not None else None
    audit.record(
        "candidates_imported",
        "campaign",
        campaign.id,
        user=user,
        organisation_id=campaign.organisation_id,
        count=done,
        batch=parameters["batch_id"],
        job=job.id,
    )
    job.parameters = {**parameters, "summary": _imported_message(done)}
