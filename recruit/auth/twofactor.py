"""Two-factor authentication with TOTP (RFC 6238, pyotp) and single-use recovery codes.

Enrolment: a new secret is shown as a QR code (inline SVG, segno) and as text; it is saved
only once the user typed a valid code from it. A code is accepted at most once (the last time
step used is kept), with one step of clock drift either way. Recovery codes are shown once and
kept as SHA-256 hashes (they are random, 50 bits each: a slow hash would add nothing).
"""

from __future__ import annotations

import hashlib
import io
import secrets
import time

import pyotp
import segno
import sqlalchemy as sa
from markupsafe import Markup

from recruit.data.models import RecoveryCode, User, utcnow
from recruit.extensions import db
from recruit.services import audit, sessions

ISSUER = "recruit"
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
RECOVERY_LENGTH = 10
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, user: User) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """The QR code of a provisioning URI as an inline <svg> element (no script, no style)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out,
        kind="svg",
        scale=5,
        border=4,
        dark="#000",
        light="#fff",
        xmldecl=False,
        svgns=True,
        nl=False,
        omitsize=True,
        svgclass="qr",
    )
    svg = out.getvalue().decode("utf-8")
    labelled = svg.replace("<svg ", '<svg role="img" aria-label="QR code" ', 1)
    return Markup(labelled)  # nosec B704 - segno's own SVG of our own URI, nothing from a user


def grouped(secret: str) -> str:
    """The secret in groups of four, as people type it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _clean(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step a 6-digit code belongs to (now, or one step before or after), or None."""
    code = _clean(code)
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now = time.time() if now is None else now
    step = int(now // totp.interval)
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if secrets.compare_digest(totp.at(candidate * totp.interval), code):
            return candidate
    return None


def enable(user: User, secret: str, code: str) -> list[str] | None:
    """Confirm enrolment with a code from the new secret; returns the recovery codes to show
    once, or None if the code is wrong. Ends the user's other sessions; commits."""
    step = matching_step(secret, code)
    if step is None:
        return None
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = _new_recovery_codes(user)
    sessions.end_all(user, keep=sessions.current_session(user))
    audit.record("totp_enabled", "user", user.id, user=user)
    db.session.commit()
    return codes


def verify(user: User, code: str) -> str | None:
    """Check a login's second factor: "totp" or "recovery" when accepted, else None.

    A TOTP code is accepted once (a replayed or older code is refused); a recovery code is used
    up. The caller commits with the login.
    """
    if not user.has_2fa:
        return None
    step = matching_step(user.totp_secret, code)
    if step is not None:
        # Conditional update: two requests with the same code cannot both pass.
        accepted = db.session.execute(
            sa.update(User)
            .where(
                User.id == user.id,
                sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        if accepted.rowcount == 1:
            user.totp_last_step = step
            return "totp"
        return None
    used = db.session.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _code_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return "recovery" if used.rowcount == 1 else None


def remaining_codes(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(RecoveryCode.id)).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )


def regenerate_codes(user: User, code: str) -> list[str] | None:
    """New recovery codes (the old ones stop working) after a valid TOTP code; commits."""
    if verify(user, code) != "totp":
        return None
    codes = _new_recovery_codes(user)
    audit.record("recovery_codes_renewed", "user", user.id, user=user)
    db.session.commit()
    return codes


def disable(user: User, *, by: User | None = None) -> None:
    """Remove the user's second factor and recovery codes (by themselves, or by an admin for a
    lost phone: that also ends the user's sessions). The caller checks the right to; commits."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    if by is not None and by.id != user.id:
        sessions.end_all(user)
        audit.record("totp_reset", "user", user.id, user=by)
    else:
        audit.record("totp_disabled", "user", user.id, user=user)
    db.session.commit()


def _code_hash(code: str) -> str:
    return hashlib.sha256(_clean(code).encode("utf-8")).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODES)
    ]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_code_hash(c)) for c in codes)
    return [f"{c[:5]}-{c[5:]}" for c in codes]
