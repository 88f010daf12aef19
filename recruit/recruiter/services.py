"""Organisations, campaigns and invitations, as the recruiter side creates them."""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from recruit.bank import Form
from recruit.extensions import db
from recruit.models import (
    Campaign,
    Candidate,
    Invitation,
    Organisation,
    new_nonce,
    token_for,
    token_hash,
    utcnow,
)


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
    candidate = db.session.scalar(
        sa.select(Candidate).where(
            Candidate.organisation_id == organisation.id, Candidate.email == email
        )
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


def link_for(token: str) -> str:
    """The full personal link for a token."""
    return f"{current_app.config['RECRUIT_BASE_URL']}/t/{token}"


def invitation_link(invitation: Invitation) -> str | None:
    """The personal link of an invitation, rebuilt from its nonce; None for a legacy one."""
    if not invitation.token_nonce:
        return None
    return link_for(token_for(invitation.token_nonce, current_app.config["SECRET_KEY"]))
