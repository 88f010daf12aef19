"""Staff accounts: logging in (throttled without locking the real user out), passwords, resets.

Passwords are hashed with scrypt (memory-hard) and must pass ``recruit.core.passwords``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from werkzeug.security import check_password_hash, generate_password_hash

from recruit.auth import twofactor
from recruit.core import passwords
from recruit.data.models import (
    ROLES,
    ApiKey,
    LoginThrottle,
    Organisation,
    PasswordReset,
    User,
    dialect_insert,
    new_nonce,
    session_dialect,
    token_hash,
    utcnow,
)
from recruit.extensions import db
from recruit.services import apikeys, audit, outbox, sessions
from recruit.services.links import reset_token

MIN_PASSWORD = passwords.MIN_LENGTH
# Checked against when the account does not exist, so both cases take the same time.
_DUMMY_HASH = generate_password_hash("not a real password", method="scrypt")

# Failed logins on one account from addresses it never logged in from: the first FREE_FAILURES
# are free, then each attempt waits 1, 2, 4... seconds after the previous failure, at most
# MAX_DELAY; failures are forgotten after FORGET_AFTER without one. Nothing is ever locked: the
# real user, from an address they logged in from before, is never delayed.
FREE_FAILURES = 5
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)

RESET_VALID = timedelta(hours=1)
RESETS_PER_HOUR = 3


T = TypeVar("T")


class AccountError(ValueError):
    """The account cannot be created or changed as asked; the message says why."""


class WeakPassword(AccountError):
    """The password is refused; ``weakness`` says why (see recruit.core.passwords)."""

    def __init__(self, weakness: passwords.Weakness):
        super().__init__(weakness.code)
        self.weakness = weakness


def normalize_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AccountError(str(exc)) from None


def find_user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def check_password_strength(password: str, *context: str) -> None:
    """Raise WeakPassword unless ``password`` is long and hard enough to guess; ``context`` is
    what an attacker would try first (the account's email, name, organisation)."""
    weakness = passwords.weakness(password, context)
    if weakness is not None:
        raise WeakPassword(weakness)


def _check_new_password(user: User, password: str) -> None:
    check_password_strength(password, user.email, user.name, user.organisation.name)


def _hash(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def create_user(
    organisation: Organisation, email: str, role: str, password: str, name: str = ""
) -> User:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    email = normalize_email(email)
    if find_user(email) is not None:
        raise AccountError("an account with this email already exists")
    check_password_strength(password, email, name, organisation.name)
    user = User(
        organisation_id=organisation.id,
        email=email,
        name=name.strip(),
        role=role,
        password_hash=_hash(password),
        password_changed_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    return user


def add_user(
    organisation: Organisation, email: str, role: str, password: str, name: str = ""
) -> User:
    """An admin creates an account of their organisation (see create_user); commits."""
    user = create_user(organisation, email, role, password, name)
    audit.record("user_created", "user", user.id, role=user.role)
    db.session.commit()
    return user


def members(organisation_id: int) -> list[User]:
    """The organisation's accounts, active ones first."""
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.organisation_id == organisation_id)
            .order_by(User.active.desc(), User.email)
        )
    )


def toggle_active(user: User) -> None:
    """Deactivate an active account (ending its sessions) or reactivate it; commits."""
    set_active(user, not user.active)
    audit.record("user_enabled" if user.active else "user_disabled", "user", user.id)
    db.session.commit()


def require_2fa(organisation: Organisation, on: bool) -> None:
    """Require (or stop requiring) two-factor authentication of admin and hr accounts; commits."""
    if organisation.require_2fa != on:
        organisation.require_2fa = on
        audit.record("require_2fa_changed", "organisation", organisation.id, on=on)
        db.session.commit()


def create_api_key(user: User, name: str) -> str:
    """A new API key of the user's organisation; returns the key, shown once. Commits."""
    record, key = apikeys.create_key(user.organisation, name, user_id=user.id)
    audit.record("api_key_created", "api_key", record.id)
    db.session.commit()
    return key


def revoke_api_key(record: ApiKey) -> None:
    apikeys.revoke(record)
    audit.record("api_key_revoked", "api_key", record.id)
    db.session.commit()


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None — without telling which failed."""
    return _verify(find_user(email), password)


def _verify(user: User | None, password: str) -> User | None:
    """``user`` if active and the password is theirs; an unknown or inactive account takes the
    same time (a dummy hash is checked)."""
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    return user


def set_active(user: User, active: bool) -> None:
    """Deactivating ends the user's sessions for good: reactivating opens none of them again."""
    if user.active and not active:
        user.session_version += 1
        sessions.end_all(user)
    user.active = active


# --- Logging in -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginAttempt:
    """What a login attempt gave: the user (password right), or a wait in seconds (throttled:
    the password was not even checked), or neither (wrong email or password)."""

    user: User | None = None
    wait: int | None = None


def account_key(email: str) -> str:
    """The throttle's key for an account: the SHA-256 of the email tried, known or not."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def delay_after(failures: int) -> timedelta:
    """How long after the last failure the next attempt from a new address must wait."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - FREE_FAILURES, 20)), MAX_DELAY)


def throttle_wait(key: str) -> int | None:
    """Seconds an attempt on this account from an unfamiliar address must still wait, or None."""
    row = db.session.get(LoginThrottle, key)
    if row is None:
        return None
    now = utcnow()
    if now - row.last_failure_at >= FORGET_AFTER:
        return None
    remaining = row.last_failure_at + delay_after(row.failures) - now
    return max(1, int(remaining.total_seconds() + 0.999)) if remaining > timedelta(0) else None


