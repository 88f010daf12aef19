"""Organisations, campaigns (applicant pools) and invitations: services shared by every side."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from recruit.core.bank import Form
from recruit.data.models import (
    Campaign,
    Candidate,
    Invitation,
    Organisation,
    OutboxMessage,
    new_nonce,
    token_for,
    token_hash,
    utcnow,
)
from recruit.extensions import db


class InvitationError(ValueError):
    """The invitation cannot be created as asked; the message says why."""


def find_organisation(name: str) -> Organisation | None:
    return db.session.scalar(sa.select(Organisation).where(Organisation.name == name))


def create_organisation(name: str) -> Organisation:
    name = name.strip()
    if not name:
        raise InvitationError("an organisation needs a name")
    if find_organisation(name) is not None:
        raise InvitationError(f"the organisation '{name}' already exists")
    organisation = Organisation(name=name)
    db.session.add(organisation)
    db.session.flush()
    return organisation


def default_campaign(organisation: Organisation, form: Form) -> Campaign:
    """The organisation's catch-all campaign for one form and language, created on first use."""
    form_id, language = form.form, form.language
    campaign = db.session.scalar(
        sa.select(Campaign).where(
            Campaign.organisation_id == organisation.id,
            Campaign.form_id == form_id,
            Campaign.language == language,
            Campaign.site == "",
            Campaign.title == form.title,
        )
    )
    if campaign is None:
        campaign = Campaign(
            organisation=organisation, title=form.title, site="", form_id=form_id, language=language
        )
        db.session.add(campaign)
        db.session.flush()
    return campaign


def create_campaign(organisation: Organisation, form: Form, title: str, site: str = "") -> Campaign:
    """Open a campaign (an applicant pool) for one job and site, with one form and language."""
    title, site = title.strip(), site.strip()
    if not title:
        raise InvitationError("a campaign needs a job title")
    campaign = Campaign(
        organisation=organisation,
        title=title,
        site=site,
        form_id=form.form,
        language=form.language,
    )
    db.session.add(campaign)
    db.session.flush()
    return campaign


def find_or_create_candidate(organisation: Organisation, name: str, email: str) -> Candidate:
    """The organisation's candidate with this email (in any letter case), or a new one."""
    candidate = db.session.scalar(
        sa.select(Candidate)
        .where(
            Candidate.organisation_id == organisation.id,
            Candidate.anonymised_at.is_(None),
            sa.func.lower(Candidate.email) == email.lower(),
        )
        .order_by(Candidate.id)
        .limit(1)
    )
    if candidate is None:
        candidate = Candidate(organisation_id=organisation.id, name=name, email=email)
        db.session.add(candidate)
        db.session.flush()
    return candidate


