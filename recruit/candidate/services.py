"""The candidate's test: link states, consent, saving pages, the final submit and its scores.

Functions here write through the session without committing; the route commits once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from recruit.core import scoring
from recruit.core.bank import Form, Item
from recruit.data import questions
from recruit.data.models import (
    Answer,
    ConsentText,
    Invitation,
    PageTime,
    dialect_insert,
    insert_missing,
    session_dialect,
    token_hash,
    utcnow,
)
from recruit.extensions import db
from recruit.services import privacy, results

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


def form_for(invitation: Invitation) -> Form:
    """The bank form an invitation is taken in."""
    return questions.bank().get(invitation.campaign.form_id, invitation.campaign.language)


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


class StoredAnswer(NamedTuple):
    payload: dict
    form_version: str


def answer_records(invitation: Invitation) -> dict[str, StoredAnswer]:
    """The invitation's answers with the form version each was given in, by item id."""
    rows = db.session.connection().execute(_ANSWER_RECORDS, {"invitation_id": invitation.id})
    return {item_id: StoredAnswer(payload, version) for item_id, payload, version in rows}


# Statements of every candidate request are built once: building one costs as much as running it.
# These are Core statements run on the session's connection (same transaction): they load or
# write no ORM object, so the ORM's execution layer has nothing to add.
_ANSWER_RECORDS = sa.select(Answer.item_id, Answer.payload, Answer.form_version).where(
    Answer.invitation_id == sa.bindparam("invitation_id")
)


def payloads(records: Mapping[str, StoredAnswer]) -> dict[str, dict]:
    return {item_id: record.payload for item_id, record in records.items()}


def stored_answers(invitation: Invitation) -> dict[str, dict]:
    """The invitation's answers as payloads, by item id."""
    return payloads(answer_records(invitation))


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


def progress(invitation: Invitation, form: Form, answers: Mapping[str, dict]) -> Progress:
    answered = frozenset(results.valid_responses(form, answers))
    return Progress(form.pages(invitation.seed), answered)


def save_page(
    invitation: Invitation,
    form: Form,
    page: int,
    responses: Mapping[str, scoring.Response],
    seconds: float | None,
    stored: Mapping[str, StoredAnswer] | None = None,
    *,
    shown_at: float | None = None,
) -> None:
    """Insert or update the answers of one page and add the time spent on it.

    ``stored`` is the invitation's answers as the caller read them (read here when not given).
    An answer is written only when it is new or changed; its first answer time is kept. Two
    statements: one INSERT ... ON CONFLICT DO UPDATE for the page's answers, one for its time.
    ``shown_at`` is when the view being saved was shown (see ``record_page_time``).
    """
    if stored is None:
        stored = answer_records(invitation)
    now = utcnow()
    version = form.version
    if invitation.form_version != version:
        # The bank changed since consent: store the version the answers are now given in.
        version = results.ensure_form_version(form)
    rows = []
    for item_id, response in responses.items():
        payload = scoring.response_payload(response)
        if stored.get(item_id) != (payload, version):
            rows.append(
                {
                    "invitation_id": invitation.id,
                    "item_id": item_id,
                    "payload": payload,
                    "form_version": version,
                    "answered_at": now,
                    "updated_at": now,
                }
            )
    if rows:
        upsert = _upsert(
            session_dialect(), Answer.__table__, ("invitation_id", "item_id"), _answer_changes
        )
        db.session.connection().execute(upsert, rows)
    record_page_time(invitation, page, seconds, shown_at)


def record_page_time(
    invitation: Invitation, page: int, seconds: float | None, shown_at: float | None = None
) -> None:
    """Count one visit of the page and add its seconds, capped, in one statement.

    ``shown_at`` is the timestamp of the signed stamp the page carried: a view counts once, so a
    save whose stamp is not newer than the last one counted (the same form posted again, or an
    older tab) adds neither seconds nor a visit. A save without a stamp counts a visit, no time.
    """
    spent = 0.0 if seconds is None else min(max(seconds, 0.0), MAX_PAGE_SECONDS)
    upsert = _upsert(
        session_dialect(), PageTime.__table__, ("invitation_id", "page"), _page_time_changes
    )
    db.session.connection().execute(
        upsert,
        {
            "invitation_id": invitation.id,
            "page": page,
            "seconds": spent,
            "visits": 1,
            "last_shown_at": shown_at,
        },
    )


# The two writes of a page save, built once per database kind.
@cache
def _upsert(dialect: str, table: sa.Table, keys: tuple[str, ...], changes) -> sa.Executable:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET changes(table, excluded)."""
    insert = dialect_insert(dialect)(table)
    return insert.on_conflict_do_update(
        index_elements=[table.c[key] for key in keys], set_=changes(table, insert.excluded)
    )


def _answer_changes(table: sa.Table, excluded) -> dict:
    """A changed answer: the new payload and version; its first answer time is kept."""
    return {
        "payload": excluded.payload,
        "form_version": excluded.form_version,
        "updated_at": excluded.updated_at,
    }


def _page_time_changes(table: sa.Table, excluded) -> dict:
    """Another visit of a page: visits and seconds add up, unless its stamp was counted already.

    Every right-hand side reads the row as it was before the update (SQLite and PostgreSQL).
    """
    shown, last = excluded.last_shown_at, table.c.last_shown_at
    newer = sa.or_(last.is_(None), shown > last)
    counted = sa.or_(shown.is_(None), newer)
    return {
        "visits": sa.case((counted, table.c.visits + excluded.visits), else_=table.c.visits),
        "seconds": sa.case((counted, table.c.seconds + excluded.seconds), else_=table.c.seconds),
        "last_shown_at": sa.case((newer, shown), else_=last),
    }


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
