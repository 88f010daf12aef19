"""The candidate's test: link states, consent, the views of the link, the final submit.

One request function per view of the link (``welcome``, ``give_consent``, ``answer_page``...):
it opens the invitation, says where to go or what to show, and commits once when it wrote
something. The building blocks it calls (``record_consent`` and ``submit`` here, ``save_page``
in ``recruit.candidate.answers``) only write through the session; the demo data and the tests
call them and commit themselves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa
from flask import g
from sqlalchemy.orm import contains_eager

from recruit.candidate.answers import (
    Progress,
    StoredAnswer,
    answer_records,
    page_view,
    payloads,
    progress,
    save_page,
    stamp,
    stored_answers,
)
from recruit.candidate.forms import (
    ConsentForm,
    EraseForm,
    ItemView,
    PageFormBase,
    SubmitForm,
    form_data_from,
    page_form_class,
    responses_from,
)
from recruit.core.bank import Form
from recruit.data import questions
from recruit.data.models import (
    ConsentText,
    Invitation,
    insert_missing,
    token_hash,
    utcnow,
)
from recruit.extensions import db
from recruit.services import invitations, privacy, results


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


def form_for(invitation: Invitation) -> Form:
    """The bank form an invitation is taken in."""
    return questions.form_of(invitation.campaign)


def well_formed(token: str) -> bool:
    return 20 <= len(token) <= 100 and token.replace("-", "").replace("_", "").isalnum()


def find_invitation(token: str, *, for_update: bool = False) -> Invitation | None:
    """The invitation a token opens, with its campaign, or None.

    Malformed tokens never reach the database. ``for_update`` locks the invitation's row (not
    its campaign's: candidates of one campaign save their pages side by side).
    """
    if not well_formed(token):
        return None
    return db.session.scalar(_invitation_query(for_update), {"token_hash": token_hash(token)})


@cache
def _invitation_query(for_update: bool) -> sa.Select:
    query = (
        sa.select(Invitation)
        .join(Invitation.campaign)
        .options(contains_eager(Invitation.campaign))
        .where(Invitation.token_hash == sa.bindparam("token_hash"))
    )
    return query.with_for_update(of=Invitation) if for_update else query


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


def open_for_rights(token: str, *, for_update: bool = False) -> Invitation:
    """The invitation of a link, whatever its state, for the candidate's rights on their data.

    Access and erasure do not end with the test: an expired, revoked or completed link still
    opens them. Raises LinkClosed for an unknown or erased link.
    """
    invitation = find_invitation(token, for_update=for_update)
    if invitation is None:
        raise _missing(token)
    return invitation


def open_invitation(token: str, *, for_update: bool = False) -> Invitation:
    """The invitation if its link can still be used; raise LinkClosed otherwise."""
    invitation = open_for_rights(token, for_update=for_update)
    state = link_state(invitation)
    if state not in ("pending", "started"):
        raise LinkClosed(state, invitation)
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


def submit(invitation: Invitation, form: Form) -> bool:
    """Complete the test and score it, once; False when it was already completed.

    The status change is a conditional UPDATE, so two tabs submitting at the same moment
    complete and score the invitation exactly once.
    """
    changed = invitations.move_status(
        Invitation.id == invitation.id, "completed", ("started",), completed_at=utcnow()
    )
    if changed != 1:
        return False
    db.session.refresh(invitation)
    results.score_invitation(invitation, form)
    return True


# --- One function per view of the link --------------------------------------------------------


@dataclass(frozen=True)
class Redirect:
    """Send the candidate to another view of their link (an endpoint of its blueprint)."""

    endpoint: str
    number: int | None = None


@dataclass(frozen=True)
class Welcome:
    """The welcome page and its consent notice; ``consent_form`` refused when given."""

    invitation: Invitation
    form: Form
    consent_form: ConsentForm | None = None


@dataclass(frozen=True)
class PageShown:
    """A page of items to show; ``refused`` when its answers were posted and did not validate."""

    invitation: Invitation
    form: Form
    page_form: PageFormBase
    views: tuple[ItemView, ...]
    number: int
    progress: Progress
    refused: bool = False


@dataclass(frozen=True)
class Review:
    """Every answer, to read over before the final submit."""

    invitation: Invitation
    form: Form
    progress: Progress
    answers: dict[str, dict]


@dataclass(frozen=True)
class PrivacyShown:
    """What is held and erasure; ``live`` while the test can still be taken."""

    invitation: Invitation
    live: bool
    erase_form: EraseForm | None = None


def closed_link(exc: LinkClosed) -> None:
    """End a request whose link cannot be used: drop its transaction (and any row lock), and
    show the page in the link's language when one is known."""
    db.session.rollback()
    if exc.invitation is not None:
        g.locale = exc.invitation.campaign.language
    elif exc.language is not None:
        g.locale = exc.language


def _open(token: str, *, for_update: bool = False) -> tuple[Invitation, Form]:
    """The usable invitation and its form; its pages are in the campaign's language (read by
    the app's locale selector, before any form validates)."""
    invitation = open_invitation(token, for_update=for_update)
    g.locale = invitation.campaign.language
    return invitation, form_for(invitation)


def welcome(token: str) -> Welcome | Redirect:
    """The welcome page until consent; then on to the test."""
    invitation, form = _open(token)
    if invitation.status == "started":
        return Redirect("resume")
    return Welcome(invitation, form)


