"""The API's operations, one function per view: scoped look-ups, pages of lists, the shapes
of campaigns, invitations and results, and the writes, each committed once."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
import sqlalchemy as sa
from flask import abort

from recruit.api.candidates import check_candidates, parse_invitation_request
from recruit.api.errors import ApiError
from recruit.core.bank import Bank, Form
from recruit.data import questions
from recruit.data.models import (
    Campaign,
    Candidate,
    Invitation,
    Organisation,
    ReferenceNorm,
    utcnow,
)
from recruit.extensions import db
from recruit.services import apikeys, audit, exports, invitations, links, outbox, results
from recruit.web import access

# last_used_at is written at most once a minute per key, not on every request.
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class Caller:
    """Who makes a request: the organisation of its API key, and the key (for the audit log)."""

    organisation_id: int
    api_key_id: int


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


def _result_entry(row: dict, about: dict[int, tuple], scales: list[str]) -> dict:
    """One completed test as the API describes it; ``about``: invitation id -> (external id,
    status)."""
    invitation_id = int(row["invitation_id"])
    return {
        "invitation_id": invitation_id,
        "external_id": about.get(invitation_id, (None, None))[0],
        "status": about.get(invitation_id, (None, "completed"))[1],
        "completed_at": (
            None if pd.isna(row["completed_at"]) else row["completed_at"].to_pydatetime()
        ),
        "form_version": row["form_version"],
        "scoring_method": row["scoring_method"],
        "flags": results.flags_of(row.get("flags")),
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


def campaign_results(
    campaign: Campaign, norm: str, page: int, per_page: int
) -> tuple[dict, list[str], list[dict], int]:
    """The norm used, the scale columns, one page of entries (one per completed test, by
    invitation id) and the number of completed tests. The whole campaign is normalized (from
    the score cache), but only the page is described."""
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
        entry = results.scored(campaign.organisation_id, [campaign.id], norm=norm)
    except results.NormUnavailable as exc:
        raise ApiError(409, "norm_unavailable", str(exc), field="norm") from None
    frame, info = entry.frame, entry.extra  # shared with other requests: read only
    # The score columns: the composite and each scale, each with its normalized columns.
    scales = [c for c in results.scale_columns(frame) if f"{c}_z" in frame.columns]
    total = len(frame)
    first = frame.iloc[0] if total else None
    start = (page - 1) * per_page
    shown = frame.iloc[start : start + per_page]
    ids = [int(i) for i in shown["invitation_id"]]
    about = {
        invitation_id: (external_id, status)
        for invitation_id, external_id, status in db.session.execute(
            sa.select(Invitation.id, Candidate.external_id, Invitation.status)
            .join(Candidate, Candidate.id == Invitation.candidate_id)
            .where(Invitation.id.in_(ids))
        )
    }
    entries = [_result_entry(row, about, scales) for row in shown.to_dict("records")]
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
    return described, scales, entries, total


# --- One function per operation -------------------------------------------------------------


def use_key(key: str) -> tuple[int, int] | None:
    """(key id, organisation id) of a live key, or None; its last use is written down, and
    committed, at most once a minute."""
    record = apikeys.authenticate(key)
    if record is None:
        return None
    found = record.id, record.organisation_id  # read before the commit expires the record
    now = utcnow()
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_PRECISION:
        record.last_used_at = now
        db.session.commit()
    return found


def _audit(caller: Caller, action: str, target_type: str, target_id: int, **details) -> None:
    """An audit event for an API call: the key's organisation and the key's id, no user."""
    audit.record(
        action,
        target_type,
        target_id,
        organisation_id=caller.organisation_id,
        api_key=caller.api_key_id,
        **details,
    )


def forms_page(page: int, per_page: int) -> dict:
    """One page of the bank's forms."""
    return page_in_memory(describe_forms(questions.bank()), page, per_page)


