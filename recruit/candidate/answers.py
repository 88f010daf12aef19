"""A candidate's answers: what is stored, their progress through the pages, and the save of
one page with the time spent on it (the busiest write of the app: a few statements, built once),
timed by the signed stamp each page carries from the moment it is shown.

Functions here write through the session without committing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, TimestampSigner

from recruit.core import scoring
from recruit.core.bank import Form, Item
from recruit.data.models import (
    Answer,
    Invitation,
    PageTime,
    dialect_insert,
    session_dialect,
    utcnow,
)
from recruit.extensions import db
from recruit.services import results

# Longest time one page visit may count for: a tab left open overnight is not "time on page".
MAX_PAGE_SECONDS = 2 * 3600


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


def _signer() -> TimestampSigner:
    """Signs the number of a page when it is shown; the stamp comes back with its answers."""
    return TimestampSigner(current_app.config["SECRET_KEY"], salt="recruit.page-shown")


def stamp(page: int) -> str:
    """The signed stamp a page carries when it is shown: its number and the time."""
    return _signer().sign(str(page)).decode()


def page_view(signed: str | None, page: int) -> tuple[float | None, float | None]:
    """(seconds since the page was shown, when it was shown) from the signed stamp it carried;
    (None, None) if there is none or it is not this page's."""
    if not signed:
        return None, None
    try:
        value, shown = _signer().unsign(signed, return_timestamp=True)
    except BadSignature:
        return None, None
    if value.decode() != str(page):
        return None, None
    shown_at = shown.timestamp()
    return time.time() - shown_at, shown_at


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
