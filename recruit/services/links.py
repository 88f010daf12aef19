"""Candidates' personal links, as every part of the app shows or sends them."""

from __future__ import annotations

from flask import current_app

from recruit.data.models import Invitation, PasswordReset, token_for

RESET_LABEL = "password-reset"
CANDIDATE_PREFIX = "/t/"  # a candidate's personal link: the token is in the path
RESET_PREFIX = "/password/reset/"  # a staff password reset: the token is in the path


def link_for(token: str, prefix: str = CANDIDATE_PREFIX) -> str:
    """The full link for a token: a candidate's personal link unless ``prefix`` says else."""
    return f"{current_app.config['RECRUIT_BASE_URL']}{prefix}{token}"


def invitation_link(invitation: Invitation) -> str | None:
    """The personal link of an invitation, rebuilt from its nonce; None for a legacy one."""
    if not invitation.token_nonce:
        return None
    return link_for(token_for(invitation.token_nonce, current_app.config["SECRET_KEY"]))


def reset_token(nonce: str) -> str:
    """The token of a password-reset link, derived from its nonce like a candidate's."""
    return token_for(nonce, current_app.config["SECRET_KEY"], RESET_LABEL)


def password_reset_link(reset: PasswordReset) -> str | None:
    """The link of a password reset; None once it was used or has expired (nonce cleared)."""
    if not reset.token_nonce:
        return None
    return link_for(reset_token(reset.token_nonce), RESET_PREFIX)
