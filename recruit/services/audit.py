"""The audit log: who did what to which record. Ids and codes only, never personal data."""

from __future__ import annotations

from flask_login import current_user

from recruit.data.models import AuditEvent
from recruit.extensions import db


def record(
    action: str,
    target_type: str,
    target_id: int | None,
    *,
    user=None,
    organisation_id: int | None = None,
    **details,
) -> None:
    """Add an audit event for the current user (or ``user``) in their organisation.

    With ``organisation_id`` the event belongs to that organisation and ``user`` may be None:
    the act of a candidate, an API key or a scheduled job.
    """
    if organisation_id is None:
        actor = user or current_user
        organisation_id, user_id = actor.organisation_id, actor.id
    else:
        user_id = user.id if user is not None else None
    db.session.add(
        AuditEvent(
            organisation_id=organisation_id,
            user_id=user_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=details,
        )
    )
