"""What every response carries and what each client may ask: headers, proxies, rate limits."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from functools import cache

import limits
from flask import Flask, current_app, g, request
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

from recruit import config
from recruit.extensions import limiter
from recruit.services import links

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
# Pages whose path holds a secret token (a candidate's link, a password reset): no referrer.
SECRET_PATH_PREFIXES = (links.CANDIDATE_PREFIX, links.RESET_PREFIX)
# Every page and file the app builds may hold personal data, a personal link or a token:
# nothing of it is kept by a browser's or a proxy's cache (a shared computer's included).
NO_STORE = "no-store"
STATIC_ENDPOINT = "static"
DEFAULT_REFERRER_POLICY = "same-origin"
FAILED_LOOKUP = (404, 410)  # an unknown link, or one expired or revoked
LIMIT_SETTINGS = (
    "RECRUIT_RATELIMIT_CANDIDATE",
    "RECRUIT_RATELIMIT_CANDIDATE_FAILED",
    "RECRUIT_RATELIMIT_API",
    "RECRUIT_RATELIMIT_API_FAILED",
)
API_FAILED_SCOPE = "api-failed"
API_FAILED_MESSAGE = (
    "Too many requests without a valid API key from this address: try again after Retry-After."
)


def register(app: Flask) -> None:
    """Proxy and headers; the rate limits are registered with the limiter (see create_app)."""
    register_proxy_fix(app)
    register_headers(app)


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
    app.url_defaults(static_version)
    # Pages repeat the policy in <meta name="referrer">, which browsers prefer to the header.
    app.context_processor(lambda: {"referrer_policy": referrer_policy})


def security_headers(response):
    """On every response: pages, files, JSON, errors and redirects alike."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    for name, value in HEADERS.items():
        response.headers[name] = value
    response.headers["Referrer-Policy"] = referrer_policy()
    if current_app.config["RECRUIT_BASE_URL"].startswith("https://"):
        response.headers["Strict-Transport-Security"] = HSTS
    if request.endpoint == STATIC_ENDPOINT and response.status_code in (200, 304):
        # Long-lived: the page links each file with a version of its content (static_version).
        response.cache_control.immutable = True
    else:
        response.headers["Cache-Control"] = NO_STORE
        response.headers.pop("Expires", None)
    return response


def static_version(endpoint: str, values: dict) -> None:
    """Add ``v=<content hash>`` to every static URL, so a changed file gets a new URL and the
    browsers' year-long cache of the old one never shows a stale stylesheet."""
    if endpoint != STATIC_ENDPOINT or "filename" not in values or "v" in values:
        return
    values["v"] = _file_version(current_app.static_folder, values["filename"])


@cache
def _file_version(folder: str, filename: str) -> str:
    path = os.path.join(folder, filename)
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()[:12]
    except OSError:
        return "0"


def referrer_policy() -> str:
    """Never a referrer from a candidate link (its token would leak); same-site only elsewhere.

    Decided by the path, so that every page under /t/ — an unknown route or an error page
    included — says no-referrer, in its header and in its <meta> alike.
    """
    if request.path.startswith(SECRET_PATH_PREFIXES):
        return "no-referrer"
    return DEFAULT_REFERRER_POLICY


# --- Rate limits ----------------------------------------------------------------------------
# Module-level functions, not lambdas: Flask-Limiter keeps a blueprint's limits in a set on the
# process-wide limiter, and equal definitions are kept once however many apps are created.


def api_limit() -> str:
    return current_app.config["RECRUIT_RATELIMIT_API"]


def api_failed_limit() -> str:
    return current_app.config["RECRUIT_RATELIMIT_API_FAILED"]


def api_refused(response) -> bool:
    """A request the API refused for its key (missing, unknown or revoked): 401."""
    return response.status_code == 401


