"""Users and their passwords. Passwords are hashed with scrypt (memory-hard)."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from werkzeug.security import check_password_hash, generate_password_hash

from recruit.extensions import db
from recruit.models import ROLES, Organisation, User, utcnow

MIN_PASSWORD = 10
# Checked against when the account does not exist, so both cases take the same time.
_DUMMY_HASH = generate_password_hash("not a real password", method="scrypt")


class AccountError(ValueError):
    """The account cannot be created or changed as asked; the message says why."""


def normalize_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AccountError(str(exc)) from None


def find_user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def create_user(
    organisation: Organisation, email: str, role: str, password: str, name: str = ""
) -> User:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    email = normalize_email(email)
    if find_user(email) is not None:
        raise AccountError("an account with this email already exists")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    user = User(
        organisation_id=organisation.id,
        email=email,
        name=name.strip(),
        role=role,
        password_hash=generate_password_hash(password, method="scrypt"),
    )
    db.session.add(user)
    db.session.flush()
    return user


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None — without telling which failed."""
    user = find_user(email)
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    user.last_login_at = utcnow()
    return user


def set_active(user: User, active: bool) -> None:
    """Deactivating ends the user's sessions for good: reactivating opens none of them again."""
    if user.active and not active:
        user.session_version += 1
    user.active = active
