"""The candidate's rights over their data: erasure on request, and their copy of it.

``erase_candidate``: the candidate asks from their link, or an admin on their request. Erasure
concerns the person: every invitation of that candidate in the organisation, since they share
one name and address (see ``anonymise`` for what goes and what stays). Each erased link leaves
a digest behind, so that it answers "erased" rather than "unknown".

``candidate_data``: everything held about the person, as one JSON-ready document, for their
right of access (art. 15).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from recruit.data.models import (
    Answer,
    Campaign,
    Candidate,
    ConsentText,
    Decision,
    ErasedLink,
    FormVersion,
    Invitation,
    PageTime,
    Result,
    token_for,
    utcnow,
)
from recruit.extensions import db
from recruit.services import audit
from recruit.services.privacy.anonymise import (
    Counts,
    anonymise_candidates,
    drop_from_batches,
    erase_invitations,
)
from recruit.services.privacy.retention import kept_until

# Why an admin erases a candidate: codes only, never free text (it would hold personal data).
ADMIN_ERASE_REASONS = ("request", "objection", "mistake")
CANDIDATE_ERASE_REASON = "candidate_link"


# --- Erasure on request ---------------------------------------------------------------------


def erased_digest(token: str) -> str:
    """What ``erased_links`` keeps of a link: a digest under its own label, not ``token_hash``."""
    return hashlib.sha256(f"erased:{token}".encode()).hexdigest()


def erased_link_language(token: str) -> str | None:
    """The language of an erased link's last page, or None if this link was never erased."""
    return db.session.scalar(
        sa.select(ErasedLink.language).where(ErasedLink.digest == erased_digest(token))
    )


def _remember_erased_links(invitations: list[Invitation], now: datetime) -> None:
    """Keep a digest of each of these links, with the language its "erased" page speaks."""
    secret = current_app.config["SECRET_KEY"]
    for each in invitations:
        if not each.token_nonce:
            continue
        digest = erased_digest(token_for(each.token_nonce, secret))
        if db.session.get(ErasedLink, digest) is None:
            db.session.add(
                ErasedLink(digest=digest, language=each.campaign.language, erased_at=now)
            )


def erase_candidate(
    invitation: Invitation, *, requested_by: str, reason: str, user=None
) -> Counts | None:
    """Erase the identity of the invitation's candidate everywhere; None if already done.

    ``requested_by`` is "candidate" (from their link) or "admin" (``user``, on request, with
    one of ADMIN_ERASE_REASONS). Every link of the person then answers 410 "erased".
    Records a "candidate_erased" audit event holding ids and codes only.
    """
    if requested_by not in ("candidate", "admin"):
        raise ValueError(requested_by)
    if requested_by == "admin" and reason not in ADMIN_ERASE_REASONS:
        raise ValueError(reason)
    candidate = invitation.candidate
    if candidate.anonymised_at is not None:
        return None
    now = utcnow()
    invitations = db.session.scalars(
        sa.select(Invitation)
        .where(Invitation.candidate_id == candidate.id, Invitation.erased_at.is_(None))
        .with_for_update()
    ).all()
    _remember_erased_links(invitations, now)
    counts = erase_invitations([i.id for i in invitations], now, dry_run=False)
    organisation_id = candidate.organisation_id
    counts.batches += drop_from_batches({organisation_id: {candidate.email}}, dry_run=False).get(
        organisation_id, 0
    )
    counts += anonymise_candidates([candidate.id], now, dry_run=False)
    audit.record(
        "candidate_erased",
        "invitation",
        invitation.id,
        organisation_id=organisation_id,
        user=user,
        requested_by=requested_by,
        reason=reason,
        invitations=sorted(i.id for i in invitations),
        **{k: v for k, v in counts.as_dict().items() if k != "invitations"},
    )
    db.session.flush()
    return counts


# --- The candidate's copy of their data -----------------------------------------------------


@dataclass
class _Held:
    """What is held about a person's invitations, looked up by invitation id (or version)."""

    answers: dict[int, list[Answer]]
    times: dict[int, list[PageTime]]
    results: dict[int, Result]
    decisions: dict[int, list[Decision]]
    items: dict[tuple[str, str], dict]  # (form version, item id) -> the item as shown
    scale_labels: dict[tuple[str, str], str]  # (form version, scale id) -> its label
    consent_texts: dict[str, str]  # consent version -> the text


def _by_invitation(model, ids: list[int], order_by) -> dict[int, list]:
    """The rows of ``model`` for these invitations, in ``order_by`` order, per invitation id."""
    found: dict[int, list] = defaultdict(list)
    for row in db.session.scalars(
        sa.select(model).where(model.invitation_id.in_(ids)).order_by(order_by)
    ):
        found[row.invitation_id].append(row)
    return found


