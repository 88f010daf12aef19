"""What the API's views need beyond the shared services: checking a batch of candidates,
scoped look-ups, one page of a query, and the shapes of invitations and results."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import pandas as pd
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import abort

from recruit.api.errors import ApiError
from recruit.api.schemas import EXTERNAL_ID_MAX, MAX_CANDIDATES, TITLE_MAX, is_clean_text
from recruit.core.bank import Bank, Form
from recruit.data.models import Campaign, Candidate, Invitation, ReferenceNorm
from recruit.extensions import db
from recruit.services import invitations, links, results
from recruit.web import access

ROW_FIELDS = ("name", "email", "external_id")


def campaign_or_404(organisation_id: int, campaign_id: int) -> Campaign:
    """The organisation's campaign; another organisation's id is the same 404 as a missing one."""
    return access.campaign_or_404(campaign_id, organisation_id)


def invitation_or_404(campaign: Campaign, invitation_id: int) -> tuple[Invitation, Candidate]:
    """An invitation of the campaign, with its candidate."""
    row = db.session.execute(
        sa.select(Invitation, Candidate)
        .join(Candidate, Candidate.id == Invitation.candidate_id)
        .where(
            Invitation.id == access.id_or_404(invitation_id), Invitation.campaign_id == campaign.id
        )
    ).first()
    if row is None:
        abort(404)
    return row[0], row[1]


def page_of(total: int, page: int, per_page: int, items: list) -> dict:
    """The list envelope every list of the API answers with."""
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": math.ceil(total / per_page),
    }


def page_in_memory(items: list, page: int, per_page: int) -> dict:
    """One page of a list already in memory (the bank's forms, a campaign's results)."""
    start = (page - 1) * per_page
    return page_of(len(items), page, per_page, items[start : start + per_page])


def paginate(query: sa.Select, page: int, per_page: int) -> tuple[int, list]:
    """How many rows ``query`` has in all, and the rows of one page."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return total, rows


def describe_campaign(campaign: Campaign, counts: dict[int, dict[str, int]]) -> dict:
    """A campaign with its counts (from invitations.campaign_counts) and completion rate."""
    stats = counts.get(campaign.id, dict.fromkeys(invitations.STATUS_COUNTS, 0))
    return {
        "id": campaign.id,
        "title": campaign.title,
        "site": campaign.site,
        "form_id": campaign.form_id,
        "language": campaign.language,
        "status": campaign.status,
        "invitation_days": campaign.invitation_days,
        "deadline": campaign.deadline,
        "created_at": campaign.created_at,
        "closed_at": campaign.closed_at,
        "counts": stats,
        "completion_rate": invitations.completion_rate(stats),
    }


# --- Forms ----------------------------------------------------------------------------------


def describe_forms(bank: Bank) -> list[dict]:
    """Every form of the bank with what differs by language (title, labels, version)."""
    described = []
    for form_id in bank.form_ids():
        languages = bank.languages(form_id)
        forms = {lang: bank.get(form_id, lang) for lang in languages}
        first = forms[languages[0]]
        described.append(
            {
                "id": form_id,
                "languages": languages,
                "title": {lang: f.title for lang, f in forms.items()},
                "scales": [
                    {
                        "id": scale.id,
                        "label": {lang: f.scale(scale.id).label for lang, f in forms.items()},
                        "weight": scale.weight,
                    }
                    for scale in first.scales
                ],
                "item_count": len(first.items),
                "minutes": first.minutes,
                "version": {lang: f.version for lang, f in forms.items()},
            }
        )
    return described


def form_for(bank: Bank, form_id: str, language: str) -> Form:
    """The bank's form in that language, or a 422 naming the field that is wrong."""
    if form_id not in bank.form_ids():
        raise ApiError(422, "unknown_form", f"No form '{form_id}'.", field="form_id")
    if (form_id, language) not in bank:
        raise ApiError(
            422,
            "unknown_language",
            f"The form '{form_id}' exists in {', '.join(bank.languages(form_id))}.",
            field="language",
        )
    return bank.get(form_id, language)


# --- Invitations ----------------------------------------------------------------------------


def _problem(index: int, field: str | None, code: str, message: str) -> dict:
    return {"index": index, "field": field, "code": code, "message": message}


def _text(row: dict, key: str) -> str | None:
    value = row.get(key)
    return value.strip() if isinstance(value, str) else value


