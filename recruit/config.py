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
        # Candidate pages post a handful of radio buttons; anything bigger is not ours.
        "MAX_CONTENT_LENGTH": int(os.environ.get("RECRUIT_MAX_CONTENT_LENGTH", str(64 * 1024))),
        "BABEL_DEFAULT_LOCALE": "fr",
        "SESSION_COOKIE_SECURE": secure,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    }
