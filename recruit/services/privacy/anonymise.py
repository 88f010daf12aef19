"""The steps that remove a person's identity, shared by the retention purge and erasure.

Both have the same effect on every table. What goes: the candidate's name, email and ATS id;
each invitation's link (nonce and token hash replaced, so the link no longer resolves); decision
notes (replaced by ``[effacé]``; the decision, who and when stay); outbox messages' .eml files
and their errors; the person's rows in import batches. What stays, without identity: answers,
times per page, scores and decisions, so that norms and statistics computed from earlier
candidates do not move.

Functions add and flush; the caller commits once. The exception is the .eml files, deleted from
disk before that commit: if the commit then fails, a row points to a file that no longer exists
(harmless, and the next run finishes the job), never the reverse.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from recruit.data.models import (
    Campaign,
    Candidate,
    Decision,
    ImportBatch,
    Invitation,
    OutboxMessage,
    token_hash,
)
from recruit.extensions import db

ERASED = "[effacé]"
MESSAGE_ERASED = "data erased"
CHUNK = 500  # ids per IN (...) list


def chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    """These ids sorted without repeats, CHUNK at a time (one IN (...) list each)."""
    ids = sorted(set(ids))
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


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


def _delete_file(path: str, dry_run: bool) -> int:
    """Delete one .eml file of the outbox; 1 if it existed."""
    file = Path(path)
    if file.suffix != ".eml" or not file.is_file():
        return 0
    if not dry_run:
        file.unlink(missing_ok=True)
    return 1


def erase_invitations(ids: Sequence[int], now: datetime, *, dry_run: bool) -> Counts:
    """Remove the link, the decision notes and the emails of these invitations."""
    counts = Counts()
    for chunk in chunks(ids):
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


def anonymise_candidates(ids: Sequence[int], now: datetime, *, dry_run: bool) -> Counts:
    """Remove the name, email and ATS id of these candidates, once."""
    counts = Counts()
    for chunk in chunks(ids):
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


def drop_from_batches(
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