def open_campaign(caller: Caller, fields: dict) -> dict:
    """Open a campaign from the request's fields (form, language, title, site, invitation
    days, deadline); the campaign as described once committed."""
    form = form_for(questions.bank(), fields["form_id"], fields["language"])
    deadline = fields["deadline"]
    if deadline is not None and deadline < utcnow().date():
        raise ApiError(422, "deadline_past", "The deadline is already past.", field="deadline")
    organisation = db.session.get(Organisation, caller.organisation_id)
    try:
        campaign = invitations.open_campaign(
            organisation,
            form,
            title=fields["title"],
            site=fields["site"],
            invitation_days=fields["invitation_days"],
            deadline=deadline,
        )
    except invitations.InvitationError as exc:
        raise ApiError(422, "invalid_input", str(exc)) from None
    _audit(caller, "campaign_opened", "campaign", campaign.id)
    db.session.commit()
    return describe_campaign(campaign, {})


def campaigns_page(organisation_id: int, status: str | None, page: int, per_page: int) -> dict:
    """One page of the organisation's campaigns, newest first, in one status if given."""
    query = (
        sa.select(Campaign)
        .where(Campaign.organisation_id == organisation_id)
        .order_by(Campaign.id.desc())
    )
    if status is not None:
        query = query.where(Campaign.status == status)
    total, rows = paginate(query, page, per_page)
    counts = invitations.campaign_counts(organisation_id)
    items = [describe_campaign(campaign, counts) for (campaign,) in rows]
    return page_of(total, page, per_page, items)


def campaign_detail(organisation_id: int, campaign_id: int) -> dict:
    """One campaign of the organisation with its counts."""
    found = campaign_or_404(organisation_id, campaign_id)
    return describe_campaign(found, invitations.campaign_counts(organisation_id, [found.id]))


def invite_candidates(caller: Caller, campaign_id: int, body) -> dict:
    """Invite the candidates of a request body into a campaign, all or nothing; with
    ``send_email`` their invitations are queued for the mail worker."""
    campaign = campaign_or_404(caller.organisation_id, campaign_id)
    rows, send_email = parse_invitation_request(body)
    invitations.lock_for_invitations(campaign)  # checked and invited in one step
    clean = check_candidates(campaign, rows)
    invited = invitations.invite_many(campaign, clean)
    if send_email:
        for invitation in invited:
            outbox.enqueue(invitation, "invitation")
    _audit(
        caller, "candidates_invited", "campaign", campaign.id, count=len(invited), emails=send_email
    )
    now = utcnow()
    # Described before the commit expires them: no reload, one query per row, afterwards.
    items = [describe_invitation(i, i.candidate, now) for i in invited]
    db.session.commit()
    if send_email:
        outbox.wake_worker()
    return {"items": items, "send_email": send_email}


def invitations_page(
    organisation_id: int, campaign_id: int, state: str | None, page: int, per_page: int
) -> dict:
    """One page of the campaign's invitations, oldest first; the link only while usable."""
    found = campaign_or_404(organisation_id, campaign_id)
    now = utcnow()
    total, rows = paginate(invitations_query(found, state, now), page, per_page)
    items = [describe_invitation(i, c, now) for i, c in rows]
    return page_of(total, page, per_page, items)


def invitation_detail(organisation_id: int, campaign_id: int, invitation_id: int) -> dict:
    """One invitation of the organisation's campaign."""
    found = campaign_or_404(organisation_id, campaign_id)
    invitation, candidate = invitation_or_404(found, invitation_id)
    return describe_invitation(invitation, candidate, utcnow())


def results_page(
    organisation_id: int, campaign_id: int, norm: str, page: int, per_page: int
) -> dict:
    """One page of a campaign's scores on the norm asked for, with the norm and the scales."""
    found = campaign_or_404(organisation_id, campaign_id)
    described, scales, entries, total = campaign_results(found, norm, page, per_page)
    body = page_of(total, page, per_page, entries)
    return {**body, "campaign_id": found.id, "norm": described, "scales": scales}


def export(organisation_id: int, args: dict, *, items: bool):
    """The export's rows and context for the request's filters, scoped to the organisation."""
    for campaign_id in args["campaign"]:
        campaign_or_404(organisation_id, campaign_id)
    filters = exports.ExportFilters(
        campaign_ids=tuple(args["campaign"]) or None,
        date_from=args["start"],
        date_to=args["end"],
        norm=args["norm"],
    )
    try:
        return exports.export_frame(organisation_id, filters, items=items)
    except results.NormUnavailable as exc:
        raise ApiError(409, "norm_unavailable", str(exc), field="norm") from None
