"""Database models (SQLAlchemy 2.0, typed). Times are naive UTC."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from recruit.extensions import db

INVITATION_STATUSES = ("pending", "started", "completed", "revoked")
CAMPAIGN_STATUSES = ("open", "closed")
ROLES = ("admin", "recruiter", "hr")
DECISIONS = ("shortlist", "hold", "reject")
MESSAGE_KINDS = ("invitation", "reminder", "password_reset")
MESSAGE_STATUSES = ("pending", "sending", "sent", "failed")


def utcnow() -> datetime:
    """Current time as naive UTC, the convention of every column here."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_nonce() -> str:
    """128 random bits from ``secrets``, from which an invitation's token is derived."""
    return secrets.token_hex(16)


def token_for(nonce: str, secret: str, label: str = "invitation") -> str:
    """The link token of an invitation (or, with another ``label``, of another kind of link, such
    as a password reset): HMAC-SHA256 of its nonce under the app's secret key.

    The database keeps the nonce and the token's hash, never the token: a copy of the database
    alone opens no link, while the app can still show a recruiter the link to copy.
    """
    digest = hmac.new(secret.encode("utf-8"), f"{label}:{nonce}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("=")


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def dialect_insert(dialect: str):
    """The ``insert`` construct of a database, with its ON CONFLICT clauses (SQLite, PostgreSQL)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the app runs on SQLite and PostgreSQL only
        raise RuntimeError(f"unsupported database: {dialect}")
    return insert


def session_dialect() -> str:
    return db.session.get_bind().dialect.name


def insert_missing(model, **values) -> None:
    """Insert a row unless one with the same key exists: safe when two requests race to add it."""
    insert = dialect_insert(session_dialect())
    db.session.execute(insert(model).values(**values).on_conflict_do_nothing())


class Organisation(db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by an admin: the admin and hr accounts must use two-factor authentication.
    require_2fa: Mapped[bool] = mapped_column(default=False, server_default="0")


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
    invitation_days: Mapped[int] = mapped_column(default=14)
    deadline: Mapped[date | None]
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
    # Set once when the identity was removed (retention purge or erasure):
    # see recruit.services.privacy.
    anonymised_at: Mapped[datetime | None]


# One candidate per person and organisation, whatever the letter case of the email, so that an
# erasure finds every link of that person; anonymised rows (their email is empty) are left out.
sa.Index(
    "uq_candidates_organisation_email",
    Candidate.organisation_id,
    sa.func.lower(Candidate.email),
    unique=True,
    sqlite_where=Candidate.anonymised_at.is_(None),
    postgresql_where=Candidate.anonymised_at.is_(None),
)


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
    token_nonce: Mapped[str | None] = mapped_column(sa.String(64))
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
    # Set once when the link, the notes and the emails of this invitation were erased.
    erased_at: Mapped[datetime | None]

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
    # When the last view counted here was shown (its signed stamp, seconds since the epoch): a
    # page save carrying that stamp, or an older one, adds no time and no visit.
    last_shown_at: Mapped[float | None]


class Result(db.Model):
    """Scores of a completed invitation, with what they were computed from."""

    __tablename__ = "results"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(sa.ForeignKey("invitations.id"), unique=True)
    # The invitation's campaign, kept here too so that a campaign's results are read (and their
    # item statistics checked for freshness) without a join over every invitation.
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"))
    form_id: Mapped[str] = mapped_column(sa.String(64))
    form_version: Mapped[str] = mapped_column(sa.ForeignKey("form_versions.version"))
    scoring_method: Mapped[str] = mapped_column(sa.String(32))
    composite: Mapped[float | None]
    # Each scored item's score (0..1), by item id, as the scoring that wrote this result gave it
    # (items left unscored are absent); None for results stored before item scores were kept.
    item_scores: Mapped[dict | None] = mapped_column(sa.JSON)
    # The answers those scores came from, as valid payloads by item id (what each person picked:
    # the option endorsement tables sum them); None like item_scores for earlier results.
    picks: Mapped[dict | None] = mapped_column(sa.JSON)
    # What a recruiter should check before trusting the score: space-separated codes
    # (recruit.core.scoring.FLAGS), empty when there is nothing to check.
    flags: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)

    scales: Mapped[list[ScaleScore]] = relationship(
        cascade="all, delete-orphan", order_by="ScaleScore.scale_id"
    )


# The item sums' and the score cache's stamps are read from this index alone.
sa.Index(
    "ix_results_campaign_id_form_version_scored_at_id",
    *(Result.campaign_id, Result.form_version, Result.scored_at, Result.id),
)
# A campaign's invitations, newest first (its page), and those created in a period: the
# dashboard's funnel is counted from this index alone (it holds every column the count reads).
sa.Index(
    "ix_invitations_campaign_id_created_at",
    Invitation.campaign_id,
    Invitation.created_at,
    Invitation.status,
    Invitation.started_at,
    Invitation.expires_at,
)


class ItemMoments(db.Model):
    """What the item statistics of one campaign need, summed once: for the results of that
    campaign scored on one form version, read against the bank's current form, the number of
    complete cases, the items' means and their centred cross-products, and how often each option
    was picked. A cache of ``results.item_scores`` and the answers, rebuilt when ``stamp`` (the
    count and latest scoring time of those results) no longer matches.
    """

    __tablename__ = "item_moments"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "form_version", "current_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    form_version: Mapped[str] = mapped_column(sa.String(16))
    current_version: Mapped[str] = mapped_column(sa.String(16))
    stamp: Mapped[str] = mapped_column(sa.String(80))
    content: Mapped[dict] = mapped_column(sa.JSON)
    built_at: Mapped[datetime] = mapped_column(default=utcnow)


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
    """One scale's row of a reference norm table (see recruit.core.norms.fit_norms)."""

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


class User(UserMixin, db.Model):
    """A person of an organisation who logs in: admin, recruiter or hr."""

    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint(f"role IN {ROLES}", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(160), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(12))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Part of the id kept in session and remember-me cookies: raising it ends every session and
    # remember-me cookie given before (on deactivation, so reactivating opens none of them).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    password_changed_at: Mapped[datetime | None]
    # Two-factor authentication (TOTP, RFC 6238): the shared secret once enrolment is confirmed,
    # and the last time step accepted, so that a code is never accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    organisation: Mapped[Organisation] = relationship()

    @property
    def has_2fa(self) -> bool:
        return self.totp_secret is not None and self.totp_enabled_at is not None

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """Flask-Login's id for the cookies: the user's id and session version."""
        return f"{self.id}:{self.session_version}"


class Decision(db.Model):
    """A person's decision on a candidate, with the reason; the latest one is current."""

    __tablename__ = "decisions"
    __table_args__ = (sa.CheckConstraint(f"decision IN {DECISIONS}", name="decision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(sa.ForeignKey("invitations.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(sa.String(12))
    note: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


class AuditEvent(db.Model):
    """Who did what to which record, and when. Holds ids and codes, no personal data."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(40))
    target_type: Mapped[str] = mapped_column(sa.String(40))
    target_id: Mapped[int | None]
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(db.Model):
    """An email to send, written in the same transaction as what it announces.

    The sender claims a pending message (pending -> sending) before delivering it, so a message
    is never sent twice; failures keep their reason and are retried with back-off.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.CheckConstraint(f"kind IN {MESSAGE_KINDS}", name="kind"),
        sa.CheckConstraint(f"status IN {MESSAGE_STATUSES}", name="status"),
        sa.Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    # One of the two: a candidate's invitation (or reminder), or a staff password reset.
    invitation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("invitations.id"), index=True)
    password_reset_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("password_resets.id"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    eml_path: Mapped[str | None] = mapped_column(sa.String(300))

    invitation: Mapped[Invitation | None] = relationship()
    password_reset: Mapped[PasswordReset | None] = relationship()


class ImportBatch(db.Model):
    """A checked spreadsheet of candidates waiting for the recruiter's confirmation."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(sa.String(200))
    rows: Mapped[list] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_at: Mapped[datetime | None]


class ErasedLink(db.Model):
    """A personal link whose candidate asked for erasure, kept only to say so (410).

    It holds a digest of the token under its own label, different from ``token_hash``: nothing
    here leads back to an invitation, and only the holder of the link can find its row.
    """

    __tablename__ = "erased_links"

    digest: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    language: Mapped[str] = mapped_column(sa.String(2))
    erased_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(db.Model):
    """A key an organisation's ATS uses on the JSON API; only its hash is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    prefix: Mapped[str] = mapped_column(sa.String(12))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship()


class UserSession(db.Model):
    """A staff login, kept server-side: logging out ends it for good, whatever the cookie says.

    The cookie holds a random key; the database keeps its SHA-256 and the HMAC of the address
    it was opened from (to know the addresses a user has logged in from, without storing them).
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    address_hash: Mapped[str] = mapped_column(sa.String(64))
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


sa.Index("ix_user_sessions_user_id_address_hash", UserSession.user_id, UserSession.address_hash)


class RecoveryCode(db.Model):
    """A single-use code that replaces a TOTP code once (lost phone); only its hash is kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class PasswordReset(db.Model):
    """A forgotten-password link: single use, short-lived; the token is derived like a
    candidate's (HMAC of the nonce), and the nonce is cleared once the link is used or dead."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    token_nonce: Mapped[str | None] = mapped_column(sa.String(64))
    language: Mapped[str] = mapped_column(sa.String(2), default="fr")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    def is_open(self, now: datetime) -> bool:
        """Not used, not past its hour, and for an account that is still active."""
        return (
            self.used_at is None
            and bool(self.token_nonce)
            and self.expires_at > now
            and self.user.active
        )


class LoginThrottle(db.Model):
    """Failed logins on one account from addresses it never logged in from (see auth.throttle).

    Keyed by the SHA-256 of the email tried, so unknown accounts are throttled alike and the
    table holds no address.
    """

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)


JOB_STATUSES = ("queued", "running", "done", "failed", "expired")


class Job(db.Model):
    """Long work done off the request by a worker (recruit.services.jobs).

    The database is the truth, the task queue only delivers ids: a worker claims a job with a
    conditional update (queued -> running, or running with a stale heartbeat -> running), beats
    its heartbeat while it works, and finishes it only while its claim still holds, so a job
    never runs twice at once and one whose worker died is picked up again. ``role`` is the role
    that may see it (admins see everything of their organisation); an organisation of None is
    an operator's job, started from the command line.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {JOB_STATUSES}", name="status"),
        sa.CheckConstraint(f"role IN {ROLES}", name="role"),
        sa.Index("ix_jobs_status_heartbeat_at", "status", "heartbeat_at"),
        sa.Index(
            "ix_jobs_organisation_id_user_id_created_at", "organisation_id", "user_id", "created_at"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    api_key_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_keys.id"))
    role: Mapped[str] = mapped_column(sa.String(10))
    kind: Mapped[str] = mapped_column(sa.String(40))
    parameters: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(10), default="queued")
    rows_done: Mapped[int] = mapped_column(default=0)
    rows_total: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.String(500))
    file_path: Mapped[str | None] = mapped_column(sa.String(500))
    file_name: Mapped[str | None] = mapped_column(sa.String(200))
    file_type: Mapped[str | None] = mapped_column(sa.String(120))
    file_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(120))
    heartbeat_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
