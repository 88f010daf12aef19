"""Settings read from the environment, with embedded defaults for a one-box run."""

import os
import secrets
from pathlib import Path

QUESTIONS_DIR = Path(__file__).resolve().parent.parent / "questions"


def instance_secret_key(instance_path: str) -> str:
    """Return the secret key kept in the instance folder, creating it on first use."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def from_environment(instance_path: str) -> dict:
    """Build the configuration mapping from environment variables and instance defaults."""
    database_url = os.environ.get("DATABASE_URL") or (
        "sqlite:///" + str(Path(instance_path) / "recruit.sqlite3")
    )
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgres://")
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    base_url = os.environ.get("RECRUIT_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    secure = base_url.startswith("https://")
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or instance_secret_key(instance_path),
        "RECRUIT_BASE_URL": base_url,
        "QUESTIONS_DIR": os.environ.get("RECRUIT_QUESTIONS_DIR", str(QUESTIONS_DIR)),
        "INVITATION_DAYS": int(os.environ.get("RECRUIT_INVITATION_DAYS", "14")),
        "RETENTION_MONTHS": int(os.environ.get("RECRUIT_RETENTION_MONTHS", "24")),
        # Spreadsheets of candidates are the largest uploads; candidate pages allow far less.
        "MAX_CONTENT_LENGTH": int(os.environ.get("RECRUIT_MAX_UPLOAD", str(8 * 1024 * 1024))),
        "CANDIDATE_MAX_CONTENT_LENGTH": 64 * 1024,
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_TIMEOUT": float(os.environ.get("MAIL_TIMEOUT", "10")),
        "MAIL_MAX_ATTEMPTS": int(os.environ.get("MAIL_MAX_ATTEMPTS", "5")),
        "MAIL_POLL_SECONDS": float(os.environ.get("MAIL_POLL_SECONDS", "5")),
        "MAIL_USE_TLS": os.environ.get("MAIL_USE_TLS", "").lower() in ("1", "true", "yes"),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": os.environ.get(
            "MAIL_DEFAULT_SENDER", "recruit <no-reply@localhost>"
        ),
        "MAIL_OUTBOX_DIR": os.environ.get("MAIL_OUTBOX_DIR") or str(Path(instance_path) / "outbox"),
        # "thread": the app sends its own mail in a background thread (one-box default);
        # "off": a separate `recruit mail send` worker does it.
        "MAIL_WORKER": os.environ.get("RECRUIT_MAIL_WORKER", "thread"),
        "BABEL_DEFAULT_LOCALE": "fr",
        "SESSION_COOKIE_SECURE": secure,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    }
