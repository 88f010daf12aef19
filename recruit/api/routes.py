"""JSON API v1: forms, campaigns, invitations and results for an ATS, by bearer API key.

Every view reads the organisation from the key (``organisation_id()``); ids of another
organisation are 404. Views parse (the schemas) and call one function of recruit.api.services,
which commits once when it writes.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from flask import Response, current_app, g, request, url_for
from flask_smorest import Blueprint

from recruit.api import errors, exportjobs, services
from recruit.api.errors import ApiError, unauthorized
from recruit.api.schemas import (
    CampaignCreateSchema,
    CampaignListArgsSchema,
    CampaignPageSchema,
    CampaignSchema,
    ExportArgsSchema,
    ExportJobRequestSchema,
    ExportJobSchema,
    FormPageSchema,
    InvitationBatchSchema,
    InvitationListArgsSchema,
    InvitationPageSchema,
    InvitationSchema,
    PageArgsSchema,
    ResultPageSchema,
    ResultsArgsSchema,
)
from recruit.services import exports, jobs
from recruit.web import security

bp = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Forms, campaigns, invitations and results of the key's organisation.",
)
security.limit_api(bp)
errors.register(bp)

PUBLIC_ENDPOINTS = {"api.openapi"}
BODY_METHODS = {"POST", "PUT", "PATCH"}
MAX_JSON_DEPTH = 32  # arrays and objects within one another; our bodies need 3
CAMPAIGN_ID = "<api_id:campaign_id>"  # recruit.api.openapi.IdConverter
INVITATION_ID = "<api_id:invitation_id>"


def documented_errors(*statuses: int):
    """Document the error responses an operation can give (always 401: every one needs a key)."""

    def decorator(view):
        for status in sorted({401, *statuses}):
            view = bp.alt_response(status, response=HTTPStatus(status).name)(view)
        return view

    return decorator


def organisation_id() -> int:
    """The organisation of the request's API key."""
    return g.organisation_id


def caller() -> services.Caller:
    """The request's API key and its organisation, for the writes it makes and audits."""
    return services.Caller(g.organisation_id, g.api_key_id)


@bp.before_request
def authenticate():
    """Every operation but the document needs a live key: `Authorization: Bearer <key>`."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.method == "OPTIONS":
        return
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if not scheme:
        raise unauthorized("missing_key", "Send an API key: `Authorization: Bearer <key>`.")
    found = services.use_key(key.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        raise unauthorized("invalid_key", "This API key is unknown or revoked.")
    g.api_key_id, g.organisation_id = found


@bp.before_request
def parse_json_body():
    """Bodies are JSON: 415 for another type, 400 for malformed JSON or JSON nested deeper than
    MAX_JSON_DEPTH (checked before views, so that no view or schema reads such a body)."""
    if request.method not in BODY_METHODS or request.endpoint in PUBLIC_ENDPOINTS:
        return
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Send JSON: `application/json`.")
    try:
        body = json.loads(request.get_data(cache=True), parse_constant=_not_json)
    except RecursionError:  # deeper than the interpreter's own limit (about 1,000 levels)
        raise _too_deep() from None
    except ValueError:
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
    if _deeper_than(body, MAX_JSON_DEPTH):
        raise _too_deep()
    g.json_body = body


def _deeper_than(body, limit: int) -> bool:
    """True if arrays and objects nest more than ``limit`` levels in ``body`` (no recursion)."""
    stack = [(body, 1)] if isinstance(body, dict | list) else []
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _not_json(constant: str):
    """NaN, Infinity and -Infinity: Python reads them, JSON has no such numbers."""
    raise ValueError(constant)


def _too_deep() -> ApiError:
    return ApiError(
        400, "json_too_deep", f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels."
    )


# --- The document ---------------------------------------------------------------------------


@bp.get("/openapi.json")
@bp.doc(security=[])
@bp.response(200, {"type": "object"}, description="This OpenAPI 3 document.")
def openapi():
    """The OpenAPI document of this API (no key needed)."""
    spec = current_app.extensions["recruit.api"].spec
    return current_app.response_class(json.dumps(spec.to_dict()), mimetype="application/json")


# --- Forms ----------------------------------------------------------------------------------


@bp.get("/forms")
@bp.arguments(PageArgsSchema, location="query", error_status_code=400)
@bp.response(200, FormPageSchema)
@documented_errors(400)
def forms(args):
    """The bank's forms, with their languages, scales and versions."""
    return services.forms_page(args["page"], args["per_page"])


