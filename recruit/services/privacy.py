"""RGPD: how long candidates' data are kept, their copy of it, and erasure.

Identity leaves the database in two ways, with the same effect on every table:

- ``purge`` (run by cron through `recruit purge`): each campaign keeps its candidates' data
  ``retention_months`` (default 24, the CNIL's usual term for applicants who were not hired)
  after it closes. A campaign that is never closed has no end, so its clock starts at each
  invitation's last activity instead: the completion of the test, else the sending of the link.
  A closed campaign counts from its closing, or from a completion after it if later. Links still
  open are never purged.
- ``erase_candidate``: the candidate asks from their link, or an admin on their request.
  Erasure concerns the person: every invitation of that candidate in the organisation, since
  they share one name and address.

What goes: the candidate's name, email and ATS id; each invitation's link (nonce and token hash
replaced, so the link no longer resolves); decision notes (replaced by ``[effacé]``; the
decision, who and when stay); outbox messages' .eml files and their errors; the person's rows
in import batches. What stays, without identity: answers, times per page, scores and decisions,
so that norms and statistics computed from earlier candidates do not move.

Functions add and flush; the caller commits once. The exception is the .eml files, deleted from
disk before that commit: if the commit then fails, a row points to a file that no longer exists
(harmless, and the next run finishes the job), never the reverse.
"""

from __future__ import annotations

import calendar
import hashlib
import secrets
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path

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
    ImportBatch,
    Invitation,
    OutboxMessage,
    PageTime,
    Result,
    token_for,
    token_hash,
    utcnow,
)
from recruit.extensions import db
from recruit.services import audit