def record_failure(key: str) -> None:
    """Count one more failure on this account (from an unfamiliar address), in one statement."""
    now = utcnow()
    table = LoginThrottle.__table__
    insert = dialect_insert(session_dialect())(table).values(
        key=key, failures=1, last_failure_at=now
    )
    forgotten = table.c.last_failure_at < now - FORGET_AFTER
    db.session.execute(
        insert.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "failures": sa.case((forgotten, 1), else_=table.c.failures + 1),
                "last_failure_at": now,
            },
        )
    )


def _throttled(
    email: str, user: User | None, check: Callable[[], T | None]
) -> tuple[T | None, int | None]:
    """Run one check of a login (password or second factor) under the account's throttle:
    (its result, None), or (None, seconds to wait) without running it. A failure from an
    address the user never logged in from counts against the account; a failure commits."""
    key = account_key(email)
    familiar = user is not None and user.active and sessions.known_address(user)
    if not familiar and (wait := throttle_wait(key)) is not None:
        return None, wait
    result = check()
    if result is None:
        if not familiar:
            record_failure(key)
        db.session.commit()
    return result, None


def attempt_login(email: str, password: str) -> LoginAttempt:
    """Check a login's password. A correct password from an address the user has logged in
    from before always works; from any other address, an account that had too many failures
    makes the attempt wait (no password is checked while it must wait)."""
    user = find_user(email)
    accepted, wait = _throttled(email, user, lambda: _verify(user, password))
    return LoginAttempt(user=accepted, wait=wait)


def pending_user(user_id, version) -> User | None:
    """The user of a login waiting for its second factor, if still active and unchanged."""
    if not isinstance(user_id, int):
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def check_second_factor(user: User, code: str) -> tuple[str | None, int | None]:
    """(how the code was accepted: "totp" or "recovery", or None; seconds to wait when the
    account is throttled for this address). A wrong code counts as a failed login."""
    return _throttled(user.email, user, lambda: twofactor.verify(user, code))


def complete_login(user: User) -> None:
    """Open the server-side session of a user who proved who they are (their account's failed
    attempts are forgotten); commits."""
    db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key == account_key(user.email)))
    user.last_login_at = utcnow()
    sessions.open_session(user)
    audit.record("login", "user", user.id, user=user, two_factor=user.has_2fa)
    db.session.commit()


def log_out() -> None:
    """End this request's session for good; commits."""
    sessions.end_current()
    db.session.commit()


def log_out_everywhere(user: User) -> int:
    """End every session of the user, this one included; commits. Returns how many ended."""
    ended = sessions.end_all(user)
    audit.record("sessions_ended", "user", user.id, user=user, count=ended)
    db.session.commit()
    return ended


# --- Passwords --------------------------------------------------------------------------------


def change_password(user: User, current: str, new: str) -> None:
    """Change the user's own password (the current one is asked again); ends the user's other
    sessions. Raises AccountError("wrong_password") or WeakPassword; commits."""
    if not check_password_hash(user.password_hash, current):
        raise AccountError("wrong_password")
    _check_new_password(user, new)
    user.password_hash = _hash(new)
    user.password_changed_at = utcnow()
    ended = sessions.end_all(user, keep=sessions.current_session(user))
    audit.record("password_changed", "user", user.id, user=user, sessions_ended=ended)
    db.session.commit()


def request_reset(email: str, language: str) -> None:
    """Send a reset link to an active account with this email, through the outbox; commits.

    Unknown and inactive addresses get nothing, and the caller answers the same in every case;
    an account gets at most RESETS_PER_HOUR links an hour (more would only fill its inbox).
    """
    try:
        user = find_user(normalize_email(email))
    except AccountError:
        return
    if user is None or not user.active:
        return
    now = utcnow()
    recent = db.session.scalar(
        sa.select(sa.func.count(PasswordReset.id)).where(
            PasswordReset.user_id == user.id, PasswordReset.created_at > now - timedelta(hours=1)
        )
    )
    if recent >= RESETS_PER_HOUR:
        return
    nonce = new_nonce()
    reset = PasswordReset(
        user=user,
        token_hash=token_hash(reset_token(nonce)),
        token_nonce=nonce,
        language=language if language in ("fr", "en") else "fr",
        created_at=now,
        expires_at=now + RESET_VALID,
    )
    db.session.add(reset)
    db.session.flush()
    outbox.enqueue_password_reset(reset)
    audit.record("password_reset_requested", "user", user.id, user=user)
    db.session.commit()
    outbox.wake_worker()


def find_reset(token: str) -> PasswordReset | None:
    """The open reset of this token: not used, not expired, for an active account."""
    if not token or len(token) > 100:
        return None
    reset = db.session.scalar(
        sa.select(PasswordReset).where(PasswordReset.token_hash == token_hash(token))
    )
    return reset if reset is not None and reset.is_open(utcnow()) else None


def complete_reset(reset: PasswordReset, new: str) -> User:
    """Set the new password, use up every open link of the user and end all their sessions
    (whoever was logged in is out); two-factor stays as it was. Raises WeakPassword; commits."""
    user = reset.user
    _check_new_password(user, new)
    now = utcnow()
    used = db.session.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=now, token_nonce=None)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # the same link posted twice at once: only the first one counts
        db.session.rollback()
        raise AccountError("reset_used")
    db.session.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.token_nonce.is_not(None))
        .values(token_nonce=None)
        .execution_options(synchronize_session=False)
    )
    user.password_hash = _hash(new)
    user.password_changed_at = now
    ended = sessions.end_all(user)
    audit.record("password_reset", "user", user.id, user=user, sessions_ended=ended)
    db.session.commit()
    return user