# --- Campaigns ------------------------------------------------------------------------------


@bp.post("/campaigns")
@bp.arguments(CampaignCreateSchema)
@bp.response(201, CampaignSchema, headers={"Location": {"schema": {"type": "string"}}})
@documented_errors(400, 413, 415, 422)
def create_campaign(fields):
    """Open a campaign: one job at one site, with one form in one language."""
    described = services.open_campaign(caller(), fields)
    location = url_for(".campaign", campaign_id=described["id"])
    return described, 201, {"Location": location}


@bp.get("/campaigns")
@bp.arguments(CampaignListArgsSchema, location="query", error_status_code=400)
@bp.response(200, CampaignPageSchema)
@documented_errors(400)
def list_campaigns(args):
    """The organisation's campaigns, newest first, with their counts and completion rate."""
    return services.campaigns_page(
        organisation_id(), args.get("status"), args["page"], args["per_page"]
    )


@bp.get(f"/campaigns/{CAMPAIGN_ID}")
@bp.response(200, CampaignSchema)
@documented_errors(404)
def campaign(campaign_id: int):
    """One campaign with its counts."""
    return services.campaign_detail(organisation_id(), campaign_id)


# --- Invitations ----------------------------------------------------------------------------


@bp.post(f"/campaigns/{CAMPAIGN_ID}/invitations")
@bp.doc(
    requestBody={
        "required": True,
        "description": "The candidates (1 to 5000), as a bare list or with `send_email`. "
        "All or nothing: one bad row and nobody is invited (422 lists every problem).",
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/InvitationRequest"},
                        {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/CandidateRow"},
                            "minItems": 1,
                            "maxItems": 5000,
                        },
                    ]
                }
            }
        },
    }
)
@bp.response(201, InvitationBatchSchema)
@documented_errors(400, 404, 413, 415, 422)
def invite(campaign_id: int):
    """Invite candidates into a campaign; each gets a personal link (emails optional)."""
    return services.invite_candidates(caller(), campaign_id, g.json_body), 201


@bp.get(f"/campaigns/{CAMPAIGN_ID}/invitations")
@bp.arguments(InvitationListArgsSchema, location="query", error_status_code=400)
@bp.response(200, InvitationPageSchema)
@documented_errors(400, 404)
def list_invitations(args, campaign_id: int):
    """The campaign's invitations, oldest first; the link only while it can be used."""
    return services.invitations_page(
        organisation_id(), campaign_id, args.get("status"), args["page"], args["per_page"]
    )


@bp.get(f"/campaigns/{CAMPAIGN_ID}/invitations/{INVITATION_ID}")
@bp.response(200, InvitationSchema)
@documented_errors(404)
def invitation(campaign_id: int, invitation_id: int):
    """One invitation of the campaign, to follow its status."""
    return services.invitation_detail(organisation_id(), campaign_id, invitation_id)


# --- Results --------------------------------------------------------------------------------


@bp.get(f"/campaigns/{CAMPAIGN_ID}/results")
@bp.arguments(ResultsArgsSchema, location="query", error_status_code=400)
@bp.response(200, ResultPageSchema)
@documented_errors(400, 404, 409)
def campaign_results(args, campaign_id: int):
    """Raw and normalized scores of the completed tests, by invitation id.

    For the composite and every scale: the raw score and z, T, percentile, sten and stanine on
    the norm asked for. `reference` needs a stored reference norm (409 until there is one).
    """
    return services.results_page(
        organisation_id(), campaign_id, args["norm"], args["page"], args["per_page"]
    )


