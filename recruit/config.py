"""Settings read from the environment, with embedded defaults for a one-box run."""

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

QUESTIONS_DIR = Path(__file__).resolve().parent.parent / "questions"
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")
PG_CONNECT_TIMEOUT = 10  # seconds
PROXY_FIX_KEYS = ("x_for", "x_proto", "x_host", "x_port", "x_prefix")


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
    cookie_secure = flag(os.environ.get("RECRUIT_COOKIE_SECURE"), "RECRUIT_COOKIE_SECURE")
    settings = {
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
        # Always set: Flask-Limiter's singleton would otherwise keep the last app's choice.
        "RATELIMIT_ENABLED": enabled(os.environ.get("RATELIMIT_ENABLED"), "RATELIMIT_ENABLED"),
        # Per client address on candidate links; failed lookups (404, 410) count on their own.
        "RECRUIT_RATELIMIT_CANDIDATE": os.environ.get(
            "RECRUIT_RATELIMIT_CANDIDATE", "600 per minute"
        ),
        "RECRUIT_RATELIMIT_CANDIDATE_FAILED": os.environ.get(
            "RECRUIT_RATELIMIT_CANDIDATE_FAILED", "30 per 10 minutes"
        ),
        # Per API key (per client address for requests without one).
        "RECRUIT_RATELIMIT_API": os.environ.get("RECRUIT_RATELIMIT_API", "600 per minute"),
        # Per client address: API requests refused for their key (401, missing or unknown).
        "RECRUIT_RATELIMIT_API_FAILED": os.environ.get(
            "RECRUIT_RATELIMIT_API_FAILED", "30 per 10 minutes"
        ),
        # "x_for=1,x_proto=1,x_host=1": how many proxies in front set each X-Forwarded-* header.
        "RECRUIT_PROXY_FIX": os.environ.get("RECRUIT_PROXY_FIX", ""),
        # None: Secure cookies exactly when RECRUIT_BASE_URL is https (see ``cookie_settings``).
        "RECRUIT_COOKIE_SECURE": cookie_secure,
        # Staff sessions end after this long without a request, and this long after the login.
        "RECRUIT_SESSION_IDLE_HOURS": float(os.environ.get("RECRUIT_SESSION_IDLE_HOURS", "8")),
        "RECRUIT_SESSION_MAX_DAYS": float(os.environ.get("RECRUIT_SESSION_MAX_DAYS", "7")),
        # Static files are served with this max-age (their URLs carry a version of their content).
        "SEND_FILE_MAX_AGE_DEFAULT": int(
            os.environ.get("RECRUIT_STATIC_MAX_AGE", str(365 * 86400))
        ),
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
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        # Over https Flask-WTF also wants a same-site Referer on every POST, but candidate pages
        # send none (Referrer-Policy: no-referrer keeps their token out of every Referer): the
        # session's CSRF token, in a SameSite=Lax cookie, is the check.
        "WTF_CSRF_SSL_STRICT": False,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    }
    return settings | job_settings(instance_path) | cookie_settings(settings)


