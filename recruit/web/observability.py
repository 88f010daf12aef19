"""Request ids, one JSON log line per request without personal data, and the health check.

A log line holds the method, the path (no query string, a candidate's link token replaced),
the endpoint, the status, the duration, the request id and the ids of the user or API key, and
nothing else: no names, emails, tokens, query strings or bodies.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

import sqlalchemy as sa
from flask import Blueprint, Flask, g, request
from flask.logging import has_level_handler

from recruit.extensions import db, limiter

REQUEST_ID_HEADER = "X-Request-ID"
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
CANDIDATE_LINK = re.compile(r"^/t/[^/]+")
MAX_PATH = 256  # a path is ours or a probe's: no need for all of a 10 kB one

logger = logging.getLogger("recruit.request")
health_logger = logging.getLogger("recruit.health")

bp = Blueprint("observability", __name__)


def register(app: Flask) -> None:
    """First of all hooks: every later hook, handler and error page has the request id."""
    app.before_request(start_request)
    app.after_request(log_request)  # registered first, so it runs last, on the final response
    app.register_blueprint(bp)
    limiter.exempt(bp)
    _log_to_stderr_unless_configured()
    _hide_limiter_keys()


def start_request() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if VALID_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def public_path(path: str) -> str:
    """The path with a candidate link's token replaced: the token opens the candidate's test."""
    return CANDIDATE_LINK.sub("/t/…", path, count=1)[:MAX_PATH]


def _user_id() -> int | None:
    """The logged-in user's id if this request loaded one (never loads it just to log)."""
    user = g.get("_login_user")  # where Flask-Login keeps the user it loaded for the request
    if user is None:
        return None
    try:
        state = sa.inspect(user)  # the key it was loaded with: no query, even after a rollback
    except sa.exc.NoInspectionAvailable:  # the anonymous user
        return None
    return state.identity[0] if state.identity else None


def log_request(response):
    started = g.get("request_started")
    request_id = g.get("request_id") or uuid.uuid4().hex
    entry = {
        "event": "request",
        "request_id": request_id,
        "method": request.method,
        "path": public_path(request.path),
        "endpoint": request.endpoint,
        "status": response.status_code,
        "duration_ms": None if started is None else round((time.perf_counter() - started) * 1e3, 1),
        "user_id": _user_id(),
        "api_key_id": g.get("api_key_id"),
    }
    response.headers[REQUEST_ID_HEADER] = request_id
    logger.info(json.dumps(entry, ensure_ascii=False, separators=(",", ":")))
    return response


def _log_to_stderr_unless_configured() -> None:
    """Request lines go to stderr as they are, unless logging was set up to take them."""
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    if not has_level_handler(logger):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)


class _LimiterKeyFilter(logging.Filter):
    """Flask-Limiter logs the key of a breached limit; per account that key is an email."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "exceeded" in str(record.msg) and isinstance(record.args, tuple) and record.args:
            record.args = tuple("…" if i == 1 else a for i, a in enumerate(record.args))
        return True


def _hide_limiter_keys() -> None:
    if not any(isinstance(f, _LimiterKeyFilter) for f in limiter.logger.filters):
        limiter.logger.addFilter(_LimiterKeyFilter())


# --- Health ---------------------------------------------------------------------------------


@bp.get("/healthz")
def healthz():
    """200 when the app answers and the database runs `SELECT 1`; 503 otherwise. No login."""
    try:
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        database = "ok"
    except sa.exc.SQLAlchemyError as exc:
        # The class only: a driver's message may name the host, the user or the database.
        health_logger.warning("database check failed: %s", type(exc).__name__)
        database = "unavailable"
    status = 200 if database == "ok" else 503
    body = {"status": "ok" if status == 200 else "unavailable", "database": database}
    return body, status, {"Cache-Control": "no-store"}


class RecruitFlask(Flask):
    """Flask, whose error log names the path without a candidate's link token."""

    def log_exception(self, exc_info) -> None:
        from flask import request

        self.logger.error(
            "Exception on %s [%s]", public_path(request.path), request.method, exc_info=exc_info
        )
