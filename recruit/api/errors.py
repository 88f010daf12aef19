"""Every error of the API as JSON of one shape: {"error": {"code", "message", "field"}}.

The HTML pages keep their own error pages: these handlers are the blueprint's (they win over
the app's for the API's own routes), plus one check before routing for /api/v1/ URLs that
match no route, which the app's HTML 404 and 405 pages would otherwise answer.
"""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from recruit.extensions import db

PREFIX = "/api/v1"
HANDLED = (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500)
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    500: "internal_error",
}
MESSAGES = {
    404: "No such resource.",
    405: "This method is not allowed here.",
    413: "The request body is too large.",
    500: "Internal error.",
}
BEARER_CHALLENGE = 'Bearer realm="recruit"'


class ApiError(Exception):
    """An error answered as JSON with its status, stable code and message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        problems: list[dict] | None = None,
        headers: dict | None = None,
        extra: dict | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.field, self.problems, self.headers = field, problems, headers or {}
        self.extra = extra or {}  # more members of the error object (job_endpoint on a 413)


def error_response(error: ApiError):
    body = {"code": error.code, "message": error.message, "field": error.field, **error.extra}
    if error.problems is not None:
        body["problems"] = error.problems
    response = jsonify({"error": body})
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def unauthorized(code: str, message: str) -> ApiError:
    challenge = BEARER_CHALLENGE
    if code != "missing_key":
        challenge += ', error="invalid_token"'
    return ApiError(401, code, message, headers={"WWW-Authenticate": challenge})


def problems_from_messages(messages) -> list[dict]:
    """Flatten marshmallow's nested messages ({"json": {"title": ["..."]}}) into problems."""
    problems: list[dict] = []

    def walk(node, path: list[str]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, path if key == "_schema" else [*path, str(key)])
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item, path)
        else:
            problems.append(
                {
                    "index": None,
                    "field": ".".join(path) or None,
                    "code": "invalid",
                    "message": str(node),
                }
            )

    for location in messages.values() if isinstance(messages, dict) else [messages]:
        walk(location, [])
    return problems


def from_http_exception(exc: HTTPException) -> ApiError:
    """An HTTPException (abort, webargs, werkzeug) as an ApiError."""
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    headers = dict(exc.get_headers())
    headers.pop("Content-Type", None)
    if status == 401:
        return unauthorized("invalid_key", "A valid API key is required.")
    messages = data.get("messages")
    if messages is not None:
        if messages == {"json": ["Invalid JSON body."]}:
            return ApiError(400, "invalid_json", "The request body is not valid JSON.")
        problems = problems_from_messages(messages)
        first = problems[0] if problems else {"field": None, "message": "Invalid input."}
        code = "invalid_parameter" if status == 400 else "invalid_input"
        return ApiError(status, code, first["message"], field=first["field"], problems=problems)
    message = MESSAGES.get(status) or exc.description or exc.name
    return ApiError(status, CODES.get(status, "error"), message, headers=headers)


def handle_http_exception(exc: HTTPException):
    if (exc.code or 500) >= 500:
        db.session.rollback()
    return error_response(from_http_exception(exc))


def handle_api_error(error: ApiError):
    return error_response(error)


def routing_errors():
    """JSON for /api/v1/ URLs that match no route or not this method (runs before routing)."""
    if not (request.path == PREFIX or request.path.startswith(PREFIX + "/")):
        return None
    exc = request.routing_exception
    if isinstance(exc, NotFound | MethodNotAllowed):
        return handle_http_exception(exc)
    return None


def register(bp) -> None:
    """The blueprint's error handlers, by status code so that they win over the app's pages."""
    bp.register_error_handler(ApiError, handle_api_error)
    for status in HANDLED:
        bp.register_error_handler(status, handle_http_exception)
    bp.before_app_request(routing_errors)
