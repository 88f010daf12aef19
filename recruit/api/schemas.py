"""Marshmallow schemas of the JSON API: they parse requests, shape responses and write the
OpenAPI document (flask-smorest reads them), so the document cannot drift from the code."""

from __future__ import annotations

from datetime import UTC

import marshmallow as ma
from marshmallow import fields, validate

from recruit.core import textcheck
from recruit.services import exports
from recruit.services.results import NORMS

MAX_PER_PAGE = 500
MAX_PAGE = 1_000_000
MAX_CANDIDATES = 5000
TITLE_MAX = 160  # Campaign.title, Campaign.site, Candidate.name
EXTERNAL_ID_MAX = 64  # Candidate.external_id
INVITATION_STATES = ("pending", "started", "completed", "revoked", "expired")
CAMPAIGN_STATES = ("open", "closed")


def is_clean_text(value: str) -> bool:
    """No control character, bidirectional mark or lone surrogate (recruit.core.textcheck)."""
    return not textcheck.has_control_chars(value)


class Text(fields.String):
    """A string stripped of surrounding spaces, refused if it holds control characters."""

    default_error_messages = {
        "control": "Must not contain control characters (bidirectional marks, NUL...)."
    }

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not is_clean_text(text):
            raise self.make_error("control")
        return text


