"""Candidates' personal links, as every part of the app shows or sends them."""

from __future__ import annotations

from flask import current_app

from recruit.models import Invitation, token_for


def link_for(token: str) -> str:
    """The full personal link for a token."""
    return f"{current_app.config['RECRUIT_BASE_URL']}/t/{token}"


def invitation_link(invitation: Invitation) -> str | None:
    """The personal link of an invitation, rebuilt from its nonce; None for a legacy one."""
    if not invitation.token_nonce:
        return None
    return link_for(token_for(invitation.token_nonce, current_app.config["SECRET_KEY"]))