def invite(
    campaign: Campaign, candidate: Candidate, *, days: int, nonce: str | None = None
) -> tuple[Invitation, str]:
    """Create an invitation; return it with its link token (the database keeps its hash)."""
    if campaign.status != "open":
        raise InvitationError("the campaign is closed")
    if days < 1:
        raise InvitationError("an invitation must stay valid for at least one day")
    nonce = nonce or new_nonce()
    token = token_for(nonce, current_app.config["SECRET_KEY"])
    invitation = Invitation(
        campaign=campaign,
        candidate=candidate,
        token_hash=token_hash(token),
        token_nonce=nonce,
        seed=secrets.randbits(31),
        status="pending",
        expires_at=utcnow() + timedelta(days=days),
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation, token


# --- Campaigns ------------------------------------------------------------------------------

STATUS_COUNTS = ("invited", "started", "completed", "expired", "revoked")


def campaign_counts(
    organisation_id: int, campaign_ids: Sequence[int] | None = None
) -> dict[int, dict[str, int]]:
    """Per campaign (of these, all if None): invited (all links), started, completed, expired
    and revoked, in one query."""
    now = utcnow()
    state = sa.case(
        (Invitation.status.in_(("completed", "revoked")), Invitation.status),
        (Invitation.expires_at <= now, "expired"),
        else_=Invitation.status,
    )
    rows = db.session.execute(
        sa.select(Invitation.campaign_id, state.label("state"), sa.func.count())
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .where(
            Campaign.organisation_id == organisation_id,
            *(() if campaign_ids is None else (Invitation.campaign_id.in_(list(campaign_ids)),)),
        )
        .group_by(Invitation.campaign_id, state)
    )
    counts: dict[int, dict[str, int]] = {}
    for campaign_id, status, n in rows:
        entry = counts.setdefault(campaign_id, dict.fromkeys(STATUS_COUNTS, 0))
        entry["invited"] += n
        if status in entry:
            entry[status] += n
    return counts


def completion_rate(counts: dict[str, int]) -> float | None:
    """Completed out of the links that were not revoked, in %."""
    base = counts["invited"] - counts["revoked"]
    return 100.0 * counts["completed"] / base if base else None


def open_campaign(
    organisation: Organisation,
    form: Form,
    *,
    title: str,
    site: str,
    invitation_days: int,
    deadline=None,
    retention_months: int = 24,
) -> Campaign:
    """Create a campaign with its invitation validity, optional deadline and data retention."""
    if not 1 <= invitation_days <= 365:
        raise InvitationError("invitation validity must be 1 to 365 days")
    if not 1 <= retention_months <= 120:
        raise InvitationError("data retention must be 1 to 120 months")
    campaign = create_campaign(organisation, form, title, site)
    campaign.invitation_days = invitation_days
    campaign.deadline = deadline
    campaign.retention_months = retention_months
    return campaign


def close_campaign(campaign: Campaign) -> int:
    """Close the campaign and revoke its links that were never used; returns how many."""
    now = utcnow()
    campaign.status = "closed"
    campaign.closed_at = now
    revoked = move_status(
        Invitation.campaign_id == campaign.id, "revoked", ("pending",), revoked_at=now
    )
    db.session.flush()
    return revoked


def invitation_days_for(campaign: Campaign) -> int:
    """Days a new link stays valid: the campaign's setting, never past its deadline."""
    days = campaign.invitation_days
    if campaign.deadline is not None:
        left = (campaign.deadline - utcnow().date()).days + 1
        days = max(1, min(days, left))
    return days


# --- Invitations ----------------------------------------------------------------------------


def move_status(
    where: sa.ColumnElement[bool], status: str, allowed: tuple[str, ...], **values
) -> int:
    """Move the invitations ``where`` selects to ``status``, with ``values``, but only those
    still in one of the ``allowed`` states; returns how many moved.

    One conditional UPDATE (... WHERE status IN allowed): of two requests moving the same
    invitation at the same moment, only one moves it. Objects already loaded are not updated.
    """
    current = (
        Invitation.status == allowed[0] if len(allowed) == 1 else Invitation.status.in_(allowed)
    )
    return db.session.execute(
        sa.update(Invitation)
        .where(where, current)
        .values(status=status, **values)
        .execution_options(synchronize_session=False)
    ).rowcount


def lock_for_invitations(campaign: Campaign) -> None:
    """Hold the campaign's organisation until commit: who is invited, and who is already a
    candidate, are then checked and changed in one step.

    A write that changes nothing (the organisation's name set to itself), first thing in the
    transaction: on PostgreSQL it locks the organisation's row, on SQLite it takes the
    database's write lock (the driver opens the transaction at the first write, so nothing was
    read from an older snapshot). A second request inviting into the organisation waits for the
    first to commit, then sees its invitations and candidates: one link per person and
    campaign, and one candidate per person and organisation (their erasure then finds every
    trace). Invitations are rare writes; waiting for another one's commit costs nothing visible.
    """
    db.session.execute(
        sa.update(Organisation)
        .where(Organisation.id == campaign.organisation_id)
        .values(name=Organisation.name)
        .execution_options(synchronize_session=False)
    )


def already_invited(campaign: Campaign, emails: list[str]) -> set[str]:
    """Which of these emails (lower-cased) already have a live link in the campaign."""
    if not emails:
        return set()
    rows = db.session.scalars(
        sa.select(sa.func.lower(Candidate.email))
        .join(Invitation, Invitation.candidate_id == Candidate.id)
        .where(
            Invitation.campaign_id == campaign.id,
            Invitation.status != "revoked",
            sa.func.lower(Candidate.email).in_([e.lower() for e in emails]),
        )
    )
    return set(rows)


def invite_one(
    campaign: Campaign, name: str, email: str, external_id: str | None = None
) -> tuple[Invitation, str]:
    """Invite one candidate into a campaign, refusing a second live link for the same email."""
    lock_for_invitations(campaign)
    if already_invited(campaign, [email]):
        raise InvitationError("already_invited")
    candidate = find_or_create_candidate(campaign.organisation, name, email)
    if external_id:
        candidate.external_id = external_id
    return invite(campaign, candidate, days=invitation_days_for(campaign))


def invite_many(campaign: Campaign, rows: list[dict]) -> list[Invitation]:
    """Invite every row (name, email, external_id) in one go: three statements, not 3 per row."""
    emails = [r["email"] for r in rows]
    existing = {
        c.email.lower(): c
        for c in db.session.scalars(
            sa.select(Candidate)
            .where(
                Candidate.organisation_id == campaign.organisation_id,
                Candidate.anonymised_at.is_(None),
                sa.func.lower(Candidate.email).in_([e.lower() for e in emails]),
            )
            .order_by(Candidate.id.desc())  # the oldest row wins if a legacy duplicate exists
        )
    }
    new = []
    for row in rows:
        candidate = existing.get(row["email"].lower())
        if candidate is None:
            candidate = Candidate(
                organisation_id=campaign.organisation_id,
                name=row["name"],
                email=row["email"],
                external_id=row.get("external_id"),
            )
            existing[row["email"].lower()] = candidate
            new.append(candidate)
        elif row.get("external_id"):
            candidate.external_id = row["external_id"]
    db.session.add_all(new)
    db.session.flush()
    days = invitation_days_for(campaign)
    secret = current_app.config["SECRET_KEY"]
    expires = utcnow() + timedelta(days=days)
    invitations = []
    for row in rows:
        nonce = new_nonce()
        invitations.append(
            Invitation(
                campaign_id=campaign.id,
                candidate=existing[row["email"].lower()],
                token_hash=token_hash(token_for(nonce, secret)),
                token_nonce=nonce,
                seed=secrets.randbits(31),
                status="pending",
                expires_at=expires,
            )
        )
    db.session.add_all(invitations)
    db.session.flush()
    return invitations


def revoke(invitation: Invitation) -> bool:
    if invitation.status not in ("pending", "started"):
        return False
    invitation.status = "revoked"
    invitation.revoked_at = utcnow()
    return True


def extend(invitation: Invitation, days: int) -> bool:
    """Push the expiry back by ``days`` from now (or from the current expiry if later)."""
    if invitation.status not in ("pending", "started") or not 1 <= days <= 90:
        return False
    start = max(utcnow(), invitation.expires_at)
    invitation.expires_at = start + timedelta(days=days)
    return True


def invitation_targets(campaign: Campaign) -> list[Invitation]:
    """Live links not yet used that never had an email: pending, not expired, none queued."""
    return list(
        db.session.scalars(
            sa.select(Invitation).where(
                Invitation.campaign_id == campaign.id,
                Invitation.status == "pending",
                Invitation.expires_at > utcnow(),
                ~sa.exists().where(OutboxMessage.invitation_id == Invitation.id),
            )
        )
    )


def reminder_targets(campaign: Campaign) -> list[Invitation]:
    """Live links whose test is not finished: pending or started, not expired."""
    return list(
        db.session.scalars(
            sa.select(Invitation).where(
                Invitation.campaign_id == campaign.id,
                Invitation.status.in_(("pending", "started")),
                Invitation.expires_at > utcnow(),
            )
        )
    )
