"""The public home page and the error pages."""

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from recruit.extensions import db

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    if current_user.is_authenticated:
        return redirect(url_for("recruiter.campaigns"))
    return render_template("pages/home.html")


def register_error_pages(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_exc):
        return render_template("errors/400.html", csrf=True), 400

    @app.errorhandler(400)
    def bad_request(_exc):
        return render_template("errors/400.html"), 400

    @app.errorhandler(403)
    def forbidden(_exc):
        return render_template("errors/403.html"), 403

    @app.errorhandler(429)
    def too_many(_exc):
        return render_template("errors/429.html"), 429

    @app.errorhandler(404)
    def not_found(_exc):
        return render_template("errors/404.html"), 404

    @app.errorhandler(405)
    def not_allowed(_exc):
        return render_template("errors/404.html"), 405

    @app.errorhandler(413)
    def too_large(_exc):
        return render_template("errors/400.html", too_large=True), 413

    @app.errorhandler(500)
    def server_error(_exc):
        db.session.rollback()
        return render_template("errors/500.html"), 500
