"""API keys of organisations: created once (shown once), stored hashed, revocable."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa

from recruit.data.models import ApiKey, Organisation, utcnow
from recruit.extensions import db

PREFIX = "rk_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(
    organisation: Organisation, name: str, user_id: int | None = None
) -> tuple[ApiKey, str]:
    """A new key for the organisation; returns the record and the key, which is never stored."""
    key = PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(
        organisation_id=organisation.id,
        name=name.strip()[:80] or "ATS",
        prefix=key[:10],
        key_hash=_hash(key),
        created_by=user_id,
    )
    db.session.add(record)
    db.session.flush()
    return record, key


def authenticate(key: str) -> ApiKey | None:
    """The live key matching ``key``, or None."""
    if not key.startswith(PREFIX) or len(key) > 200:
        return None
    record = db.session.scalar(sa.select(ApiKey).where(ApiKey.key_hash == _hash(key)))
    if record is None or record.revoked_at is not None:
        return None
    return record


def revoke(record: ApiKey) -> None:
    if record.revoked_at is None:
        record.revoked_at = utcnow()


def keys_of(organisation_id: int) -> list[ApiKey]:
    return list(
        db.session.scalars(
            sa.select(ApiKey)
            .where(ApiKey.organisation_id == organisation_id)
            .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc())
        )
    )
