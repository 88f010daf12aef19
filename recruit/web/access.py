"""Who may see what: the logged-in user, roles, and queries scoped to the user's organisation.

Every record a logged-in user opens by id goes through one of the ``*_or_404`` getters: a user
of another organisation who guesses an id gets the same 404 as for an id that does not exist.
A logged-in user is one whose cookie names a live server-side session (recruit.services.sessions).
"""

from __future__ import annotations

from functools import wraps

import sqlalchemy as sa
from flask import Flask, abort, g, redirect, request, session, url_for
from flask_login import current_user, login_required

from recruit.data.models import Campaign, Invitation, User, utcnow
from recruit.extensions import db
from recruit.services import sessions

READ_ROLES = ("admin", "recruiter", "hr")
WRITE_ROLES = ("admin", "recruiter")
# Ids are 32-bit integer columns, and PostgreSQL refuses to compare one with a larger number:
# an id out of that range is answered like any unknown id, without asking the database.
MAX_ID = 2**31 - 1


def load_user(cookie_id: str) -> User | None:
    """Flask-Login's loader: an active user whose session version is the cookie's."""
    user_id, _, version = cookie_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    record = sessions.current_session(user)
    if record is None:  # logged out, ended everywhere, or expired
        return None
    g.user_session = record
    return user


# Pages a user who must enrol in two-factor authentication may still open.
ENROLMENT_ENDPOINTS = frozenset({"auth.two_factor", "auth.logout"})
TWO_FACTOR_ROLES = ("admin", "hr")


def register(app: Flask) -> None:
    app.before_request(check_session)


def check_session():
    """Once per request of a staff cookie: load the user (which checks the server-side session),
    forget a dead session, keep a live one alive, and send a user who must enrol in 2FA there."""
    if request.endpoint == "static" or "_user_id" not in session:
        return None
    if not current_user.is_authenticated:
        session.clear()  # a dead session: nothing of it is used again
        return None
    record = g.get("user_session")
    if record is not None and sessions.needs_touch(record, utcnow()):
        sessions.touch(record)
        db.session.commit()  # before the request's own work: the only statement so far
    if must_enrol(current_user) and request.endpoint not in ENROLMENT_ENDPOINTS:
        return redirect(url_for("auth.two_factor"))
    return None


def must_enrol(user: User) -> bool:
    """The organisation requires 2FA for this user's role and the user has none yet."""
    return user.role in TWO_FACTOR_ROLES and user.organisation.require_2fa and not user.has_2fa


def role_required(*roles: str):
    """Log in first, then 403 unless the user has one of ``roles``."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def organisation_id() -> int:
    return current_user.organisation_id


def id_or_404(record_id: int) -> int:
    """The id itself if a record could have it; 404 otherwise (see MAX_ID)."""
    if not 1 <= record_id <= MAX_ID:
        abort(404)
    return record_id


def campaign_or_404(campaign_id: int, organisation: int | None = None) -> Campaign:
    """The campaign of the user's organisation (or of ``organisation``, an API key's)."""
    campaign = db.session.scalar(
        sa.select(Campaign).where(
            Campaign.id == id_or_404(campaign_id),
            Campaign.organisation_id
            == (organisation if organisation is not None else organisation_id()),
        )
    )
    if campaign is None:
        abort(404)
    return campaign


def invitation_or_404(invitation_id: int) -> Invitation:
    invitation = db.session.scalar(
        sa.select(Invitation)
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .where(
            Invitation.id == id_or_404(invitation_id),
            Campaign.organisation_id == organisation_id(),
        )
    )
    if invitation is None:
        abort(404)
    return invitation


def user_or_404(user_id: int) -> User:
    user = db.session.scalar(
        sa.select(User).where(
            User.id == id_or_404(user_id), User.organisation_id == organisation_id()
        )
    )
    if user is None:
        abort(404)
    return user
