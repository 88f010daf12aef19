"""The question bank the application loaded at start-up: the one way to reach it."""

from __future__ import annotations

from flask import Flask, current_app

from recruit.core.bank import Bank

EXTENSION = "recruit.bank"


def install(app: Flask, loaded: Bank) -> None:
    app.extensions[EXTENSION] = loaded


def bank(app: Flask | None = None) -> Bank:
    """The running application's bank (``app``'s when given, outside a request)."""
    return (app or current_app).extensions[EXTENSION]
