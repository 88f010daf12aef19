"""Staff sessions kept server-side: a logout, a password change or "log out everywhere" ends a
session for good, whatever copy of the cookie someone kept.

The signed session cookie carries a random key (``SESSION_KEY``); the database keeps its
SHA-256 in ``user_sessions`` and every request of a logged-in user checks it there: a session
ends when it is ended by hand, after ``RECRUIT_SESSION_IDLE_HOURS`` without a request, or
``RECRUIT_SESSION_MAX_DAYS`` after the login, whichever comes first.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, request, session
from flask_limiter.util import get_remote_address

from recruit.data.models import User, UserSession, utcnow
from recruit.extensions import db

SESSION_KEY = "_sid"
# last_seen_at is written at most once a minute per session: idle timeouts are counted in hours.
TOUCH_EVERY = timedelta(minutes=1)
USER_AGENT_MAX = 200


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def address_hash(address: str | None = None) -> str:
    """The client's address under the app's secret: comparable, not readable."""
    address = address if address is not None else (get_remote_address() or "")
    secret = current_app.config["SECRET_KEY"].encode("utf-8")
    return hmac.new(secret, f"address:{address}".encode(), hashlib.sha256).hexdigest()


def idle_limit() -> timedelta:
    return timedelta(hours=float(current_app.config["RECRUIT_SESSION_IDLE_HOURS"]))


def absolute_limit() -> timedelta:
    return timedelta(days=float(current_app.config["RECRUIT_SESSION_MAX_DAYS"]))


def open_session(user: User) -> UserSession:
    """Record a new session for ``user`` and put its key in the cookie; the caller commits."""
    key = secrets.token_urlsafe(32)
    now = utcnow()
    record = UserSession(
        user_id=user.id,
        key_hash=key_hash(key),
        address_hash=address_hash(),
        user_agent=(request.user_agent.string or "")[:USER_AGENT_MAX],
        created_at=now,
        last_seen_at=now,
    )
    db.session.add(record)
    db.session.flush()
    session[SESSION_KEY] = key
    return record


def is_live(record: UserSession, now: datetime) -> bool:
    return (
        record.ended_at is None
        and now - record.last_seen_at <= idle_limit()
        and now - record.created_at <= absolute_limit()
    )


def current_session(user: User) -> UserSession | None:
    """The live session of this request's cookie for ``user``, or None."""
    key = session.get(SESSION_KEY)
    if not isinstance(key, str) or not key:
        return None
    record = db.session.scalar(
        sa.select(UserSession).where(
            UserSession.key_hash == key_hash(key), UserSession.user_id == user.id
        )
    )
    if record is None or not is_live(record, utcnow()):
        return None
    return record


def needs_touch(record: UserSession, now: datetime) -> bool:
    return now - record.last_seen_at >= TOUCH_EVERY


def touch(record: UserSession) -> None:
    """Move the session's last activity to now; its own small transaction (see access)."""
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.id == record.id, UserSession.ended_at.is_(None))
        .values(last_seen_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def end_current() -> None:
    """End this request's session, if it has one; the caller commits."""
    key = session.get(SESSION_KEY)
    if isinstance(key, str) and key:
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.key_hash == key_hash(key), UserSession.ended_at.is_(None))
            .values(ended_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def end_all(user: User, *, keep: UserSession | None = None) -> int:
    """End every open session of ``user`` (but ``keep``); returns how many. The caller commits."""
    query = sa.update(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    result = db.session.execute(
        query.values(ended_at=utcnow()).execution_options(synchronize_session=False)
    )
    return result.rowcount


def live_sessions(user: User) -> list[UserSession]:
    """The user's sessions that are still open, the most recent first."""
    now = utcnow()
    rows = db.session.scalars(
        sa.select(UserSession)
        .where(
            UserSession.user_id == user.id,
            UserSession.ended_at.is_(None),
            UserSession.last_seen_at > now - idle_limit(),
            UserSession.created_at > now - absolute_limit(),
        )
        .order_by(UserSession.last_seen_at.desc())
    ).all()
    return list(rows)


def known_address(user: User) -> bool:
    """Has ``user`` ever logged in from this request's address?"""
    return (
        db.session.scalar(
            sa.select(UserSession.id)
            .where(UserSession.user_id == user.id, UserSession.address_hash == address_hash())
            .limit(1)
        )
        is not None
    )


_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def describe_agent(user_agent: str | None) -> str:
    """ "Firefox · Windows" from a User-Agent header, enough to tell one's devices apart."""
    agent = user_agent or ""
    browser = next((name for token, name in _BROWSERS if token in agent), None)
    system = next((name for token, name in _SYSTEMS if token in agent), None)
    return " · ".join(part for part in (browser, system) if part) or "—"