ERASED = "[effacé]"
DEFAULT_RETENTION_MONTHS = 24
MAX_RETENTION_MONTHS = 120
# Why an admin erases a candidate: codes only, never free text (it would hold personal data).
ADMIN_ERASE_REASONS = ("request", "objection", "mistake")
CANDIDATE_ERASE_REASON = "candidate_link"
MESSAGE_ERASED = "data erased"
CHUNK = 500  # ids per IN (...) list


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` moved by ``months`` calendar months (back if negative), day kept in range."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return moment.replace(
        year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1])
    )


def retention_start(invitation: Invitation) -> datetime:
    """When an invitation's retention period starts (see the module's docstring)."""
    activity = invitation.completed_at or invitation.created_at
    closed = invitation.campaign.closed_at
    return activity if closed is None else max(closed, activity)


def kept_until(invitation: Invitation) -> datetime:
    """The day after which ``purge`` anonymises this invitation, as things stand now."""
    return add_months(retention_start(invitation), invitation.campaign.retention_months)


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ids = sorted(set(ids))
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


# --- What an erasure or a purge did ---------------------------------------------------------


@dataclass
class Counts:
    """How many records lost their personal data (or would, in a dry run)."""

    invitations: int = 0
    candidates: int = 0
    notes: int = 0
    messages: int = 0
    files: int = 0
    batches: int = 0

    def __iadd__(self, other: Counts) -> Counts:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def __bool__(self) -> bool:
        return any(asdict(self).values())

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class PurgeReport:
    dry_run: bool
    by_organisation: dict[int, Counts] = field(default_factory=dict)

    @property
    def total(self) -> Counts:
        total = Counts()
        for counts in self.by_organisation.values():
            total += counts
        return total


# --- The shared steps -----------------------------------------------------------------------


def _delete_file(path: str, dry_run: bool) -> int:
    """Delete one .eml file of the outbox; 1 if it existed."""
    file = Path(path)
    if file.suffix != ".eml" or not file.is_file():
        return 0
    if not dry_run:
        file.unlink(missing_ok=True)
    return 1


def _erase_invitations(ids: Sequence[int], now: datetime, *, dry_run: bool) -> Counts:
    """Remove the link, the decision notes and the emails of these invitations."""
    counts = Counts()
    for chunk in _chunks(ids):
        invitations = db.session.scalars(
            sa.select(Invitation).where(Invitation.id.in_(chunk), Invitation.erased_at.is_(None))
        ).all()
        counts.invitations += len(invitations)
        notes = sa.select(Decision).where(
            Decision.invitation_id.in_(chunk), Decision.note != ERASED
        )
        messages = db.session.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.invitation_id.in_(chunk),
                sa.or_(
                    OutboxMessage.eml_path.is_not(None),
                    OutboxMessage.last_error.is_not(None),
                    OutboxMessage.status == "pending",
                ),
            )
        ).all()
        counts.messages += len(messages)
        counts.files += sum(_delete_file(m.eml_path, dry_run) for m in messages if m.eml_path)
        if dry_run:
            counts.notes += db.session.scalar(
                sa.select(sa.func.count()).select_from(notes.subquery())
            )
            continue
        for decision in db.session.scalars(notes):
            decision.note = ERASED
            counts.notes += 1
        for message in messages:
            message.eml_path = None
            message.last_error = None
            if message.status == "pending":  # never send an email about an erased link
                message.status = "failed"
                message.last_error = MESSAGE_ERASED
        for invitation in invitations:
            # A fresh random value nobody knows: the old link resolves to nothing any more.
            invitation.token_hash = token_hash(secrets.token_urlsafe(32))
            invitation.token_nonce = None
            invitation.erased_at = now
            if invitation.status in ("pending", "started"):
                invitation.status = "revoked"
                invitation.revoked_at = now
    db.session.flush()
    return counts


def _anonymise_candidates(ids: Sequence[int], now: datetime, *, dry_run: bool) -> Counts:
    """Remove the name, email and ATS id of these candidates, once."""
    counts = Counts()
    for chunk in _chunks(ids):
        candidates = db.session.scalars(
            sa.select(Candidate).where(Candidate.id.in_(chunk), Candidate.anonymised_at.is_(None))
        ).all()
        counts.candidates += len(candidates)
        if dry_run:
            continue
        for candidate in candidates:
            candidate.name = ERASED
            candidate.email = ""
            candidate.external_id = None
            candidate.anonymised_at = now
    db.session.flush()
    return counts


def _drop_from_batches(
    emails: dict[int, set[str]], *, dry_run: bool, skip: Collection[int] = ()
) -> dict[int, int]:
    """Remove these people's rows from import batches, per organisation id -> emails.

    A batch already imported is only a leftover copy of its rows: it is deleted whole. A batch
    still waiting for confirmation loses the rows of these people (and goes if none is left).
    Returns the number of batches deleted or changed, per organisation.
    """
    changed: dict[int, int] = defaultdict(int)
    wanted = {org: {e.lower() for e in found if e} for org, found in emails.items()}
    wanted = {org: found for org, found in wanted.items() if found}
    if not wanted:
        return changed
    batches = db.session.execute(
        sa.select(ImportBatch, Campaign.organisation_id)
        .join(Campaign, Campaign.id == ImportBatch.campaign_id)
        .where(Campaign.organisation_id.in_(list(wanted)))
    ).all()
    for batch, organisation_id in batches:
        if batch.id in skip:
            continue
        gone = wanted[organisation_id]
        kept = [r for r in batch.rows if str(r.get("email", "")).lower() not in gone]
        if len(kept) == len(batch.rows):
            continue
        changed[organisation_id] += 1
        if dry_run:
            continue
        if batch.imported_at is not None or not kept:
            db.session.delete(batch)
        else:
            batch.rows = kept
    db.session.flush()
    return changed


# --- Retention ------------------------------------------------------------------------------


def _due_invitations(now: datetime) -> list[tuple[int, int, int]]:
    """(invitation id, candidate id, organisation id) of every invitation past retention.

    Compared with ``now`` moved back by each campaign's months, so that no date arithmetic runs
    in SQL: at a month's end this may purge a day or two late, never early.
    """
    activity = sa.func.coalesce(Invitation.completed_at, Invitation.created_at)
    rows: list[tuple[int, int, int]] = []
    for months in db.session.scalars(sa.select(Campaign.retention_months).distinct()).all():
        cutoff = add_months(now, -months)
        rows += db.session.execute(
            sa.select(Invitation.id, Invitation.candidate_id, Campaign.organisation_id)
            .join(Campaign, Campaign.id == Invitation.campaign_id)
            .where(
                Campaign.retention_months == months,
                Invitation.erased_at.is_(None),
                activity <= cutoff,
                sa.or_(Campaign.closed_at.is_(None), Campaign.closed_at <= cutoff),
                sa.or_(
                    Invitation.status.in_(("completed", "revoked")), Invitation.expires_at <= now
                ),
            )
        ).all()
    return [tuple(r) for r in rows]


def _candidates_done(candidate_ids: set[int], due: set[int]) -> set[int]:
    """Of these candidates, those whose every invitation is erased or about to be."""
    still_open = set()
    for chunk in _chunks(candidate_ids):
        for candidate_id, invitation_id in db.session.execute(
            sa.select(Invitation.candidate_id, Invitation.id).where(
                Invitation.candidate_id.in_(chunk), Invitation.erased_at.is_(None)
            )
        ):
            if invitation_id not in due:
                still_open.add(candidate_id)
    return candidate_ids - still_open


def _old_batches(now: datetime) -> list[tuple[ImportBatch, int]]:
    """Import batches created longer ago than their campaign's retention period."""
    found = []
    for months in db.session.scalars(sa.select(Campaign.retention_months).distinct()).all():
        found += db.session.execute(
            sa.select(ImportBatch, Campaign.organisation_id)
            .join(Campaign, Campaign.id == ImportBatch.campaign_id)
            .where(
                Campaign.retention_months == months,
                ImportBatch.created_at <= add_months(now, -months),
            )
        ).all()
    return found


def purge(*, now: datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """Anonymise every candidate past their campaign's retention period; safe to run again.

    Records one audit event per organisation touched, with counts only. With ``dry_run``,
    counts what would happen and changes nothing (no file is deleted either).
    """
    now = now or utcnow()
    report = PurgeReport(dry_run)
    due = _due_invitations(now)
    due_ids = {invitation_id for invitation_id, _, _ in due}
    organisation_of = {candidate_id: org for _, candidate_id, org in due}
    done = _candidates_done(set(organisation_of), due_ids)
    # Candidates left without any invitation (none is ever created so, but nothing must stay).
    orphans = db.session.execute(
        sa.select(Candidate.id, Candidate.organisation_id).where(
            Candidate.anonymised_at.is_(None),
            Candidate.created_at <= add_months(now, -DEFAULT_RETENTION_MONTHS),
            ~sa.exists().where(Invitation.candidate_id == Candidate.id),
        )
    ).all()
    organisation_of.update(dict(orphans))
    done |= {candidate_id for candidate_id, _ in orphans}

    def counts(organisation_id: int) -> Counts:
        return report.by_organisation.setdefault(organisation_id, Counts())

    by_org: dict[int, list[int]] = defaultdict(list)
    for invitation_id, _, organisation_id in due:
        by_org[organisation_id].append(invitation_id)
    for organisation_id, ids in by_org.items():
        found = counts(organisation_id)
        found += _erase_invitations(ids, now, dry_run=dry_run)
    emails: dict[int, set[str]] = defaultdict(set)
    candidates_by_org: dict[int, list[int]] = defaultdict(list)
    for candidate_id in done:
        candidates_by_org[organisation_of[candidate_id]].append(candidate_id)
    for organisation_id, ids in candidates_by_org.items():
        for chunk in _chunks(ids):
            emails[organisation_id] |= set(
                db.session.scalars(
                    sa.select(Candidate.email).where(
                        Candidate.id.in_(chunk), Candidate.anonymised_at.is_(None)
                    )
                )
            )
    old_batches = _old_batches(now)
    for batch, organisation_id in old_batches:
        counts(organisation_id).batches += 1
        if not dry_run:
            db.session.delete(batch)
    db.session.flush()
    skip = {batch.id for batch, _ in old_batches}
    for organisation_id, n in _drop_from_batches(emails, dry_run=dry_run, skip=skip).items():
        counts(organisation_id).batches += n
    for organisation_id, ids in candidates_by_org.items():
        found = counts(organisation_id)
        found += _anonymise_candidates(ids, now, dry_run=dry_run)
    report.by_organisation = {k: v for k, v in report.by_organisation.items() if v}
    if not dry_run:
        for organisation_id, found in report.by_organisation.items():
            audit.record(
                "retention_purge",
                "organisation",
                organisation_id,
                organisation_id=organisation_id,
                **found.as_dict(),
            )
    db.session.flush()
    return report


# --- Erasure on request ---------------------------------------------------------------------


def erased_digest(token: str) -> str:
    """What ``erased_links`` keeps of a link: a digest under its own label, not ``token_hash``."""
    return hashlib.sha256(f"erased:{token}".encode()).hexdigest()


def erased_link_language(token: str) -> str | None:
    """The language of an erased link's last page, or None if this link was never erased."""
    return db.session.scalar(
        sa.select(ErasedLink.language).where(ErasedLink.digest == erased_digest(token))
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
    secret = current_app.config["SECRET_KEY"]
    for each in invitations:
        if not each.token_nonce:
            continue
        digest = erased_digest(token_for(each.token_nonce, secret))
        if db.session.get(ErasedLink, digest) is None:
            db.session.add(
                ErasedLink(digest=digest, language=each.campaign.language, erased_at=now)
            )
    counts = _erase_invitations([i.id for i in invitations], now, dry_run=False)
    organisation_id = candidate.organisation_id
    counts.batches += _drop_from_batches({organisation_id: {candidate.email}}, dry_run=False).get(
        organisation_id, 0
    )
    counts += _anonymise_candidates([candidate.id], now, dry_run=False)
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


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds") + "Z"


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
    ids = [i.id for i in invitations]
    answers: dict[int, list[Answer]] = defaultdict(list)
    for answer in db.session.scalars(
        sa.select(Answer).where(Answer.invitation_id.in_(ids)).order_by(Answer.id)
    ):
        answers[answer.invitation_id].append(answer)
    times: dict[int, list[PageTime]] = defaultdict(list)
    for timing in db.session.scalars(
        sa.select(PageTime).where(PageTime.invitation_id.in_(ids)).order_by(PageTime.page)
    ):
        times[timing.invitation_id].append(timing)
    scores = {
        r.invitation_id: r
        for r in db.session.scalars(sa.select(Result).where(Result.invitation_id.in_(ids)))
    }
    decisions: dict[int, list[Decision]] = defaultdict(list)
    for decision in db.session.scalars(
        sa.select(Decision).where(Decision.invitation_id.in_(ids)).order_by(Decision.id)
    ):
        decisions[decision.invitation_id].append(decision)
    versions = {a.form_version for found in answers.values() for a in found}
    versions |= {r.form_version for r in scores.values()}
    contents = {
        v.version: v.content
        for v in db.session.scalars(
            sa.select(FormVersion).where(FormVersion.version.in_(sorted(versions)))
        )
    }
    items = {
        (version, item["id"]): item
        for version, content in contents.items()
        for item in content.get("items", [])
    }
    scale_labels = {
        (version, scale["id"]): scale["label"]
        for version, content in contents.items()
        for scale in content.get("scales", [])
    }
    consent_texts = {
        c.version: c.text
        for c in db.session.scalars(
            sa.select(ConsentText).where(
                ConsentText.version.in_(sorted({i.consent_version for i in invitations} - {None}))
            )
        )
    }

    def application(inv: Invitation) -> dict:
        campaign = inv.campaign
        result = scores.get(inv.id)
        return {
            "campaign": {
                "job": campaign.title,
                "site": campaign.site,
                "language": campaign.language,
                "status": campaign.status,
                "closed_at": _iso(campaign.closed_at),
                "retention_months": campaign.retention_months,
            },
            "data_kept_until": _iso(kept_until(inv)),
            "invitation": {
                "status": inv.status,
                "created_at": _iso(inv.created_at),
                "expires_at": _iso(inv.expires_at),
                "started_at": _iso(inv.started_at),
                "completed_at": _iso(inv.completed_at),
                "revoked_at": _iso(inv.revoked_at),
            },
            "consent": {
                "given_at": _iso(inv.consented_at),
                "text_version": inv.consent_version,
                "text": consent_texts.get(inv.consent_version),
            },
            "form": {"id": campaign.form_id, "version": inv.form_version},
            "answers": [
                {
                    "item_id": a.item_id,
                    "scenario": (items.get((a.form_version, a.item_id)) or {}).get("scenario"),
                    "form_version": a.form_version,
                    "answer": _answer_view(items.get((a.form_version, a.item_id)), a.payload),
                    "answered_at": _iso(a.answered_at),
                    "updated_at": _iso(a.updated_at),
                }
                for a in answers[inv.id]
            ],
            "page_times": [
                {"page": t.page, "seconds": round(t.seconds, 1), "visits": t.visits}
                for t in times[inv.id]
            ],
            "scores": None
            if result is None
            else {
                "scale": "0 to 100",
                "scoring_method": result.scoring_method,
                "form_version": result.form_version,
                "scored_at": _iso(result.scored_at),
                "composite": result.composite,
                "scales": [
                    {
                        "scale_id": s.scale_id,
                        "label": scale_labels.get((result.form_version, s.scale_id)),
                        "value": s.value,
                        "items": s.n_items,
                    }
                    for s in result.scales
                ],
            },
            "decisions": [
                {"decision": d.decision, "note": d.note, "decided_at": _iso(d.created_at)}
                for d in decisions[inv.id]
            ],
        }

    return {
        "format": "recruit candidate data, version 1",
        "exported_at": _iso(utcnow()),
        "controller": invitation.campaign.organisation.name,
        "candidate": {
            "name": candidate.name,
            "email": candidate.email,
            "external_id": candidate.external_id,
            "created_at": _iso(candidate.created_at),
        },
        "applications": [application(inv) for inv in invitations],
    }
