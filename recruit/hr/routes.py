"""The HR dashboard and its exports: read-only, across the organisation."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from recruit.charts import bars, boxplot
from recruit.data import questions
from recruit.hr import services
from recruit.services import exports, jobs, results
from recruit.web import access, queryargs
from recruit.web.forms import PostButton

bp = Blueprint("hr", __name__, url_prefix="/hr")

hr_only = access.role_required("hr", "admin")


def _filters() -> tuple[list[int] | None, services.Period]:
    """The dashboard's filters: campaigns (none = all) and a period. A value that does not
    parse is a 400 naming it, never dropped (which would widen the selection to "all")."""
    ids = queryargs.ids("campaign") or None
    period = services.Period(*queryargs.period("start", "end"))
    for campaign_id in ids or ():
        access.campaign_or_404(campaign_id)
    return ids, period


@bp.get("/")
@hr_only
def dashboard():
    ids, period = _filters()
    bank = questions.bank()
    data = services.dashboard(bank, access.organisation_id(), ids, period)
    all_campaigns = services.selected_campaigns(access.organisation_id(), None)
    forms = {(c.form_id, c.language): bank.get(c.form_id, c.language) for c in data.campaigns}
    labels = {results.COMPOSITE: str(results.COMPOSITE_LABEL)}
    for form in forms.values():
        for scale, label in results.scale_labels(form).items():
            labels.setdefault(scale, label)
    # Each campaign's five-number summaries, computed once (hr.services.campaign_scores), feed
    # every scale's chart and its table.
    boxes, summaries = {}, {}
    for scale in data.scales:
        pools = [(s.title, s.raw[scale]) for s in data.scores if scale in s.raw]
        boxes[scale] = boxplot.boxplot_svg(
            pools,
            title=_("%(scale)s : notes brutes par campagne", scale=labels.get(scale, scale)),
            axis_label=_("note brute (0–100)"),
            low=0,
            high=100,
            chart_id=f"box-{scale}",
            missing=_("aucune donnée"),
        )
        summaries[scale] = pools
    stopped = sum(count for _page, count in data.drop_off)
    drop = (
        bars.bars_svg(
            [(_("Page %(n)s", n=page), count) for page, count in data.drop_off],
            title=_("Où les candidats s'arrêtent"),
            unit="",
            chart_id="dropoff",
            # Counts of people: an axis of whole numbers, at least 0 to 5.
            max_value=max(5, max(count for _page, count in data.drop_off)),
        )
        if stopped
        else None
    )
    return render_template(
        "hr/dashboard.html",
        data=data,
        all_campaigns=all_campaigns,
        selected=set(ids or []),
        labels=labels,
        boxes=boxes,
        summaries=summaries,
        drop=drop,
        query=request.query_string.decode(),
    )


def _export_filters() -> tuple[exports.ExportFilters, str]:
    """The dashboard's filters, the norm, and the CSV separator (checked for both exports, as
    the API does: a workbook asked with a bad `sep` is refused too)."""
    ids, period = _filters()
    norm = queryargs.choice("norm", results.NORMS, "campaign")
    sep = queryargs.choice("sep", tuple(exports.CSV_SEPARATORS), "comma")
    filters = exports.ExportFilters(
        campaign_ids=tuple(ids) if ids else None,
        date_from=period.start,
        date_to=period.end,
        norm=norm,
    )
    return filters, exports.CSV_SEPARATORS[sep]


@bp.route("/export.csv", methods=["GET", "POST"])
@hr_only
def export_csv():
    """Streamed at once up to RECRUIT_CSV_STREAM_MAX_ROWS rows; above, a job (POST: 303 to
    its page; GET, a link or a bookmark, shows the button that starts it)."""
    filters, sep = _export_filters()
    if exports.count_rows(access.organisation_id(), filters) > _stream_limit():
        if request.method == "GET":
            return _export_start_page("csv")
        return _start_export(filters, "csv", sep)
    frame, _context = _frame_or_409(filters, items=False)
    name = f"recruit-export-{date.today().isoformat()}.csv"
    return Response(
        exports.csv_chunks(frame, sep=sep, bom=True),
        content_type=exports.CSV_CONTENT_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/export.xlsx", methods=["GET", "POST"])
@hr_only
def export_xlsx():
    """The workbook is always a job: POST starts it (303 to its page); GET shows the button."""
    filters, sep = _export_filters()
    if request.method == "GET":
        return _export_start_page("xlsx")
    return _start_export(filters, "xlsx", sep)


def _stream_limit() -> int:
    return int(current_app.config["RECRUIT_CSV_STREAM_MAX_ROWS"])


def _export_start_page(file_format: str):
    return render_template(
        "hr/export_start.html",
        file_format=file_format,
        query=request.query_string.decode(),
        limit=_stream_limit(),
        form=PostButton(),
    )


def _start_export(filters: exports.ExportFilters, file_format: str, sep: str):
    if not PostButton().validate_on_submit():
        abort(400)
    job = jobs.start_export(
        access.organisation_id(),
        filters,
        file_format,
        sep=sep,
        language=str(get_locale() or "fr"),
        user=current_user,
    )
    return redirect(url_for("jobs.job", job_id=job.id), 303)


def _frame_or_409(filters: exports.ExportFilters, *, items: bool = True):
    try:
        return exports.export_frame(current_user.organisation_id, filters, items=items)
    except results.NormUnavailable:
        abort(409)