class UtcDateTime(fields.DateTime):
    """Our naive-UTC columns, written as RFC 3339 with their offset (+00:00)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


def _nullable_float(description: str) -> fields.Float:
    return fields.Float(required=True, allow_none=True, metadata={"description": description})


# --- Errors ---------------------------------------------------------------------------------


class ProblemSchema(ma.Schema):
    index = fields.Integer(
        allow_none=True,
        metadata={"description": "Position of the row in the request's list (from 0), if any."},
    )
    field = fields.String(required=True, allow_none=True)
    code = fields.String(required=True)
    message = fields.String(required=True)


class ErrorDetailSchema(ma.Schema):
    code = fields.String(
        required=True,
        metadata={"description": "Stable, machine-readable: `not_found`, `invalid_key`, ..."},
    )
    message = fields.String(required=True, metadata={"description": "For a developer, English."})
    field = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The field or parameter concerned, if one is."},
    )
    problems = fields.List(
        fields.Nested(ProblemSchema),
        metadata={"description": "Every problem found (validation errors), by field and row."},
    )
    job_endpoint = fields.String(
        metadata={"description": "413 on a synchronous export: POST here to export as a job."}
    )
    rows = fields.Integer(metadata={"description": "413: the rows the export would hold."})
    limit = fields.Integer(metadata={"description": "413: the most a synchronous export holds."})


class ErrorSchema(ma.Schema):
    """Every error of the API, whatever its status."""

    error = fields.Nested(ErrorDetailSchema, required=True)


# --- Query strings --------------------------------------------------------------------------


class PageArgsSchema(ma.Schema):
    page = fields.Integer(
        load_default=1,
        validate=validate.Range(1, MAX_PAGE),
        metadata={"description": "Page number, from 1."},
    )
    per_page = fields.Integer(
        load_default=50,
        validate=validate.Range(1, MAX_PER_PAGE),
        metadata={"description": f"Items per page, 1 to {MAX_PER_PAGE}."},
    )


class CampaignListArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(CAMPAIGN_STATES))


class InvitationListArgsSchema(PageArgsSchema):
    status = fields.String(
        validate=validate.OneOf(INVITATION_STATES),
        metadata={"description": "Only invitations in this state (expired: past their date)."},
    )


class ResultsArgsSchema(PageArgsSchema):
    norm = fields.String(
        load_default="campaign",
        validate=validate.OneOf(NORMS),
        metadata={
            "description": "campaign: the campaign is its own pool; pooled: same here (one "
            "campaign); reference: the organisation's stored reference norm of the form."
        },
    )


class PageSchema(ma.Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={"description": "Items over all pages."})
    pages = fields.Integer(required=True, metadata={"description": "0 when there is no item."})


# --- Forms ----------------------------------------------------------------------------------


class ScaleSchema(ma.Schema):
    id = fields.String(required=True)
    label = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "Label per language."},
    )
    weight = fields.Float(required=True, metadata={"description": "Weight in the composite."})


class FormSchema(ma.Schema):
    id = fields.String(required=True)
    languages = fields.List(fields.String(), required=True)
    title = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    scales = fields.List(fields.Nested(ScaleSchema), required=True)
    item_count = fields.Integer(required=True)
    minutes = fields.Integer(required=True, metadata={"description": "Expected duration."})
    version = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "Content hash per language, as stored with every score."},
    )


class FormPageSchema(PageSchema):
    items = fields.List(fields.Nested(FormSchema), required=True)


# --- Campaigns ------------------------------------------------------------------------------


class CampaignCreateSchema(ma.Schema):
    title = Text(required=True, validate=validate.Length(1, TITLE_MAX))
    site = Text(load_default="", validate=validate.Length(0, TITLE_MAX))
    form_id = fields.String(required=True, metadata={"description": "See GET /api/v1/forms."})
    language = fields.String(required=True, metadata={"description": "One of the form's."})
    invitation_days = fields.Integer(
        load_default=14,
        strict=True,  # 14.5 is refused, not cut down to 14
        validate=validate.Range(1, 365),
        metadata={"description": "Days a personal link stays valid."},
    )
    deadline = fields.Date(
        load_default=None,
        allow_none=True,
        metadata={"description": "Last day of the campaign (ISO date, today or later)."},
    )


class CountsSchema(ma.Schema):
    invited = fields.Integer(required=True, metadata={"description": "Every link created."})
    started = fields.Integer(required=True)
    completed = fields.Integer(required=True)
    expired = fields.Integer(required=True)
    revoked = fields.Integer(required=True)


class CampaignSchema(ma.Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    site = fields.String(required=True)
    form_id = fields.String(required=True)
    language = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(CAMPAIGN_STATES))
    invitation_days = fields.Integer(required=True)
    deadline = fields.Date(required=True, allow_none=True)
    created_at = UtcDateTime(required=True)
    closed_at = UtcDateTime(required=True, allow_none=True)
    counts = fields.Nested(CountsSchema, required=True)
    completion_rate = _nullable_float("Completed out of the links not revoked, in %.")


class CampaignPageSchema(PageSchema):
    items = fields.List(fields.Nested(CampaignSchema), required=True)


# --- Invitations ----------------------------------------------------------------------------


class CandidateRowSchema(ma.Schema):
    """One candidate to invite (documentation: the rows are checked one by one in the view)."""

    name = fields.String(required=True, validate=validate.Length(1, TITLE_MAX))
    email = fields.String(
        required=True,
        validate=validate.Length(1, 254),
        metadata={"format": "email"},
    )
    external_id = fields.String(
        allow_none=True,
        validate=validate.Length(0, EXTERNAL_ID_MAX),
        metadata={"description": "The ATS's own id of the candidate."},
    )


class InvitationRequestSchema(ma.Schema):
    candidates = fields.List(
        fields.Nested(CandidateRowSchema),
        required=True,
        validate=validate.Length(1, MAX_CANDIDATES),
    )
    send_email = fields.Boolean(
        load_default=False,
        metadata={"description": "Queue the invitation emails (default: the ATS sends links)."},
    )


class InvitationSchema(ma.Schema):
    id = fields.Integer(required=True)
    campaign_id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    external_id = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(INVITATION_STATES))
    created_at = UtcDateTime(required=True)
    expires_at = UtcDateTime(required=True)
    started_at = UtcDateTime(required=True, allow_none=True)
    completed_at = UtcDateTime(required=True, allow_none=True)
    link = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The personal link, while it can still be used (else null)."},
    )


class InvitationPageSchema(PageSchema):
    items = fields.List(fields.Nested(InvitationSchema), required=True)


class InvitationBatchSchema(ma.Schema):
    items = fields.List(fields.Nested(InvitationSchema), required=True)
    send_email = fields.Boolean(required=True, metadata={"description": "Emails were queued."})


# --- Results --------------------------------------------------------------------------------


class ScoreSchema(ma.Schema):
    raw = _nullable_float("Raw score, 0..100.")
    z = _nullable_float("Standard score on the norm.")
    t = _nullable_float("T score: 50 + 10 z.")
    pct = _nullable_float("Percentile rank (mid-rank), or 100 Phi(z) on small pools.")
    sten = fields.Integer(required=True, allow_none=True)
    stanine = fields.Integer(required=True, allow_none=True)


class NormSchema(ma.Schema):
    kind = fields.String(required=True, validate=validate.OneOf(NORMS))
    method = fields.String(required=True)
    pool = fields.String(required=True, allow_none=True)
    n = fields.Integer(required=True, allow_none=True, metadata={"description": "Pool size."})
    provisional = fields.Boolean(
        required=True,
        allow_none=True,
        metadata={"description": "A small pool, shrunk toward the reference (see DESIGN)."},
    )
    built_at = UtcDateTime(
        required=True, allow_none=True, metadata={"description": "For a reference norm."}
    )


class ResultSchema(ma.Schema):
    invitation_id = fields.Integer(required=True)
    external_id = fields.String(required=True, allow_none=True)
    status = fields.String(required=True)
    completed_at = UtcDateTime(required=True, allow_none=True)
    form_version = fields.String(required=True)
    scoring_method = fields.String(required=True)
    flags = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "What to check before trusting the score; `uniform_ratings`: the "
            "ratings hardly vary, so the rating items are left out of the scores."
        },
    )
    scores = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(ScoreSchema),
        required=True,
        metadata={"description": "`composite` and every scale id."},
    )


class ResultPageSchema(PageSchema):
    campaign_id = fields.Integer(required=True)
    norm = fields.Nested(NormSchema, required=True)
    scales = fields.List(
        fields.String(), required=True, metadata={"description": "composite, then each scale."}
    )
    items = fields.List(fields.Nested(ResultSchema), required=True)


class ExportArgsSchema(ma.Schema):
    """The dashboard's filters, for the exports."""

    campaign = fields.List(
        fields.Integer(validate=validate.Range(min=1, max=2**31 - 1)),
        load_default=list,
        metadata={"description": "Campaign ids to export (repeat the parameter); none = all."},
    )
    start = fields.Date(
        load_default=None,
        metadata={"description": "First day (inclusive) of completion, ISO date."},
    )
    end = fields.Date(
        load_default=None, metadata={"description": "Last day (inclusive) of completion, ISO date."}
    )
    norm = fields.String(load_default="campaign", validate=validate.OneOf(NORMS))
    sep = fields.String(
        load_default="comma",
        validate=validate.OneOf(list(exports.CSV_SEPARATORS)),
        metadata={"description": "CSV only: semicolon for French Excel. Decimals use a point."},
    )

    @ma.validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ma.ValidationError("start must not be after end.", field_name="end")


