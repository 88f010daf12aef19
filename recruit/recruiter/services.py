"""The recruiter's campaigns and invitations: the pages that list them and every action on them.

Pages: the campaign list, one campaign with its invitations, its outbox and one message's file.
Actions: open and close a campaign, invite one person, queue invitation emails and reminders,
revoke, extend or send one link. An action returns an ``Outcome``, what it did in words for the
recruiter, after its audit record and the request's one commit (``finish``), which also wakes
the mail worker when emails were queued. Imports live in ``imports``, shortlists, decisions and
comparison in ``shortlist``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from flask_babel import gettext as _

from recruit.core.bank import Form
from recruit.data import questions
from recruit.data.models import (
    Campaign,
    Candidate,
    Invitation,
    Organisation,
    OutboxMessage,
    utcnow,
)
from recruit.extensions import db
from recruit.services import audit, invitations, links, outbox, privacy

INVITATIONS_PER_PAGE = 100
OUTBOX_ROWS = 500  # the latest messages of a campaign shown on its outbox page


@dataclass(frozen=True)
class Outcome:
    """What an action did, in words: the message flashed to the recruiter (None: nothing to say)
    and its category; ``campaign_id`` names a campaign it opened, ``resend`` asks for a file
    to be sent again."""

    message: str | None = None
    category: str = "success"
    campaign_id: int | None = None
    resend: bool = False


def finish(
    action: str, target_type: str, target_id: int, *, emails: bool = False, **details
) -> None:
    """Record the action in the audit log and commit the request's work; with ``emails``, wake
    the mail worker for the messages just queued."""
    audit.record(action, target_type, target_id, **details)
    db.session.commit()
    if emails:
        outbox.wake_worker()


# --- Campaigns ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignList:
    """The organisation's campaigns, open ones first, with their counts and completion rate."""

    campaigns: list[Campaign]
    stats: dict[int, dict[str, int]]
    rates: dict[int, float | None]


def campaign_list(organisation_id: int) -> CampaignList:
    """Every campaign of the organisation, open first then newest, with its progress."""
    rows = db.session.scalars(
        sa.select(Campaign)
        .where(Campaign.organisation_id == organisation_id)
        .order_by(Campaign.status.desc(), Campaign.created_at.desc())
    ).all()
    counts = invitations.campaign_counts(organisation_id)
    empty = dict.fromkeys(invitations.STATUS_COUNTS, 0)
    stats = {c.id: counts.get(c.id, empty) for c in rows}
    rates = {c.id: invitations.completion_rate(stats[c.id]) for c in rows}
    return CampaignList(list(rows), stats, rates)


def campaign_titles(organisation_id: int) -> list[Campaign]:
    """Every campaign of the organisation, by title: what a recruiter picks from."""
    return list(
        db.session.scalars(
            sa.select(Campaign)
            .where(Campaign.organisation_id == organisation_id)
            .order_by(Campaign.title)
        )
    )


def open_campaign(
    organisation: Organisation,
    form_language: str,
    *,
    title: str,
    site: str,
    invitation_days: int,
    deadline: date | None,
    retention_months: int | None,
) -> Outcome:
    """Open a campaign on the questionnaire ``form_language`` ("form:language") of the bank."""
    form_id, language = form_language.split(":")
    campaign = invitations.open_campaign(
        organisation,
        questions.bank().get(form_id, language),
        title=title,
        site=site,
        invitation_days=invitation_days,
        deadline=deadline,
        retention_months=retention_months or privacy.DEFAULT_RETENTION_MONTHS,
    )
    finish("campaign_opened", "campaign", campaign.id)
    return Outcome(
        _("Campagne ouverte. Invitez maintenant vos candidats."), campaign_id=campaign.id
    )


def close_campaign(campaign: Campaign) -> Outcome:
    """Close an open campaign and revoke its unused links; a closed one is left as it is."""
    if campaign.status != "open":
        return Outcome()
    revoked = invitations.close_campaign(campaign)
    finish("campaign_closed", "campaign", campaign.id, revoked=revoked)
    return Outcome(_("Campagne clôturée : %(n)s lien(s) non utilisé(s) désactivé(s).", n=revoked))


@dataclass(frozen=True)
class CampaignPage:
    """One page of a campaign's invitations, newest first, and the campaign's progress.

    ``rows`` holds (invitation, candidate, personal link, latest email or None); ``outbox``
    counts the campaign's emails by status; ``unsent`` counts pending links never emailed."""

    rows: list[tuple[Invitation, Candidate, str | None, OutboxMessage | None]]
    counts: dict[str, int]
    rate: float | None
    outbox: dict[str, int]
    unsent: int
    page: int
    pages: int
    form: Form
    now: datetime


def campaign_page(campaign: Campaign, page: int) -> CampaignPage:
    """The campaign's invitations on page ``page`` with their latest email, and its counts."""
    total = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Invitation)
        .where(Invitation.campaign_id == campaign.id)
    )
    rows = db.session.execute(
        sa.select(Invitation, Candidate)
        .join(Candidate, Candidate.id == Invitation.candidate_id)
        .where(Invitation.campaign_id == campaign.id)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        .limit(INVITATIONS_PER_PAGE)
        .offset((page - 1) * INVITATIONS_PER_PAGE)
    ).all()
    counts = invitations.campaign_counts(campaign.organisation_id, [campaign.id]).get(
        campaign.id, dict.fromkeys(invitations.STATUS_COUNTS, 0)
    )
    messages = _latest_messages([inv.id for inv, _candidate in rows])
    return CampaignPage(
        rows=[(inv, cand, links.invitation_link(inv), messages.get(inv.id)) for inv, cand in rows],
        counts=counts,
        rate=invitations.completion_rate(counts),
        outbox=_email_counts(campaign),
        unsent=_unsent(campaign),
        page=page,
        pages=max(1, -(-total // INVITATIONS_PER_PAGE)),
        form=questions.form_of(campaign),
        now=utcnow(),
    )


def _latest_messages(invitation_ids: list[int]) -> dict[int, OutboxMessage]:
    """The latest email of each of these invitations that has one."""
    messages = {}
    for message in db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.invitation_id.in_(invitation_ids))
        .order_by(OutboxMessage.id)
    ):
        messages[message.invitation_id] = message  # the latest one wins
    return messages