def api_client() -> str:
    """The API key's hash (never the key itself), or the address for a request without one."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() == "bearer" and key:
        return "key:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    return "address:" + get_remote_address()


def register_rate_limits(app: Flask) -> None:
    """Checks every limit setting and installs the per-address limits on candidate links (with
    a lower limit on links that fail to open). The API applies its own limits (limit_api), and
    login its own too (recruit.auth.routes). Registered right after the limiter: a client over
    its limit is refused before any other work (CSRF check, API key included)."""
    for name in LIMIT_SETTINGS:
        try:
            limits.parse_many(app.config[name])
        except ValueError:
            # Flask-Limiter would log and skip a limit it cannot read: refuse to start instead.
            raise ValueError(f"{name}: not a rate limit: {app.config[name]!r}") from None
    app.before_request(check_candidate_limits)
    app.after_request(count_candidate_lookup)


def limit_api(blueprint) -> None:
    """Per key on the API, and per address on requests refused for their key."""
    limiter.shared_limit(api_limit, scope="api", key_func=api_client)(blueprint)
    # Made-up keys each have a counter of their own above: their address is what gets slowed.
    # Like failed candidate lookups: tested before the key is read, counted on every 401, and
    # past it every API request from that address is 429 until the window ends. Registered
    # second, so that X-RateLimit-* headers keep reporting the per-key limit.
    limiter.shared_limit(
        api_failed_limit,
        scope=API_FAILED_SCOPE,
        key_func=get_remote_address,
        deduct_when=api_refused,
        error_message=API_FAILED_MESSAGE,
    )(blueprint)


logger = logging.getLogger("recruit.security")

# Candidate links are the busiest pages: a candidate saves a page every minute or so, and 200 of
# them may take the test at once. Their two limits are checked here with the `limits` strategy
# and storage of Flask-Limiter (memory, or Redis shared by every instance), because resolving
# decorated limits per request costs Flask-Limiter about 0.2 ms, an eighth of a page save.
CANDIDATE_BLUEPRINT = "candidate"
CANDIDATE_SCOPE = "candidate"
FAILED_SCOPE = "candidate-failed"


@cache
def _items(limit: str) -> tuple[limits.RateLimitItem, ...]:
    return tuple(limits.parse_many(limit))


@limiter.request_filter  # once per process: the limiter is one object for every app
def _candidate_blueprint() -> bool:
    """Flask-Limiter leaves candidate links to the checks below."""
    return request.blueprint == CANDIDATE_BLUEPRINT


def _candidate_request() -> bool:
    return limiter.enabled and _candidate_blueprint()


def check_candidate_limits() -> None:
    """Refuse a candidate link (429) once its address failed too many lookups or asked too much.

    Failed lookups are only tested here (``count_candidate_lookup`` counts them); every
    request counts against the general limit. Like the limiter, this fails open: with its
    storage unreachable the link is served, and the error logged.
    """
    if not _candidate_request():
        return
    try:
        breached, standing = _candidate_standing(get_remote_address())
    except Exception:  # the storage's own errors: redis, memcached... whichever is configured
        logger.warning("rate-limit storage unreachable: candidate link served", exc_info=True)
        return
    g.candidate_limit = standing
    if breached:
        raise TooManyRequests()


def _candidate_standing(address: str) -> tuple[bool, tuple]:
    """(refused?, the limit the headers report) for one request from ``address``."""
    strategy = limiter.limiter
    config = current_app.config
    for item in _items(config["RECRUIT_RATELIMIT_CANDIDATE_FAILED"]):
        if not strategy.test(item, FAILED_SCOPE, address):
            return True, (item, FAILED_SCOPE, address)
    for item in _items(config["RECRUIT_RATELIMIT_CANDIDATE"]):
        if not strategy.hit(item, CANDIDATE_SCOPE, address):
            return True, (item, CANDIDATE_SCOPE, address)
    return False, (item, CANDIDATE_SCOPE, address)


def count_candidate_lookup(response):
    """Count a link that did not open (guessing tokens, not answering, is what gets slowed),
    and tell the client where it stands: X-RateLimit-* headers, Retry-After when refused."""
    if not _candidate_request():
        return response
    try:
        _count_and_report(response)
    except Exception:  # the storage's own errors, as above
        logger.warning("rate-limit storage unreachable: lookup not counted", exc_info=True)
    return response


def _count_and_report(response) -> None:
    strategy = limiter.limiter
    if response.status_code in FAILED_LOOKUP:
        for item in _items(current_app.config["RECRUIT_RATELIMIT_CANDIDATE_FAILED"]):
            strategy.hit(item, FAILED_SCOPE, get_remote_address())
    limit = g.get("candidate_limit")
    if limit is None:
        return
    item, scope, address = limit
    reset_at, remaining = strategy.get_window_stats(item, scope, address)
    response.headers["X-RateLimit-Limit"] = str(item.amount)
    response.headers["X-RateLimit-Remaining"] = str(remaining)
    response.headers["X-RateLimit-Reset"] = str(int(reset_at + 1))
    if response.status_code == 429:
        response.headers["Retry-After"] = str(max(1, int(reset_at + 1 - time.time())))