def give_consent(token: str, notice: Callable[[Invitation, Form], str]) -> Welcome | Redirect:
    """Record the candidate's consent to the notice (``notice`` writes its exact text), then
    on to the first page."""
    invitation, form = _open(token, for_update=True)
    consent_form = ConsentForm()
    if invitation.status != "pending":
        return Redirect("resume")
    if not consent_form.validate():
        return Welcome(invitation, form, consent_form)
    record_consent(invitation, form, notice(invitation, form), invitation.campaign.language)
    db.session.commit()
    return Redirect("page", 1)


def resume_at(token: str) -> Redirect:
    """Where the candidate takes up the test: the first page left to answer, else the review."""
    invitation, form = _open(token)
    if invitation.status == "pending":
        return Redirect("welcome")
    first = progress(invitation, form, stored_answers(invitation)).first_open_page
    if first is None:
        return Redirect("review")
    return Redirect("page", first)


@dataclass(frozen=True)
class _OpenPage:
    invitation: Invitation
    form: Form
    stored: dict[str, StoredAnswer]
    answers: dict[str, dict]
    progress: Progress
    number: int
    form_class: type[PageFormBase]
    views: tuple[ItemView, ...]


def _open_page(token: str, number: int, *, for_update: bool) -> _OpenPage | Redirect:
    """The page ``number`` of the link with what it needs: two statements (the invitation and
    its answers). No skipping ahead: a later page than the first one still to answer is a
    redirect to it."""
    invitation, form = _open(token, for_update=for_update)
    if invitation.status == "pending":
        return Redirect("welcome")
    stored = answer_records(invitation)
    answers = payloads(stored)
    taken = progress(invitation, form, answers)
    first_open = taken.first_open_page or len(taken.pages) + 1
    if not 1 <= number <= len(taken.pages) or number > first_open:
        return Redirect("resume")
    first_number = sum(len(p) for p in taken.pages[: number - 1]) + 1
    form_class, views = page_form_class(
        form, taken.pages[number - 1], invitation.seed, first_number
    )
    return _OpenPage(invitation, form, stored, answers, taken, number, form_class, views)


def _shown(page: _OpenPage, page_form: PageFormBase, *, refused: bool = False) -> PageShown:
    """The page to show, stamped with the time it is shown (see ``answers.page_view``)."""
    page_form.shown.data = stamp(page.number)
    return PageShown(
        page.invitation, page.form, page_form, page.views, page.number, page.progress, refused
    )


def show_page(token: str, number: int) -> PageShown | Redirect:
    """A page of items with the answers already given on it."""
    page = _open_page(token, number, for_update=False)
    if isinstance(page, Redirect):
        return page
    data = form_data_from(page.answers, page.views)
    return _shown(page, page.form_class(formdata=None, data=data))


def answer_page(token: str, number: int) -> PageShown | Redirect:
    """Save the answers posted to a page and the time spent on it, then on to the next page
    (after the last one, to where the test resumes); the page again when they do not validate.

    The busiest request of all: at most four statements (the invitation locked, its answers,
    the changed answers, the page's time) and one commit.
    """
    page = _open_page(token, number, for_update=True)
    if isinstance(page, Redirect):
        return page
    page_form = page.form_class()
    if not page_form.validate():
        return _shown(page, page_form, refused=True)
    seconds, shown_at = page_view(page_form.shown.data, number)
    responses = responses_from(page_form, page.views)
    save_page(
        page.invitation, page.form, number, responses, seconds, page.stored, shown_at=shown_at
    )
    db.session.commit()
    if number < len(page.progress.pages):
        return Redirect("page", number + 1)
    return Redirect("resume")


def review(token: str) -> Review | Redirect:
    """Every answer to read over, once every page is answered."""
    invitation, form = _open(token)
    if invitation.status == "pending":
        return Redirect("welcome")
    answers = stored_answers(invitation)
    taken = progress(invitation, form, answers)
    if taken.first_open_page is not None:
        return Redirect("resume")
    return Review(invitation, form, taken, answers)


def submit_test(token: str) -> Redirect | None:
    """Complete and score the test once every page is answered; None when the posted form
    (its CSRF token) does not validate."""
    invitation, form = _open(token, for_update=True)
    if not SubmitForm().validate():
        return None
    if invitation.status == "pending":
        return Redirect("welcome")
    if progress(invitation, form, stored_answers(invitation)).first_open_page is not None:
        return Redirect("resume")
    submit(invitation, form)
    db.session.commit()
    return Redirect("welcome")


# --- The candidate's rights on their data ---------------------------------------------------


def _open_for_rights(token: str, *, for_update: bool = False) -> Invitation:
    invitation = open_for_rights(token, for_update=for_update)
    g.locale = invitation.campaign.language
    return invitation


def _privacy_shown(invitation: Invitation, erase_form: EraseForm | None = None) -> PrivacyShown:
    return PrivacyShown(invitation, link_state(invitation) in ("pending", "started"), erase_form)


def privacy_page(token: str) -> PrivacyShown:
    """What is held, a copy to download, and erasure: open whatever the link's state."""
    return _privacy_shown(_open_for_rights(token))


def data_copy(token: str) -> dict:
    """The candidate's own data (right of access)."""
    return privacy.candidate_data(_open_for_rights(token))


def erase_data(token: str) -> PrivacyShown | Redirect:
    """Erase the candidate's identity once they tick the confirmation; the link then says so."""
    invitation = _open_for_rights(token, for_update=True)
    erase_form = EraseForm()
    if not erase_form.validate():
        return _privacy_shown(invitation, erase_form)
    privacy.erase_candidate(
        invitation, requested_by="candidate", reason=privacy.CANDIDATE_ERASE_REASON
    )
    db.session.commit()
    return Redirect("welcome")