def job_settings(instance_path: str) -> dict:
    """Background jobs (recruit.services.jobs): the task queue that delivers their ids, where
    their files go and for how long, how a worker shows it is alive, and the sizes above which
    work becomes a job (the API's synchronous exports answer 413, the dashboard's CSV becomes a
    job, an import of more lines runs in the background)."""
    return {
        "RECRUIT_QUEUE_URL": os.environ.get("RECRUIT_QUEUE_URL", ""),
        "RECRUIT_JOBS_DIR": os.environ.get("RECRUIT_JOBS_DIR") or str(Path(instance_path) / "jobs"),
        "RECRUIT_JOB_KEEP_HOURS": float(os.environ.get("RECRUIT_JOB_KEEP_HOURS", "24")),
        "RECRUIT_JOB_HEARTBEAT_SECONDS": float(
            os.environ.get("RECRUIT_JOB_HEARTBEAT_SECONDS", "10")
        ),
        "RECRUIT_JOB_STALE_SECONDS": float(os.environ.get("RECRUIT_JOB_STALE_SECONDS", "60")),
        "RECRUIT_JOB_MAX_ATTEMPTS": int(os.environ.get("RECRUIT_JOB_MAX_ATTEMPTS", "3")),
        "RECRUIT_SYNC_EXPORT_MAX_ROWS": int(
            os.environ.get("RECRUIT_SYNC_EXPORT_MAX_ROWS", "10000")
        ),
        "RECRUIT_CSV_STREAM_MAX_ROWS": int(os.environ.get("RECRUIT_CSV_STREAM_MAX_ROWS", "50000")),
        "RECRUIT_IMPORT_SYNC_MAX_ROWS": int(os.environ.get("RECRUIT_IMPORT_SYNC_MAX_ROWS", "1000")),
    }


def engine_options(settings: Mapping) -> dict:
    """The engine options, with a connect timeout for PostgreSQL: an unreachable server makes
    /healthz and requests fail in seconds instead of waiting for TCP to give up."""
    options = dict(settings.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if str(settings["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("connect_timeout", PG_CONNECT_TIMEOUT)
        options["connect_args"] = connect_args
    return options


def flag(value: str | None, name: str) -> bool | None:
    """A yes/no setting: True, False, or None when unset or empty."""
    if value is None or not value.strip():
        return None
    if value.strip().lower() in TRUE:
        return True
    if value.strip().lower() in FALSE:
        return False
    raise ValueError(f"{name} must be 1 or 0 (true/false, yes/no, on/off), not {value!r}")


def enabled(value: str | None, name: str) -> bool:
    """A switch that is on unless set to 0 (false, no, off)."""
    return flag(value, name) is not False


def cookie_settings(settings: Mapping) -> dict:
    """Secure cookies (the session, which holds the CSRF token, and remember-me) when the site
    is served over https, unless RECRUIT_COOKIE_SECURE says otherwise."""
    secure = settings.get("RECRUIT_COOKIE_SECURE")
    if isinstance(secure, str):
        secure = flag(secure, "RECRUIT_COOKIE_SECURE")
    if secure is None:
        secure = str(settings["RECRUIT_BASE_URL"]).startswith("https://")
    return {"SESSION_COOKIE_SECURE": bool(secure), "REMEMBER_COOKIE_SECURE": bool(secure)}


def proxy_fix(value: str | Mapping | None) -> dict[str, int]:
    """ProxyFix's arguments from "x_for=1,x_proto=1,x_host=1" (or a mapping); {} means off.

    Each count is the number of proxies in front that set that X-Forwarded-* header; a header
    not named is ignored (0), so a client cannot forge it.
    """
    if not value or (isinstance(value, str) and value.strip().lower() in FALSE):
        return {}
    if isinstance(value, str):
        pairs = [part.partition("=") for part in value.replace(" ", "").split(",") if part]
        if any(not sep for _key, sep, _ in pairs):
            raise ValueError(f"RECRUIT_PROXY_FIX: write key=count pairs, not {value!r}")
        value = {key: count for key, _, count in pairs}
    unknown = set(value) - set(PROXY_FIX_KEYS)
    if unknown:
        raise ValueError(f"RECRUIT_PROXY_FIX: unknown {sorted(unknown)}; use {PROXY_FIX_KEYS}")
    try:
        counts = {key: int(count) for key, count in value.items()}
    except ValueError:
        raise ValueError(f"RECRUIT_PROXY_FIX: counts are whole numbers, not {value!r}") from None
    if any(count < 0 for count in counts.values()):
        raise ValueError("RECRUIT_PROXY_FIX: counts are 0 or more")
    if not any(counts.values()):
        return {}
    return {key: counts.get(key, 0) for key in PROXY_FIX_KEYS}  # ProxyFix's own defaults are not 0
