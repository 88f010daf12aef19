"""What every response carries and what each client may ask: headers, proxies, rate limits."""

from __future__ import annotations

import hashlib

import limits
from flask import Flask, current_app, g, request
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from recruit import config
from recruit.extensions import limiter

# No inline script or style anywhere (the charts are server-side SVG), nothing embedded.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ]
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors, for browsers that ignore CSP
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
HSTS = "max-age=31536000; includeSubDomains"
CANDIDATE_PREFIX = "/t/"  # the candidate blueprint's links: the token is in the path
DEFAULT_REFERRER_POLICY = "same-origin"
FAILED_LOOKUP = (404, 410)  # an unknown link, or one expired or revoked
LIMIT_SETTINGS = (
    "RECRUIT_RATELIMIT_CANDIDATE",
    "RECRUIT_RATELIMIT_CANDIDATE_FAILED",
    "RECRUIT_RATELIMIT_API",
)


def register(app: Flask) -> None:
    register_proxy_fix(app)
    register_headers(app)
    register_rate_limits(app)


# --- Behind a reverse proxy -----------------------------------------------------------------


def register_proxy_fix(app: Flask) -> None:
    """Trust X-Forwarded-* only as configured: the client's address and scheme then come from
    the proxy, for the rate limits, `request.is_secure` and external URLs."""
    counts = config.proxy_fix(app.config.get("RECRUIT_PROXY_FIX"))
    if counts:
        app.wsgi_app = ProxyFix(app.wsgi_app, **counts)


# --- Headers --------------------------------------------------------------------------------


def register_headers(app: Flask) -> None:
    app.after_request(security_headers)


def security_headers(response):
    """On every response: pages, files, JSON, errors and redirects alike."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    for name, value in HEADERS.items():
        response.headers[name] = value
    response.headers["Referrer-Policy"] = referrer_policy()
    if current_app.config["RECRUIT_BASE_URL"].startswith("https://"):
        response.headers["Strict-Transport-Security"] = HSTS
    return response


def referrer_policy() -> str:
    """Never a referrer from a candidate link (its token would leak); same-site only elsewhere."""
    if request.path.startswith(CANDIDATE_PREFIX):
        return "no-referrer"
    return g.get("referrer_policy") or DEFAULT_REFERRER_POLICY


# --- Rate limits ----------------------------------------------------------------------------
# Module-level functions, not lambdas: Flask-Limiter keeps a blueprint's limits in a set on the
# process-wide limiter, and equal definitions are kept once however many apps are created.


def candidate_limit() -> str:
    return current_app.config["RECRUIT_RATELIMIT_CANDIDATE"]


def candidate_failed_limit() -> str:
    return current_app.config["RECRUIT_RATELIMIT_CANDIDATE_FAILED"]


def api_limit() -> str:
    return current_app.config["RECRUIT_RATELIMIT_API"]


def failed_lookup(response) -> bool:
    """Only links that do not open count: guessing tokens, not answering, is what gets slowed."""
    return response.status_code in FAILED_LOOKUP


def api_client() -> str:
    """The API key's hash (never the key itself), or the address for a request without one."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() == "bearer" and key:
        return "key:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    return "address:" + get_remote_address()


def register_rate_limits(app: Flask) -> None:
    """Per address on candidate links (with a lower limit on links that fail to open) and per
    key on the API. Login has its own limits (recruit.auth.routes)."""
    for name in LIMIT_SETTINGS:
        try:
            limits.parse_many(app.config[name])
        except ValueError:
            # Flask-Limiter would log and skip a limit it cannot read: refuse to start instead.
            raise ValueError(f"{name}: not a rate limit: {app.config[name]!r}") from None
    from recruit.api.routes import bp as api_bp
    from recruit.candidate.routes import bp as candidate_bp

    limiter.shared_limit(candidate_limit, scope="candidate")(candidate_bp)
    limiter.shared_limit(
        candidate_failed_limit, scope="candidate-failed", deduct_when=failed_lookup
    )(candidate_bp)
    limiter.shared_limit(api_limit, scope="api", key_func=api_client)(api_bp)
