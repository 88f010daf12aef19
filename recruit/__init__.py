"""recruit: situational-judgement tests that screen candidates for service orientation."""

from __future__ import annotations

import os
from collections.abc import Mapping

import sqlalchemy as sa
from flask import Flask, g, request
from flask_babel import lazy_gettext

from recruit import config
from recruit.core import bank
from recruit.data import questions
from recruit.extensions import babel, csrf, db, limiter, login_manager, migrate
from recruit.web import access, observability, security
from recruit.web.observability import RecruitFlask

LOCALES = ("fr", "en")


def create_app(overrides: Mapping | None = None) -> Flask:
    """Build the application: settings, database, bank, pages, commands."""
    app = RecruitFlask(__name__, instance_path=os.environ.get("RECRUIT_INSTANCE_PATH") or None)
    register_config(app, overrides)
    observability.register(app)  # request ids and logs first: every later hook has them
    register_extensions(app)
    register_bank(app)
    register_blueprints(app)
    register_templates(app)
    security.register(app)  # proxy, headers, rate limits
    register_mail(app)
    register_jobs(app)
    register_cli(app)
    return app


def register_config(app: Flask, overrides: Mapping | None) -> None:
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(config.from_environment(app.instance_path))
    app.config.from_mapping(overrides or {})
    # Cookie flags follow the final base URL, unless the overrides set them themselves.
    derived = config.cookie_settings(app.config)
    app.config.from_mapping({k: v for k, v in derived.items() if k not in (overrides or {})})
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = config.engine_options(app.config)


def select_locale() -> str:
    """The invitation's language on candidate pages, else the browser's preference."""
    return g.get("locale") or request.accept_languages.best_match(LOCALES) or "fr"


def register_extensions(app: Flask) -> None:
    limiter.init_app(app)  # first: a client over its limit is refused before any other work
    security.register_rate_limits(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.user_loader(access.load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Connectez-vous pour accéder à cette page.")
    login_manager.login_message_category = "info"
    access.register(app)  # after CSRF: the server-side session check and 2FA enrolment
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            sa.event.listen(db.engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL for concurrent readers, enforced foreign keys, and patience when the file is busy."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def register_bank(app: Flask) -> None:
    questions.install(app, bank.load_bank(app.config["QUESTIONS_DIR"]))


def register_blueprints(app: Flask) -> None:
    from recruit.api.openapi import make_api
    from recruit.api.routes import bp as api_bp
    from recruit.auth.routes import bp as auth_bp
    from recruit.candidate.routes import bp as candidate_bp
    from recruit.hr.routes import bp as hr_bp
    from recruit.recruiter.routes import bp as recruiter_bp
    from recruit.web import jobs, pages

    app.register_blueprint(pages.bp)
    app.register_blueprint(jobs.bp)
    app.register_blueprint(candidate_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(recruiter_bp)
    app.register_blueprint(hr_bp)
    make_api(app).register_blueprint(api_bp)  # JSON API v1 and its generated OpenAPI document
    csrf.exempt(api_bp)  # the API authenticates by bearer keys, not cookies
    pages.register_error_pages(app)


def register_templates(app: Flask) -> None:
    from flask_babel import get_locale

    from recruit.services import results

    # Globals, not context: the macros imported by the pages see them.
    app.jinja_env.globals.update(
        flags_of=results.flags_of, flag_labels=results.FLAG_LABELS, flag_notes=results.FLAG_NOTES
    )

    @app.context_processor
    def locale_helpers():
        return {"current_locale": lambda: str(get_locale() or "fr")}


def register_mail(app: Flask) -> None:
    """With MAIL_WORKER=thread the app sends its own outbox from a thread, started lazily."""
    if app.config["MAIL_WORKER"] != "thread":
        return
    from recruit.services.outbox import WORKER_EXTENSION, MailWorker

    worker = app.extensions[WORKER_EXTENSION] = MailWorker()

    @app.before_request
    def start_mail_worker():
        if not worker.running:
            worker.start(app)


def register_jobs(app: Flask) -> None:
    """The task queue that delivers background jobs to the workers (`recruit worker`)."""
    from recruit.services import jobs

    jobs.install(app)


def register_cli(app: Flask) -> None:
    from recruit.cli import register_commands

    register_commands(app)
