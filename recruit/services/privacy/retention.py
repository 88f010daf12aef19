"""How long candidates' data are kept, and the purge that anonymises them afterwards.

``purge`` runs by cron through `recruit purge`. Each campaign keeps its candidates' data
``retention_months`` (default 24, the CNIL's usual term for applicants who were not hired) after
it closes. A campaign that is never closed has no end, so its clock starts at each invitation's
last activity instead: the completion of the test, else the sending of the link. A closed
campaign counts from its closing, or from a completion after it if later. Links still open are
never purged. A person's identity goes with the last of their invitations to be purged (see
``anonymise`` for what goes and what stays).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from recruit.data.models import Campaign, Candidate, ImportBatch, Invitation, utcnow
from recruit.extensions import db
from recruit.services import audit
from recruit.services.privacy.anonymise import (
    Counts,
    anonymise_candidates,
    chunks,
    drop_from_batches,
    erase_invitations,
)

DEFAULT_RETENTION_MONTHS = 24
MAX_RETENTION_MONTHS = 120


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


@dataclass
class PurgeReport:
    """What a purge did (or would do, in a dry run), per organisation id."""

    dry_run: bool
    by_organisation: dict[int, Counts] = field(default_factory=dict)

    @property
    def total(self) -> Counts:
        total = Counts()
        for counts in self.by_organisation.values():
            total += counts
        return total


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
    for chunk in chunks(candidate_ids):
        for candidate_id, invitation_id in db.session.execute(
            sa.select(Invitation.candidate_id, Invitation.id).where(
                Invitation.candidate_id.in_(chunk), Invitation.erased_at.is_(None)
            )
        ):
            if invitation_id not in due:
                still_open.add(candidate_id)
    return candidate_ids - still_open


def _candidates_due(due: list[tuple[int, int, int]], now: datetime) -> dict[int, list[int]]:
    """Per organisation id, the candidates whose identity goes with these invitations.

    Those whose every invitation is erased or due, and those left without any invitation for
    longer than the default period (none is ever created so, but nothing must stay).
    """
    due_ids = {invitation_id for invitation_id, _, _ in due}
    organisation_of = {candidate_id: org for _, candidate_id, org in due}
    done = _candidates_done(set(organisation_of), due_ids)
    orphans = db.session.execute(
        sa.select(Candidate.id, Candidate.organisation_id).where(
            Candidate.anonymised_at.is_(None),
            Candidate.created_at <= add_months(now, -DEFAULT_RETENTION_MONTHS),
            ~sa.exists().where(Invitation.candidate_id == Candidate.id),
        )
    ).all()
    organisation_of.update(dict(orphans))
    done |= {candidate_id for candidate_id, _ in orphans}
    candidates_by_org: dict[int, list[int]] = defaultdict(list)
    for candidate_id in done:
        candidates_by_org[organisation_of[candidate_id]].append(candidate_id)
    return candidates_by_org


def _emails(candidates_by_org: dict[int, list[int]]) -> dict[int, set[str]]:
    """Per organisation id, the emails of these candidates not anonymised yet."""
    emails: dict[int, set[str]] = defaultdict(set)
    for organisation_id, ids in candidates_by_org.items():
        for chunk in chunks(ids):
            emails[organisation_id] |= set(
                db.session.scalars(
                    sa.select(Candidate.email).where(
                        Candidate.id.in_(chunk), Candidate.anonymised_at.is_(None)
                    )
                )
            )
    return emails


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
    candidates_by_org = _candidates_due(due, now)

    def counts(organisation_id: int) -> Counts:
        return report.by_organisation.setdefault(organisation_id, Counts())

    invitations_by_org: dict[int, list[int]] = defaultdict(list)
    for invitation_id, _, organisation_id in due:
        invitations_by_org[organisation_id].append(invitation_id)
    for organisation_id, ids in invitations_by_org.items():
        found = counts(organisation_id)
        found += erase_invitations(ids, now, dry_run=dry_run)
    emails = _emails(candidates_by_org)  # before the candidates lose them
    old_batches = _old_batches(now)
    for batch, organisation_id in old_batches:
        counts(organisation_id).batches += 1
        if not dry_run:
            db.session.delete(batch)
    db.session.flush()
    skip = {batch.id for batch, _ in old_batches}
    for organisation_id, n in drop_from_batches(emails, dry_run=dry_run, skip=skip).items():
        counts(organisation_id).batches += n
    for organisation_id, ids in candidates_by_org.items():
        found = counts(organisation_id)
        found += anonymise_candidates(ids, now, dry_run=dry_run)
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