def _email_counts(campaign: Campaign) -> dict[str, int]:
    """The campaign's emails counted by status (pending, sending, sent, failed...)."""
    return dict(
        db.session.execute(
            sa.select(OutboxMessage.status, sa.func.count())
            .join(Invitation, Invitation.id == OutboxMessage.invitation_id)
            .where(Invitation.campaign_id == campaign.id)
            .group_by(OutboxMessage.status)
        ).all()
    )


def _unsent(campaign: Campaign) -> int:
    """Pending links of the campaign that never had an email."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Invitation)
        .where(
            Invitation.campaign_id == campaign.id,
            Invitation.status == "pending",
            ~sa.exists().where(OutboxMessage.invitation_id == Invitation.id),
        )
    )


# --- Invitations and their emails -----------------------------------------------------------


def invite(campaign: Campaign, name: str, email: str, external_id: str | None) -> Outcome:
    """Invite one person and queue their invitation email.

    Raises invitations.InvitationError, with nothing written, if they already have a live link
    in the campaign."""
    try:
        invitation, _token = invitations.invite_one(campaign, name, email, external_id)
    except invitations.InvitationError:
        db.session.rollback()  # and the campaign's lock with it, before the page is drawn again
        raise
    outbox.enqueue(invitation, "invitation")
    finish("invited", "invitation", invitation.id, emails=True)
    return Outcome(_("Invitation créée ; l'e-mail part dans quelques instants."))


def send_invitations(campaign: Campaign) -> Outcome:
    """Queue an email for every pending link that never had one."""
    targets = invitations.invitation_targets(campaign)
    _queue_emails(campaign, targets, "invitation", "invitations_queued")
    return Outcome(_("%(n)s e-mail(s) d'invitation en cours d'envoi.", n=len(targets)))


def remind(campaign: Campaign) -> Outcome:
    """Queue a reminder for every live link whose test is not finished."""
    targets = invitations.reminder_targets(campaign)
    _queue_emails(campaign, targets, "reminder", "reminders_queued")
    return Outcome(_("%(n)s rappel(s) en cours d'envoi.", n=len(targets)))


def _queue_emails(campaign: Campaign, targets: list[Invitation], kind: str, action: str) -> None:
    """One email of ``kind`` per target in the outbox, audited, committed; wake the sender."""
    for invitation in targets:
        outbox.enqueue(invitation, kind)
    finish(action, "campaign", campaign.id, emails=True, count=len(targets))


def send_one(invitation: Invitation) -> Outcome:
    """Queue the email a live link needs now: its invitation, or a reminder once started."""
    if invitation.status not in ("pending", "started") or invitation.is_expired(utcnow()):
        return Outcome()
    kind = "reminder" if invitation.status == "started" else "invitation"
    outbox.enqueue(invitation, kind)
    finish("message_queued", "invitation", invitation.id, emails=True, kind=kind)
    return Outcome(_("E-mail en cours d'envoi."))


def revoke(invitation: Invitation) -> Outcome:
    """Deactivate a link that is not used up yet."""
    if not invitations.revoke(invitation):
        return Outcome()
    finish("invitation_revoked", "invitation", invitation.id)
    return Outcome(_("Lien désactivé."))


def extend(invitation: Invitation, days: int) -> Outcome:
    """Push a live link's expiry back by ``days``."""
    if not invitations.extend(invitation, days):
        return Outcome(_("Ce lien ne peut plus être prolongé."), "error")
    finish("invitation_extended", "invitation", invitation.id, days=days)
    return Outcome(_("Lien prolongé jusqu'au %(date)s.", date=invitation.expires_at.date()))


@dataclass(frozen=True)
class OutboxPage:
    """The campaign's latest emails, newest first, each with its candidate; ``pending`` while
    one of them still waits to be sent."""

    rows: list[tuple[OutboxMessage, Candidate]]
    pending: bool


def outbox_page(campaign: Campaign) -> OutboxPage:
    """The campaign's latest emails and whether some are still on their way."""
    rows = db.session.execute(
        sa.select(OutboxMessage, Candidate)
        .join(Invitation, Invitation.id == OutboxMessage.invitation_id)
        .join(Candidate, Candidate.id == Invitation.candidate_id)
        .where(Invitation.campaign_id == campaign.id)
        .order_by(OutboxMessage.id.desc())
        .limit(OUTBOX_ROWS)
    ).all()
    pending = any(m.status in ("pending", "sending") for m, _candidate in rows)
    return OutboxPage(list(rows), pending)


def message_file(organisation_id: int, message_id: int) -> OutboxMessage | None:
    """The organisation's email ``message_id`` if its .eml file is on disk; None otherwise."""
    message = db.session.scalar(
        sa.select(OutboxMessage).where(
            OutboxMessage.id == message_id,
            OutboxMessage.organisation_id == organisation_id,
        )
    )
    if message is None or not message.eml_path or not Path(message.eml_path).is_file():
        return None
    return message
