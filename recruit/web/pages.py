"""The public home page and the error pages."""

from flask import Blueprint, make_response, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from recruit.extensions import db
from recruit.web import queryargs

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    if current_user.is_authenticated:
        return redirect(url_for("recruiter.campaigns"))
    return render_template("pages/home.html")


# Status -> the page shown and what it is told; 405 shows the "not found" page (with the Allow
# header), 413 the "bad request" page with its reason, a CSRF failure the same with its own, a
# refused query parameter (recruit.web.queryargs) the same with the parameter's name.
ERROR_PAGES = {
    400: ("errors/400.html", {}),
    403: ("errors/403.html", {}),
    404: ("errors/404.html", {}),
    405: ("errors/404.html", {}),
    413: ("errors/400.html", {"too_large": True}),
    429: ("errors/429.html", {}),
}


def _error_page(template: str, status: int, context: dict):
    def handler(exc):
        message = exc.description if isinstance(exc, queryargs.BadArgument) else None
        response = make_response(render_template(template, message=message, **context), status)
        # What the exception says beyond its page: the methods a 405 allows (Allow), say.
        if isinstance(exc, HTTPException):
            for name, value in exc.get_headers():
                if name.lower() != "content-type":
                    response.headers[name] = value
        return response

    return handler


def server_error(_exc):
    db.session.rollback()
    return render_template("errors/500.html"), 500


def register_error_pages(app) -> None:
    for status, (template, context) in ERROR_PAGES.items():
        app.register_error_handler(status, _error_page(template, status, context))
    app.register_error_handler(CSRFError, _error_page("errors/400.html", 400, {"csrf": True}))
    app.register_error_handler(500, server_error)