def _check_row(index: int, row, seen: dict[str, int]) -> tuple[dict | None, list[dict]]:
    """One candidate row -> (name, email, external_id) cleaned, and its problems."""
    if not isinstance(row, dict):
        return None, [_problem(index, None, "not_an_object", "Each candidate is an object.")]
    problems = [
        _problem(index, key, "unknown_field", f"Unknown field '{key}'.")
        for key in row
        if key not in ROW_FIELDS
    ]
    name = _text(row, "name")
    if name is None or name == "":
        problems.append(_problem(index, "name", "missing_name", "A name is required."))
    elif not isinstance(name, str) or not is_clean_text(name):
        problems.append(
            _problem(
                index,
                "name",
                "invalid_name",
                "The name must be plain text, without control characters or bidirectional marks.",
            )
        )
    elif len(name) > TITLE_MAX:
        problems.append(
            _problem(index, "name", "name_too_long", f"At most {TITLE_MAX} characters.")
        )
    email = _text(row, "email")
    if email is None or email == "":
        problems.append(_problem(index, "email", "missing_email", "An email is required."))
        email = None
    elif not isinstance(email, str):
        problems.append(_problem(index, "email", "invalid_email", "The email must be a string."))
        email = None
    else:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            problems.append(_problem(index, "email", "invalid_email", str(exc)))
            email = None
    external_id = _text(row, "external_id") or None
    if external_id is not None:
        if not isinstance(external_id, str) or not is_clean_text(external_id):
            problems.append(
                _problem(index, "external_id", "invalid_external_id", "Must be plain text.")
            )
        elif len(external_id) > EXTERNAL_ID_MAX:
            problems.append(
                _problem(
                    index,
                    "external_id",
                    "external_id_too_long",
                    f"At most {EXTERNAL_ID_MAX} characters.",
                )
            )
    if email is not None:
        first = seen.setdefault(email.casefold(), index)
        if first != index:
            problems.append(
                _problem(
                    index,
                    "email",
                    "duplicate_in_list",
                    f"The same email as the candidate at index {first}.",
                )
            )
    if problems:
        return None, problems
    return {"name": name, "email": email, "external_id": external_id}, []


def parse_invitation_request(body) -> tuple[list, bool]:
    """The candidates and send_email of a request: a bare list, or {candidates, send_email}."""
    send_email = False
    if isinstance(body, dict):
        unknown = sorted(set(body) - {"candidates", "send_email"})
        if unknown:
            raise ApiError(422, "unknown_field", f"Unknown field '{unknown[0]}'.", field=unknown[0])
        send_email = body.get("send_email", False)
        if not isinstance(send_email, bool):
            raise ApiError(422, "invalid_input", "Must be true or false.", field="send_email")
        if "candidates" not in body:
            raise ApiError(
                422, "missing_candidates", "A list of candidates is required.", field="candidates"
            )
        body = body["candidates"]
    if not isinstance(body, list):
        raise ApiError(
            422, "not_a_list", "The candidates must be a list of objects.", field="candidates"
        )
    if not body:
        raise ApiError(422, "no_candidates", "The list of candidates is empty.", field="candidates")
    if len(body) > MAX_CANDIDATES:
        raise ApiError(
            422,
            "too_many_candidates",
            f"At most {MAX_CANDIDATES} candidates per request ({len(body)} sent).",
            field="candidates",
        )
    return body, send_email


def check_candidates(campaign: Campaign, rows: Sequence) -> list[dict]:
    """Every row checked, then against the campaign; all or nothing: 422 with every problem."""
    if campaign.status != "open":
        raise ApiError(422, "campaign_closed", "The campaign is closed: nobody can be invited.")
    clean, problems, seen = [], [], {}
    for index, row in enumerate(rows):
        checked, row_problems = _check_row(index, row, seen)
        problems.extend(row_problems)
        if checked is not None:
            clean.append((index, checked))
    taken = invitations.already_invited(campaign, [row["email"] for _, row in clean])
    problems.extend(
        _problem(index, "email", "already_invited", "Already has a live link in this campaign.")
        for index, row in clean
        if row["email"].lower() in taken
    )
    if problems:
        problems.sort(key=lambda p: p["index"])
        raise ApiError(
            422,
            "invalid_candidates",
            f"{len({p['index'] for p in problems})} candidate(s) refused; nobody was invited.",
            field="candidates",
            problems=problems,
        )
    return [row for _, row in clean]