def _held(invitations: list[Invitation]) -> _Held:
    """Load the answers, times, scores, decisions, form contents and consent texts at once."""
    ids = [i.id for i in invitations]
    answers = _by_invitation(Answer, ids, Answer.id)
    times = _by_invitation(PageTime, ids, PageTime.page)
    results = {
        r.invitation_id: r
        for r in db.session.scalars(sa.select(Result).where(Result.invitation_id.in_(ids)))
    }
    decisions = _by_invitation(Decision, ids, Decision.id)
    versions = {a.form_version for found in answers.values() for a in found}
    versions |= {r.form_version for r in results.values()}
    contents = {
        v.version: v.content
        for v in db.session.scalars(
            sa.select(FormVersion).where(FormVersion.version.in_(sorted(versions)))
        )
    }
    consent_versions = sorted({i.consent_version for i in invitations} - {None})
    return _Held(
        answers=answers,
        times=times,
        results=results,
        decisions=decisions,
        items={
            (version, item["id"]): item
            for version, content in contents.items()
            for item in content.get("items", [])
        },
        scale_labels={
            (version, scale["id"]): scale["label"]
            for version, content in contents.items()
            for scale in content.get("scales", [])
        },
        consent_texts={
            c.version: c.text
            for c in db.session.scalars(
                sa.select(ConsentText).where(ConsentText.version.in_(consent_versions))
            )
        },
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds") + "Z"


def _candidate_section(candidate: Candidate) -> dict:
    return {
        "name": candidate.name,
        "email": candidate.email,
        "external_id": candidate.external_id,
        "created_at": _iso(candidate.created_at),
    }


def _campaign_section(campaign: Campaign) -> dict:
    return {
        "job": campaign.title,
        "site": campaign.site,
        "language": campaign.language,
        "status": campaign.status,
        "closed_at": _iso(campaign.closed_at),
        "retention_months": campaign.retention_months,
    }


def _invitation_section(invitation: Invitation) -> dict:
    return {
        "status": invitation.status,
        "created_at": _iso(invitation.created_at),
        "expires_at": _iso(invitation.expires_at),
        "started_at": _iso(invitation.started_at),
        "completed_at": _iso(invitation.completed_at),
        "revoked_at": _iso(invitation.revoked_at),
    }


def _consent_section(invitation: Invitation, texts: dict[str, str]) -> dict:
    return {
        "given_at": _iso(invitation.consented_at),
        "text_version": invitation.consent_version,
        "text": texts.get(invitation.consent_version),
    }


def _answer_view(item: dict | None, payload: dict) -> dict:
    """An answer with the texts of the options picked, as the form version showed them."""
    texts = {o["id"]: o["text"] for o in (item or {}).get("options", [])}

    def option(option_id):
        return {"option_id": option_id, "text": texts.get(option_id)}

    if "ratings" in payload:
        return {
            "ratings": [
                {**option(option_id), "rating": value}
                for option_id, value in sorted(payload["ratings"].items())
            ]
        }
    if "best" in payload or "worst" in payload:
        return {"best": option(payload.get("best")), "worst": option(payload.get("worst"))}
    return {"choice": option(payload.get("choice"))}


def _answers_section(answers: list[Answer], items: dict[tuple[str, str], dict]) -> list[dict]:
    """Each answer with the situation it answered, as its form version showed it."""
    return [
        {
            "item_id": a.item_id,
            "scenario": (items.get((a.form_version, a.item_id)) or {}).get("scenario"),
            "form_version": a.form_version,
            "answer": _answer_view(items.get((a.form_version, a.item_id)), a.payload),
            "answered_at": _iso(a.answered_at),
            "updated_at": _iso(a.updated_at),
        }
        for a in answers
    ]


def _page_times_section(times: list[PageTime]) -> list[dict]:
    return [{"page": t.page, "seconds": round(t.seconds, 1), "visits": t.visits} for t in times]


def _scores_section(result: Result | None, labels: dict[tuple[str, str], str]) -> dict | None:
    """The scores as computed, 0 to 100 (ranks and normalized scores use others' scores)."""
    if result is None:
        return None
    return {
        "scale": "0 to 100",
        "scoring_method": result.scoring_method,
        "form_version": result.form_version,
        "scored_at": _iso(result.scored_at),
        "composite": result.composite,
        "scales": [
            {
                "scale_id": s.scale_id,
                "label": labels.get((result.form_version, s.scale_id)),
                "value": s.value,
                "items": s.n_items,
            }
            for s in result.scales
        ],
    }


def _decisions_section(decisions: list[Decision]) -> list[dict]:
    """Each decision with its note and date, not who took it (another person's data)."""
    return [
        {"decision": d.decision, "note": d.note, "decided_at": _iso(d.created_at)}
        for d in decisions
    ]


def _application(invitation: Invitation, held: _Held) -> dict:
    """One invitation of the person: campaign, consent, answers, times, scores, decisions."""
    campaign = invitation.campaign
    return {
        "campaign": _campaign_section(campaign),
        "data_kept_until": _iso(kept_until(invitation)),
        "invitation": _invitation_section(invitation),
        "consent": _consent_section(invitation, held.consent_texts),
        "form": {"id": campaign.form_id, "version": invitation.form_version},
        "answers": _answers_section(held.answers[invitation.id], held.items),
        "page_times": _page_times_section(held.times[invitation.id]),
        "scores": _scores_section(held.results.get(invitation.id), held.scale_labels),
        "decisions": _decisions_section(held.decisions[invitation.id]),
    }


def candidate_data(invitation: Invitation) -> dict:
    """Everything held about the invitation's candidate, for their right of access (art. 15).

    Covers every invitation of the person in the organisation (they share one identity): the
    campaign, the consent (time, text version and text), each answer with the situation and
    the texts of the options picked, time per page, the scores and the decisions with their
    notes. Decisions are included: a recruiter's assessment of a candidate is personal data
    about them (CJEU, Nowak, C-434/16), and the CNIL's guidance on recruitment says a
    candidate may obtain the results of the assessments made. Left out: who decided (another
    person's data, art. 15(4)), normalized scores and ranks (they are computed from other
    candidates' scores), and the scoring keys.
    """
    candidate = invitation.candidate
    invitations = db.session.scalars(
        sa.select(Invitation)
        .where(Invitation.candidate_id == candidate.id, Invitation.erased_at.is_(None))
        .order_by(Invitation.created_at, Invitation.id)
    ).all()
    held = _held(invitations)
    return {
        "format": "recruit candidate data, version 1",
        "exported_at": _iso(utcnow()),
        "controller": invitation.campaign.organisation.name,
        "candidate": _candidate_section(candidate),
        "applications": [_application(inv, held) for inv in invitations],
    }
