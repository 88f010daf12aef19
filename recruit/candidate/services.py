"""The candidate's test: link states, consent, saving pages, the final submit and its scores.

Functions here add and flush; the route commits once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from recruit import privacy, results, scoring
from recruit.bank import Bank, Form, Item
from recruit.extensions import db
from recruit.models import (
    Answer,
    ConsentText,
    Invitation,
    PageTime,
    insert_missing,
    token_hash,
    utcnow,
)

# Longest time one page visit may count for: a tab left open overnight is not "time on page".
MAX_PAGE_SECONDS = 2 * 3600


class LinkClosed(Exception):
    """The link cannot be used to take the test; ``state`` says why.

    ``language`` is the page's language when no invitation is left to tell it (an erased link).
    """

    def __init__(
        self, state: str, invitation: Invitation | None = None, language: str | None = None
    ):
        self.state = state
        self.invitation = invitation
        self.language = language
        super().__init__(state)


def current_bank() -> Bank:
    return current_app.extensions["recruit.bank"]


def form_for(invitation: Invitation) -> Form:
    """The bank form an invitation is taken in."""
    return current_bank().get(invitation.campaign.form_id, invitation.campaign.language)


def well_formed(token: str) -> bool:
    return 20 <= len(token) <= 100 and token.replace("-", "").replace("_", "").isalnum()


def find_invitation(token: str, *, for_update: bool = False) -> Invitation | None:
    """The invitation a token opens, or None; malformed tokens never reach the database."""
    if not well_formed(token):
        return None
    query = sa.select(Invitation).where(Invitation.token_hash == token_hash(token))
    if for_update:
        query = query.with_for_update()
    return db.session.scalar(query)


def link_state(invitation: Invitation | None) -> str:
    """unknown, revoked, completed, expired, pending (no consent yet) or started."""
    if invitation is None:
        return "unknown"
    if invitation.status in ("revoked", "completed"):
        return invitation.status
    if invitation.is_expired(utcnow()):
        return "expired"
    return invitation.status


def _missing(token: str) -> LinkClosed:
    """Why a token opens no invitation: its candidate's data were erased (410), or unknown."""
    language = privacy.erased_link_language(token) if well_formed(token) else None
    if language is not None:
        return LinkClosed("erased", language=language)
    return LinkClosed("unknown")


def open_invitation(token: str, *, for_update: bool = False) -> Invitation:
    """The invitation if its link can still be used; raise LinkClosed otherwise."""
    invitation = find_invitation(token, for_update=for_update)
    if invitation is None:
        raise _missing(token)
    state = link_state(invitation)
    if state not in ("pending", "started"):
        raise LinkClosed(state, invitation)
    return invitation


def open_for_rights(token: str, *, for_update: bool = False) -> Invitation:
    """The invitation of a link, whatever its state, for the candidate's rights on their data.

    Access and erasure do not end with the test: an expired, revoked or completed link still
    opens them. Raises LinkClosed for an unknown or erased link.
    """
    invitation = find_invitation(token, for_update=for_update)
    if invitation is None:
        raise _missing(token)
    return invitation


def consent_version(text: str, language: str) -> str:
    """The version of a consent notice: its language and a hash of its exact text."""
    return f"{language}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}"


def record_consent(invitation: Invitation, form: Form, text: str, language: str) -> bool:
    """Store the candidate's consent to the notice they were shown; False if already given."""
    if invitation.status != "pending":
        return False
    version = consent_version(text, language)
    if (
        db.session.scalar(sa.select(ConsentText.version).where(ConsentText.version == version))
        is None
    ):
        insert_missing(
            ConsentText, version=version, language=language, text=text, first_used_at=utcnow()
        )
    now = utcnow()
    invitation.consent_version = version
    invitation.consented_at = now
    invitation.form_version = results.ensure_form_version(form)
    invitation.started_at = now
    invitation.status = "started"
    db.session.flush()
    return True


def stored_answers(invitation: Invitation) -> dict[str, dict]:
    """The invitation's answers as payloads, by item id."""
    rows = db.session.execute(
        sa.select(Answer.item_id, Answer.payload).where(Answer.invitation_id == invitation.id)
    )
    return {item_id: payload for item_id, payload in rows}


@dataclass(frozen=True)
class Progress:
    pages: list[list[Item]]
    answered: frozenset[str]

    @property
    def total(self) -> int:
        return sum(len(p) for p in self.pages)

    @property
    def first_open_page(self) -> int | None:
        """1-based number of the first page with an unanswered item, None when all are done."""
        for number, page in enumerate(self.pages, start=1):
            if any(item.id not in self.answered for item in page):
                return number
        return None

    def page_done(self, number: int) -> bool:
        return all(item.id in self.answered for item in self.pages[number - 1])


def progress(invitation: Invitation, form: Form, answers: Mapping[str, dict]) -> Progress:
    answered = frozenset(results.valid_responses(form, answers))
    return Progress(form.pages(invitation.seed), answered)


def save_page(
    invitation: Invitation,
    form: Form,
    page: int,
    responses: Mapping[str, scoring.Response],
    seconds: float | None,
) -> None:
    """Insert or update the answers of one page and add the time spent on it."""
    now = utcnow()
    version = results.ensure_form_version(form)
    existing = {
        a.item_id: a
        for a in db.session.scalars(
            sa.select(Answer).where(
                Answer.invitation_id == invitation.id, Answer.item_id.in_(list(responses))
            )
        )
    }
    for item_id, response in responses.items():
        payload = scoring.response_payload(response)
        answer = existing.get(item_id)
        if answer is None:
            db.session.add(
                Answer(
                    invitation_id=invitation.id,
                    item_id=item_id,
                    payload=payload,
                    form_version=version,
                    answered_at=now,
                    updated_at=now,
                )
            )
        elif answer.payload != payload or answer.form_version != version:
            answer.payload = payload
            answer.form_version = version
            answer.updated_at = now
    record_page_time(invitation, page, seconds)
    db.session.flush()


def record_page_time(invitation: Invitation, page: int, seconds: float | None) -> None:
    timing = db.session.get(PageTime, (invitation.id, page))
    if timing is None:
        timing = PageTime(invitation_id=invitation.id, page=page, seconds=0.0, visits=0)
        db.session.add(timing)
    timing.visits += 1
    if seconds is not None:
        timing.seconds += min(max(seconds, 0.0), MAX_PAGE_SECONDS)


def submit(invitation: Invitation, form: Form) -> bool:
    """Complete the test and score it, once; False when it was already completed.

    The status change is a conditional UPDATE, so two tabs submitting at the same moment
    complete and score the invitation exactly once.
    """
    now = utcnow()
    changed = db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.status == "started")
        .values(status="completed", completed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        return False
    db.session.refresh(invitation)
    results.score_invitation(invitation, form)
    return True
