"""The kinds of job the services do: exports, rescoring a form, refreshing reference norms.

(Large candidate imports are registered by recruit.recruiter.imports, which owns them.)
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from recruit.data import questions
from recruit.data.models import Campaign, Invitation
from recruit.extensions import db
from recruit.services import exports, results
from recruit.services.jobs.kinds import JobFailed, register

EXPORT_FORMATS = ("csv", "xlsx")
CHUNK_ROWS = 5000


def export_parameters(filters: exports.ExportFilters, file_format: str, sep: str = ",") -> dict:
    """An export's filters as a job's JSON parameters."""
    return {
        "format": file_format,
        "campaign_ids": list(filters.campaign_ids) if filters.campaign_ids else None,
        "date_from": filters.date_from.isoformat() if filters.date_from else None,
        "date_to": filters.date_to.isoformat() if filters.date_to else None,
        "norm": filters.norm,
        "sep": sep,
    }


def export_filters(parameters: dict) -> exports.ExportFilters:
    """The ExportFilters of a job's parameters (see export_parameters)."""
    ids = parameters.get("campaign_ids")
    return exports.ExportFilters(
        campaign_ids=tuple(int(i) for i in ids) if ids else None,
        date_from=date.fromisoformat(parameters["date_from"]) if parameters["date_from"] else None,
        date_to=date.fromisoformat(parameters["date_to"]) if parameters["date_to"] else None,
        norm=parameters["norm"],
    )


@register("export", role="hr", label=_l("Export des résultats"))
def export(job, progress) -> None:
    """The export as a file: the rows are built, then written chunk by chunk (the progress)."""
    parameters = job.parameters
    file_format = parameters["format"]
    try:
        frame, context = exports.export_frame(
            job.organisation_id, export_filters(parameters), items=file_format == "xlsx"
        )
    except results.NormUnavailable:
        raise JobFailed(
            _(
                "La norme de référence n'est pas encore calculée pour ces campagnes : choisissez "
                "une autre norme, ou demandez à un administrateur de la calculer."
            )
        ) from None
    total = len(frame)
    progress(0, total)
    name = f"recruit-export-{date.today().isoformat()}.{file_format}"
    if file_format == "xlsx":
        if total + 1 > exports.EXCEL_MAX_ROWS:
            raise JobFailed(
                _(
                    "Un classeur Excel contient au plus %(n)s lignes : choisissez l'export CSV.",
                    n=f"{exports.EXCEL_MAX_ROWS - 1:,}".replace(",", "\u202f"),
                )
            )
        path = progress.file(name, exports.XLSX_MIMETYPE)
        exports.write_xlsx(
            frame, context, str(path), chunk_rows=CHUNK_ROWS, progress=lambda n: progress(n, total)
        )
    else:
        path = progress.file(name, exports.CSV_CONTENT_TYPE)
        chunks = exports.csv_chunks(frame, sep=parameters["sep"], bom=True, chunk_rows=CHUNK_ROWS)
        with open(path, "wb") as out:
            out.write(next(chunks))  # the header
            for number, chunk in enumerate(chunks, start=1):
                out.write(chunk)
                progress(min(number * CHUNK_ROWS, total), total)
    progress(total, total)


@register("rescore", role="admin", label=_l("Recotation d'un questionnaire"))
def rescore(job, progress) -> None:
    """``recruit rescore`` in a worker: every stored score of a form, in one transaction."""
    bank = questions.bank()
    form_id = job.parameters["form_id"]
    if form_id not in bank.form_ids():
        raise JobFailed(_("Le questionnaire %(form)s n'est pas dans la banque.", form=form_id))
    completed = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Invitation)
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .where(Campaign.form_id == form_id, Invitation.status == "completed")
    )
    # Told before the work writes: on SQLite no other connection can write during it.
    progress(0, int(completed or 0))
    report = results.rescore_form(bank, form_id)
    job.parameters = {
        **job.parameters,
        "summary": _(
            "%(n)s test(s) recoté(s), %(changed)s note(s) modifiée(s).",
            n=report.rescored,
            changed=report.changed,
        ),
    }


@register("norms_refresh", role="admin", label=_l("Norme de référence"))
def refresh_norms(job, progress) -> None:
    """``recruit norms refresh`` for one organisation in a worker: one norm per form used."""
    parameters = job.parameters
    form_ids = (
        [parameters["form_id"]]
        if parameters.get("form_id")
        else results.completed_form_ids(job.organisation_id)
    )
    progress(0, len(form_ids))
    built = [
        results.refresh_reference_norm(
            job.organisation_id, form_id, method=parameters.get("method", "standard")
        )
        for form_id in form_ids
    ]
    n = sum(norm is not None for norm in built)
    job.parameters = {
        **parameters,
        "summary": _("%(n)s norme(s) de référence calculée(s).", n=n),
    }
