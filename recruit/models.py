"""Database models (SQLAlchemy 2.0, typed). Times are naive UTC."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from recruit.extensions import db

INVITATION_STATUSES = ("pending", "started", "completed", "revoked")
CAMPAIGN_STATUSES = ("open", "closed")


def utcnow() -> datetime:
    """Current time as naive UTC, the convention of every column here."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_token() -> str:
    """A fresh link token: 256 bits from ``secrets``, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Organisation(db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Campaign(db.Model):
    """An applicant pool: one job at one site, with one form in one language."""

    __tablename__ = "campaigns"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {CAMPAIGN_STATUSES}", name="status"),
        sa.CheckConstraint("language IN ('fr', 'en')", name="language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(160))
    site: Mapped[str] = mapped_column(sa.String(160), default="")
    form_id: Mapped[str] = mapped_column(sa.String(64))
    language: Mapped[str] = mapped_column(sa.String(2))
    status: Mapped[str] = mapped_column(sa.String(10), default="open")
    retention_months: Mapped[int] = mapped_column(default=24)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship()


class Candidate(db.Model):
    __tablename__ = "candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(160))
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    external_id: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FormVersion(db.Model):
    """The exact content of a form as candidates saw it, kept for every version ever used."""

    __tablename__ = "form_versions"

    version: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    form_id: Mapped[str] = mapped_column(sa.String(64))
    language: Mapped[str] = mapped_column(sa.String(2))
    content: Mapped[dict] = mapped_column(sa.JSON)
    first_used_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentText(db.Model):
    """Each consent notice shown to candidates, by the hash of its text."""

    __tablename__ = "consent_texts"

    version: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    language: Mapped[str] = mapped_column(sa.String(2))
    text: Mapped[str] = mapped_column(sa.Text)
    first_used_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invitation(db.Model):
    """A candidate's personal link to one campaign's test."""

    __tablename__ = "invitations"
    __table_args__ = (sa.CheckConstraint(f"status IN {INVITATION_STATUSES}", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("candidates.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(12), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    consented_at: Mapped[datetime | None]
    consent_version: Mapped[str | None] = mapped_column(sa.ForeignKey("consent_texts.version"))
    form_version: Mapped[str | None] = mapped_column(sa.ForeignKey("form_versions.version"))
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    campaign: Mapped[Campaign] = relationship()
    candidate: Mapped[Candidate] = relationship()

    def is_expired(self, now: datetime) -> bool:
        return self.status in ("pending", "started") and self.expires_at <= now


class Answer(db.Model):
    """One item's answer; the record from which every score is derived."""

    __tablename__ = "answers"
    __table_args__ = (sa.UniqueConstraint("invitation_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(sa.ForeignKey("invitations.id"))
    item_id: Mapped[str] = mapped_column(sa.String(32))
    payload: Mapped[dict] = mapped_column(sa.JSON)
    form_version: Mapped[str] = mapped_column(sa.ForeignKey("form_versions.version"))
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PageTime(db.Model):
    """Seconds a candidate spent on one page, summed over visits."""

    __tablename__ = "page_times"

    invitation_id: Mapped[int] = mapped_column(sa.ForeignKey("invitations.id"), primary_key=True)
    page: Mapped[int] = mapped_column(primary_key=True)
    seconds: Mapped[float] = mapped_column(default=0.0)
    visits: Mapped[int] = mapped_column(default=0)


class Result(db.Model):
    """Scores of a completed invitation, with what they were computed from."""

    __tablename__ = "results"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(sa.ForeignKey("invitations.id"), unique=True)
    form_id: Mapped[str] = mapped_column(sa.String(64))
    form_version: Mapped[str] = mapped_column(sa.ForeignKey("form_versions.version"))
    scoring_method: Mapped[str] = mapped_column(sa.String(32))
    composite: Mapped[float | None]
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)

    scales: Mapped[list[ScaleScore]] = relationship(
        cascade="all, delete-orphan", order_by="ScaleScore.scale_id"
    )


class ScaleScore(db.Model):
    __tablename__ = "scale_scores"

    result_id: Mapped[int] = mapped_column(sa.ForeignKey("results.id"), primary_key=True)
    scale_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    value: Mapped[float]
    n_items: Mapped[int]


class ReferenceNorm(db.Model):
    """An organisation's reference norm for one form: every completed result pooled, at a date."""

    __tablename__ = "reference_norms"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    form_id: Mapped[str] = mapped_column(sa.String(64))
    method: Mapped[str] = mapped_column(sa.String(16))
    n: Mapped[int]
    built_at: Mapped[datetime] = mapped_column(default=utcnow)

    scales: Mapped[list[ReferenceNormScale]] = relationship(
        cascade="all, delete-orphan", order_by="ReferenceNormScale.scale_id"
    )


class ReferenceNormScale(db.Model):
    """One scale's row of a reference norm table (see recruit.norms.fit_norms)."""

    __tablename__ = "reference_norm_scales"

    norm_id: Mapped[int] = mapped_column(sa.ForeignKey("reference_norms.id"), primary_key=True)
    scale_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    n: Mapped[int]
    mean: Mapped[float | None]
    sd: Mapped[float | None]
    median: Mapped[float | None]
    mad: Mapped[float | None]
    location: Mapped[float | None]
    spread: Mapped[float | None]
