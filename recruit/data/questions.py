"""The question bank the application loaded at start-up: the one way to reach it."""

from __future__ import annotations

from flask import Flask, current_app

from recruit.core.bank import Bank, Form
from recruit.data.models import Campaign

EXTENSION = "recruit.bank"


def install(app: Flask, loaded: Bank) -> None:
    app.extensions[EXTENSION] = loaded


def bank(app: Flask | None = None) -> Bank:
    """The running application's bank (``app``'s when given, outside a request)."""
    return (app or current_app).extensions[EXTENSION]


def form_of(campaign: Campaign) -> Form:
    """The bank form a campaign's candidates take: its questionnaire, in its language."""
    return bank().get(campaign.form_id, campaign.language)