# --- Export jobs ----------------------------------------------------------------------------

EXPORT_FORMATS = ("csv", "xlsx")  # recruit.services.jobs.EXPORT_FORMATS
JOB_STATES = ("queued", "running", "done", "failed", "expired")


class ExportJobRequestSchema(ma.Schema):
    """POST /exports: a file format and the filters of the synchronous exports, as JSON."""

    format = fields.String(required=True, validate=validate.OneOf(EXPORT_FORMATS))
    campaign = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1)),
        load_default=list,
        validate=validate.Length(max=1000),
        metadata={"description": "Campaign ids to export; none or empty = all."},
    )
    start = fields.Date(
        load_default=None,
        allow_none=True,
        metadata={"description": "First day (inclusive) of completion, ISO date."},
    )
    end = fields.Date(
        load_default=None,
        allow_none=True,
        metadata={"description": "Last day (inclusive) of completion, ISO date."},
    )
    norm = fields.String(load_default="campaign", validate=validate.OneOf(NORMS))
    sep = fields.String(
        load_default="comma",
        validate=validate.OneOf(list(exports.CSV_SEPARATORS)),
        metadata={"description": "CSV only: semicolon for French Excel."},
    )

    @ma.validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ma.ValidationError("start must not be after end.", field_name="end")


class ExportJobSchema(ma.Schema):
    """An export job: where it is, and its file once done (kept 24 hours)."""

    id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(JOB_STATES))
    format = fields.String(required=True, validate=validate.OneOf(EXPORT_FORMATS))
    rows_done = fields.Integer(required=True)
    rows_total = fields.Integer(
        required=True, allow_none=True, metadata={"description": "Unknown until the rows are read."}
    )
    percent = fields.Integer(required=True, allow_none=True)
    error = fields.String(
        required=True, allow_none=True, metadata={"description": "Why it failed, if it did."}
    )
    attempts = fields.Integer(required=True)
    created_at = UtcDateTime(required=True)
    started_at = UtcDateTime(required=True, allow_none=True)
    finished_at = UtcDateTime(required=True, allow_none=True)
    expires_at = UtcDateTime(
        required=True, allow_none=True, metadata={"description": "When the file is deleted."}
    )
    url = fields.String(required=True, metadata={"description": "This job (poll it)."})
    file_url = fields.String(
        required=True, allow_none=True, metadata={"description": "The file, once done."}
    )
    file_name = fields.String(required=True, allow_none=True)
    file_size = fields.Integer(required=True, allow_none=True)