def invitation_state(invitation: Invitation, now: datetime) -> str:
    return "expired" if invitation.is_expired(now) else invitation.status


def describe_invitation(invitation: Invitation, candidate: Candidate, now: datetime) -> dict:
    state = invitation_state(invitation, now)
    return {
        "id": invitation.id,
        "campaign_id": invitation.campaign_id,
        "name": candidate.name,
        "email": candidate.email,
        "external_id": candidate.external_id,
        "status": state,
        "created_at": invitation.created_at,
        "expires_at": invitation.expires_at,
        "started_at": invitation.started_at,
        "completed_at": invitation.completed_at,
        "link": links.invitation_link(invitation) if state in ("pending", "started") else None,
    }


def invitations_query(campaign: Campaign, state: str | None, now: datetime) -> sa.Select:
    """The campaign's invitations with their candidate, oldest first, in one state if given."""
    query = (
        sa.select(Invitation, Candidate)
        .join(Candidate, Candidate.id == Invitation.candidate_id)
        .where(Invitation.campaign_id == campaign.id)
        .order_by(Invitation.id)
    )
    live = Invitation.status.in_(("pending", "started"))
    if state == "expired":
        query = query.where(live, Invitation.expires_at <= now)
    elif state in ("pending", "started"):
        query = query.where(Invitation.status == state, Invitation.expires_at > now)
    elif state is not None:
        query = query.where(Invitation.status == state)
    return query


# --- Results --------------------------------------------------------------------------------


def _number(value) -> float | None:
    """A float for JSON: NaN and missing become None."""
    if value is None or pd.isna(value):
        return None
    return float(value)


def _whole(value) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def campaign_results(campaign: Campaign, norm: str) -> tuple[dict, list[str], list[dict]]:
    """The norm used, the scale columns, and one entry per completed test, by invitation id."""
    if norm == "reference" and (
        db.session.scalar(
            sa.select(ReferenceNorm.id).where(
                ReferenceNorm.organisation_id == campaign.organisation_id,
                ReferenceNorm.form_id == campaign.form_id,
            )
        )
        is None
    ):
        raise ApiError(
            409,
            "norm_unavailable",
            f"No reference norm is stored for the form '{campaign.form_id}' yet: run "
            "`recruit norms refresh`, or ask for norm=campaign.",
            field="norm",
        )
    try:
        frame, info = results.normalized_scores(campaign.organisation_id, [campaign.id], norm=norm)
    except results.NormUnavailable as exc:
        raise ApiError(409, "norm_unavailable", str(exc), field="norm") from None
    # The score columns: the composite and each scale, each with its normalized columns.
    scales = [c for c in results.scale_columns(frame) if f"{c}_z" in frame.columns]
    externals = dict(
        db.session.execute(
            sa.select(Invitation.id, Candidate.external_id)
            .join(Candidate, Candidate.id == Invitation.candidate_id)
            .where(Invitation.campaign_id == campaign.id)
        ).all()
    )
    statuses = dict(
        db.session.execute(
            sa.select(Invitation.id, Invitation.status).where(Invitation.campaign_id == campaign.id)
        ).all()
    )
    entries = []
    for row in frame.to_dict("records"):
        invitation_id = int(row["invitation_id"])
        entries.append(
            {
                "invitation_id": invitation_id,
                "external_id": externals.get(invitation_id),
                "status": statuses.get(invitation_id, "completed"),
                "completed_at": (
                    None if pd.isna(row["completed_at"]) else row["completed_at"].to_pydatetime()
                ),
                "form_version": row["form_version"],
                "scoring_method": row["scoring_method"],
                "scores": {
                    scale: {
                        "raw": _number(row[scale]),
                        "z": _number(row[f"{scale}_z"]),
                        "t": _number(row[f"{scale}_t"]),
                        "pct": _number(row[f"{scale}_pct"]),
                        "sten": _whole(row[f"{scale}_sten"]),
                        "stanine": _whole(row[f"{scale}_stanine"]),
                    }
                    for scale in scales
                },
            }
        )
    first = frame.iloc[0] if len(frame) else None
    described = {
        "kind": info.kind,
        "method": info.method,
        "pool": None if first is None else str(first["norm_pool"]),
        "n": _whole(first["norm_n"]) if first is not None else (info.n or 0),
        "provisional": (
            None
            if first is None or pd.isna(first["norm_provisional"])
            else bool(first["norm_provisional"])
        ),
        "built_at": info.built_at,
    }
    return described, scales, entries