# --- Exports --------------------------------------------------------------------------------


@bp.get("/export.csv")
@bp.arguments(ExportArgsSchema, location="query", error_status_code=400)
@bp.response(
    200,
    {"type": "string"},
    content_type="text/csv",
    description="UTF-8 with a BOM, one row per completed candidate.",
)
@documented_errors(400, 404, 409, 413)
def export_csv(args):
    """Every completed candidate with raw and normalized scores, as CSV, streamed.

    Up to RECRUIT_SYNC_EXPORT_MAX_ROWS rows (10,000 by default); a larger set is 413 with
    `job_endpoint`: export it as a job (POST /api/v1/exports)."""
    exportjobs.check_sync_size(organisation_id(), args)
    frame, _context = services.export(organisation_id(), args, items=False)
    return Response(
        exports.csv_chunks(frame, sep=exports.CSV_SEPARATORS[args["sep"]], bom=True),
        content_type=exports.CSV_CONTENT_TYPE,
        headers={"Content-Disposition": 'attachment; filename="recruit-export.csv"'},
    )


@bp.get("/export.xlsx")
@bp.arguments(ExportArgsSchema, location="query", error_status_code=400)
@bp.response(
    200,
    {"type": "string", "format": "binary"},
    content_type=exports.XLSX_MIMETYPE,
    description="Sheets: candidats, échelles, normes, items, colonnes, à propos (candidates, "
    "scales, norms, items, columns, about with Accept-Language: en).",
)
@documented_errors(400, 404, 409, 413)
def export_xlsx(args):
    """The same rows as an Excel workbook, with the definitions, norms and item statistics.

    Up to RECRUIT_SYNC_EXPORT_MAX_ROWS rows, like the CSV; larger sets are exported as jobs."""
    exportjobs.check_sync_size(organisation_id(), args)
    frame, context = services.export(organisation_id(), args, items=True)
    return Response(
        exports.xlsx_stream(frame, context),
        mimetype=exports.XLSX_MIMETYPE,
        headers={"Content-Disposition": 'attachment; filename="recruit-export.xlsx"'},
    )


# --- Exports as jobs ------------------------------------------------------------------------

JOB_ID = "<api_id:job_id>"


@bp.post("/exports")
@bp.arguments(ExportJobRequestSchema)
@bp.response(
    202,
    ExportJobSchema,
    description="The job is queued: poll `url` (the `Location`) until `status` is `done`.",
    headers={"Location": {"schema": {"type": "string"}}},
)
@documented_errors(400, 404, 413, 415, 422)
def start_export(body):
    """Export the completed candidates (CSV or XLSX) as a background job, whatever their number.

    The body takes the format and the filters of the synchronous exports. The answer comes at
    once; the file is kept 24 hours once the job is done."""
    described = exportjobs.start(caller(), body)
    return described, 202, {"Location": described["url"]}


@bp.get(f"/exports/{JOB_ID}")
@bp.response(200, ExportJobSchema)
@documented_errors(404)
def export_job(job_id: int):
    """An export job: its status, its progress (rows done of rows total), and its file's URL
    once done. Another organisation's job is 404."""
    return exportjobs.detail(organisation_id(), job_id)


@bp.get(f"/exports/{JOB_ID}/file")
@bp.doc(
    responses={
        200: {
            "description": "The export's file: CSV or XLSX, as the job was asked.",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                exports.XLSX_MIMETYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    }
)
@documented_errors(404, 409, 410)
def export_job_file(job_id: int):
    """The finished export's file (409 until the job is done, 410 after its 24 hours)."""
    path, job = exportjobs.file_of(organisation_id(), job_id)
    return Response(
        jobs.file_stream(path), content_type=job.file_type, headers=jobs.download_headers(job, path)
    )
