"""The audit log: who did what to which record. Ids and codes only, never personal data."""

from __future__ import annotations

from flask_login import current_user

from recruit.extensions import db
from recruit.models import AuditEvent


def record(action: str, target_type: str, target_id: int | None, *, user=None, **details) -> None:
    """Add an audit event for the current user (or ``user``) in their organisation."""
    actor = user or current_user
    db.session.add(
        AuditEvent(
            organisation_id=actor.organisation_id,
            user_id=actor.id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=details,
        )
    )
