"""Security of every response: headers, cookies, proxies, rate limits, request logs, health,
and cross-site scripting payloads in every free-text field, on SQLite and PostgreSQL."""

from __future__ import annotations

import collections
import csv
import email
import io
import json
import logging
import random
import re
import socket
from html.parser import HTMLParser
from types import SimpleNamespace

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
from flask import request

from recruit import config
from recruit.data import questions
from recruit.data.models import Invitation, OutboxMessage, User
from recruit.extensions import db
from recruit.services import apikeys, outbox
from tests.conftest import (
    complete_invitation,
    csrf_from,
    empty_database,
    make_app,
    make_invitation,
    random_responses,
)
from tests.helpers import (
    PASSWORD,
    api_key,
    at,
    bearer,
    campaign_id,
    confirm,
    export_job,
    finish,
    login,
    make_user,
    new_campaign,
    token_of,
    upload,
)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
EVERYWHERE = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
HSTS = "max-age=31536000; includeSubDomains"


@pytest.fixture
def make(database_url):
    """Apps with settings of their own on the session's database, emptied afterwards."""
    apps = []

    def build(**overrides):
        app = make_app(database_url, **overrides)
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.engine.dispose()
    if apps:
        empty_database(apps[-1])


def assert_secure_headers(response, *, candidate=False, https=False):
    """The headers every response carries, whatever its kind and status."""
    headers = response.headers
    for name, value in EVERYWHERE.items():
        assert headers.get(name) == value, (response.request.path, name, headers.get(name))
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    expected_referrer = "no-referrer" if candidate else "same-origin"
    assert headers.get("Referrer-Policy") == expected_referrer, response.request.path
    # A page's <meta name="referrer"> overrides the header in browsers: it must say the same.
    if response.mimetype == "text/html":
        meta = re.search(
            r'<meta name="referrer" content="([^"]*)"', response.get_data(as_text=True)
        )
        assert meta is None or meta.group(1) == expected_referrer, response.request.path
    assert headers.get("Strict-Transport-Security") == (HSTS if https else None)
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,128}", headers.get("X-Request-ID", ""))


def sample_responses(app) -> list[tuple[str, object, bool]]:
    """One response of every kind: (label, response, on a candidate link)."""
    token = make_invitation(app)
    key = api_key(app)
    client = app.test_client()
    out = []

    def add(label, response, candidate=False):
        response.get_data()
        response.close()
        out.append((label, response, candidate))

    add("html page", client.get("/login"))
    add("home", client.get("/"))
    add("static file", client.get("/static/recruit.css"))
    add("vendored static file", client.get("/static/vendor/pico/pico.min.css"))
    add("redirect to log in", client.get("/campaigns"))
    add("html 404", client.get("/no/such/page"))
    add("html 405", client.get("/logout"))
    add("html 400 (no CSRF token)", client.post("/login", data={"email": "x@example.org"}))
    add("head", client.head("/login"))
    add("options", client.options("/login"))
    add("api document", client.get("/api/v1/openapi.json"))
    add("api 401", client.get("/api/v1/forms"))
    add("api json", client.get("/api/v1/forms", headers=bearer(key)))
    add("api 404", client.get("/api/v1/nothing", headers=bearer(key)))
    add("api csv", client.get("/api/v1/export.csv", headers=bearer(key)))
    add("health", client.get("/healthz"))
    add("candidate welcome", client.get(f"/t/{token}"), True)
    add("candidate redirect", client.get(f"/t/{token}/p/1"), True)
    add("unknown link", client.get("/t/not-a-token"), True)
    add("unrouted candidate path", client.get(f"/t/{token}/nowhere/at/all"), True)
    return out


@pytest.mark.parametrize("base", ["http://localhost", "https://jobs.example.org"])
def test_every_kind_of_response_carries_the_security_headers(make, base):
    app = make(RECRUIT_BASE_URL=base)
    responses = sample_responses(app)
    statuses = {label: r.status_code for label, r, _ in responses}
    assert statuses["redirect to log in"] == 302 and statuses["html 404"] == 404
    assert statuses["api 401"] == 401 and statuses["unknown link"] == 404
    assert statuses["static file"] == 200 and statuses["api json"] == 200
    for _label, response, candidate in responses:
        assert_secure_headers(response, candidate=candidate, https=base.startswith("https"))


def test_a_server_error_page_carries_them_too(make):
    app = make(PROPAGATE_EXCEPTIONS=False)

    @app.get("/_boom")
    def boom():
        raise RuntimeError("boom")

    response = app.test_client().get("/_boom")
    assert response.status_code == 500
    assert_secure_headers(response)


def test_a_405_page_says_which_methods_are_allowed(make):
    app = make()
    token = make_invitation(app)
    client = app.test_client()
    login(client, make_user(app, "recruiter"))
    new_campaign(client)
    cid = campaign_id(app)
    for method, url, allowed in (
        ("delete", "/campaigns", {"GET"}),
        ("post", "/campaigns", {"GET"}),
        ("get", f"/campaigns/{cid}/close", {"POST"}),
        ("put", f"/t/{token}/p/1", {"GET", "POST"}),
        ("get", f"/t/{token}/consent", {"POST"}),
    ):
        response = getattr(client, method)(url)
        assert response.status_code == 405, url
        assert response.mimetype == "text/html"
        assert allowed <= set(response.headers["Allow"].split(", ")), url
        assert response.headers.getlist("Content-Type") == ["text/html; charset=utf-8"]
    with app.app_context():
        assert db.session.scalar(sa.select(Invitation.status)) == "pending"


# --- Cookies --------------------------------------------------------------------------------


def session_cookie(app) -> str:
    response = app.test_client().get("/login")  # the CSRF token lives in the session
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1
    return cookies[0]


@pytest.mark.parametrize(
    ("base", "switch", "secure"),
    [
        ("http://localhost", None, False),
        ("https://jobs.example.org", None, True),
        ("https://jobs.example.org", "0", False),  # https behind, plain http in front
        ("http://localhost", "1", True),
    ],
)
def test_cookie_flags(make, monkeypatch, base, switch, secure):
    if switch is None:
        monkeypatch.delenv("RECRUIT_COOKIE_SECURE", raising=False)
    else:
        monkeypatch.setenv("RECRUIT_COOKIE_SECURE", switch)
    app = make(RECRUIT_BASE_URL=base)
    cookie = session_cookie(app)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert ("Secure" in cookie.split("; ")) is secure
    assert app.config["REMEMBER_COOKIE_SECURE"] is secure
    assert app.config["REMEMBER_COOKIE_HTTPONLY"] is True
    assert app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"


def test_a_bad_cookie_switch_stops_the_start(monkeypatch, tmp_path):
    monkeypatch.setenv("RECRUIT_COOKIE_SECURE", "maybe")
    with pytest.raises(ValueError, match="RECRUIT_COOKIE_SECURE"):
        config.from_environment(str(tmp_path))


# --- Behind a proxy -------------------------------------------------------------------------


def with_probe(app):
    @app.get("/_probe")
    def probe():
        return {"secure": request.is_secure, "address": request.remote_addr, "host": request.host}

    return app


FORWARDED = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "jobs.example.org",
}


def test_forwarded_headers_are_ignored_by_default(make):
    probe = with_probe(make()).test_client().get("/_probe", headers=FORWARDED).json
    assert probe == {"secure": False, "address": "127.0.0.1", "host": "localhost"}


def test_proxy_fix_trusts_the_configured_headers(make):
    app = with_probe(make(RECRUIT_PROXY_FIX="x_for=1,x_proto=1,x_host=1"))
    probe = app.test_client().get("/_probe", headers=FORWARDED).json
    assert probe == {"secure": True, "address": "203.0.113.7", "host": "jobs.example.org"}


def test_proxy_fix_trusts_only_the_headers_named(make):
    app = with_probe(make(RECRUIT_PROXY_FIX="x_for=1"))
    probe = app.test_client().get("/_probe", headers=FORWARDED).json
    assert probe == {"secure": False, "address": "203.0.113.7", "host": "localhost"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", {}),
        ("off", {}),
        ("x_for=0", {}),
        ("x_for=1,x_proto=1", {"x_for": 1, "x_proto": 1, "x_host": 0, "x_port": 0, "x_prefix": 0}),
        (
            " x_for=2 , x_host=1 ",
            {"x_for": 2, "x_proto": 0, "x_host": 1, "x_port": 0, "x_prefix": 0},
        ),
    ],
)
def test_proxy_fix_setting(value, expected):
    assert config.proxy_fix(value) == expected


@pytest.mark.parametrize("value", ["x_for", "x_for=a", "x_for=-1", "x_real_ip=1"])
def test_a_bad_proxy_fix_setting_stops_the_start(value):
    with pytest.raises(ValueError, match="RECRUIT_PROXY_FIX"):
        config.proxy_fix(value)


# --- Rate limits ----------------------------------------------------------------------------


def assert_too_many(response, *, candidate=False):
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert_secure_headers(response, candidate=candidate)


def revoked_link(app) -> str:
    token = make_invitation(app, email="revoked@example.org")
    with app.app_context():
        from recruit.data.models import token_hash

        invitation = db.session.scalar(
            sa.select(Invitation).where(Invitation.token_hash == token_hash(token))
        )
        invitation.status = "revoked"
        db.session.commit()
    return token


def test_failed_link_lookups_block_the_address_but_not_another(make):
    app = make(RECRUIT_RATELIMIT_CANDIDATE_FAILED="5 per 10 minutes")
    token = make_invitation(app)
    revoked = revoked_link(app)
    client = app.test_client()
    for i in range(3):
        assert client.get(f"/t/guess-{i}", **at("198.51.100.1")).status_code == 404
    for path in (f"/t/{revoked}", f"/t/{revoked}/resume"):
        assert client.get(path, **at("198.51.100.1")).status_code == 410
    refused = client.get(f"/t/{token}", **at("198.51.100.1"))  # even a good link, now
    assert_too_many(refused, candidate=True)
    assert "Trop de tentatives" in refused.text
    assert client.post(f"/t/{token}/consent", **at("198.51.100.1")).status_code == 429
    assert client.get(f"/t/{token}", **at("198.51.100.2")).status_code == 200
    # The rest of the site is not the candidate links' business.
    assert client.get("/login", **at("198.51.100.1")).status_code == 200


def test_behind_a_proxy_the_forwarded_address_is_the_one_limited(make):
    app = make(
        RECRUIT_PROXY_FIX="x_for=1,x_proto=1", RECRUIT_RATELIMIT_CANDIDATE_FAILED="3 per 10 minutes"
    )
    token = make_invitation(app)
    client = app.test_client()
    for i in range(3):
        response = client.get(f"/t/guess-{i}", headers={"X-Forwarded-For": "203.0.113.7"})
        assert response.status_code == 404
    refused = client.get(f"/t/{token}", headers={"X-Forwarded-For": "203.0.113.7"})
    assert_too_many(refused, candidate=True)
    assert client.get(f"/t/{token}", headers={"X-Forwarded-For": "203.0.113.8"}).status_code == 200


def test_without_proxy_fix_a_forged_forwarded_address_changes_nothing(make):
    app = make(RECRUIT_RATELIMIT_CANDIDATE_FAILED="3 per 10 minutes")
    token = make_invitation(app)
    client = app.test_client()
    for i in range(3):
        client.get(f"/t/guess-{i}", headers={"X-Forwarded-For": f"203.0.113.{i}"})
    assert client.get(f"/t/{token}", headers={"X-Forwarded-For": "192.0.2.1"}).status_code == 429


def test_a_flood_from_one_address_is_refused_and_saves_nothing(make):
    app = make(RECRUIT_RATELIMIT_CANDIDATE="3 per minute")
    token = make_invitation(app)
    client = app.test_client()
    welcome = client.get(f"/t/{token}", **at("198.51.100.9"))
    assert welcome.status_code == 200
    assert welcome.headers["X-RateLimit-Limit"] == "3"
    assert welcome.headers["X-RateLimit-Remaining"] == "2"
    csrf = csrf_from(welcome.text)
    assert client.get(f"/t/{token}", **at("198.51.100.9")).headers["X-RateLimit-Remaining"] == "1"
    assert client.get(f"/t/{token}", **at("198.51.100.9")).status_code == 200
    refused = client.post(
        f"/t/{token}/consent", data={"csrf_token": csrf, "agree": "y"}, **at("198.51.100.9")
    )
    assert_too_many(refused, candidate=True)
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    with app.app_context():
        invitation = db.session.scalar(sa.select(Invitation))
        assert invitation.status == "pending" and invitation.consented_at is None
    # Another address (another candidate behind another network) goes on.
    other = client.post(
        f"/t/{token}/consent", data={"csrf_token": csrf, "agree": "y"}, **at("198.51.100.10")
    )
    assert other.status_code == 303


def test_an_unreachable_limit_storage_serves_pages_without_limits(make, caplog):
    # Rate limits fail open: with their Redis down, candidates, recruiters and the API still
    # work (without X-RateLimit headers), and the failure is logged.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # nothing listens there once the socket is closed
    app = make(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{dead}/0")
    token = make_invitation(app)
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        welcome = client.get(f"/t/{token}")
        guess = client.get("/t/" + "x" * 40)
        refused_login = login(client, "nobody@example.org", "not the password")
        forms = client.get("/api/v1/forms", headers=bearer(api_key(app)))
        made_up = client.get("/api/v1/forms", headers=bearer("made-up"))
    assert welcome.status_code == 200 and "X-RateLimit-Limit" not in welcome.headers
    assert guess.status_code == 404
    assert refused_login.status_code == 401
    assert forms.status_code == 200
    assert made_up.status_code == 401
    assert any("rate-limit storage unreachable" in r.getMessage() for r in caplog.records)


def test_candidates_taking_the_whole_test_are_never_limited(make):
    # The lowest failed-lookup limit there is: only links that fail to open count against it.
    app = make(RECRUIT_RATELIMIT_CANDIDATE_FAILED="1 per 10 minutes")
    client = app.test_client()
    for i in range(3):  # three candidates behind one address, one after the other
        token = make_invitation(app, email=f"c{i}@example.org")
        submitted = finish(client, app, token)
        assert submitted.status_code == 303
        thanks = client.get(f"/t/{token}")
        assert thanks.status_code == 200
        assert int(thanks.headers["X-RateLimit-Remaining"]) > 0


def test_the_api_is_limited_per_key(make):
    app = make(RECRUIT_RATELIMIT_API="3 per minute")
    first, second = api_key(app), api_key(app)
    client = app.test_client()
    for _ in range(3):
        assert client.get("/api/v1/forms", headers=bearer(first)).status_code == 200
    refused = client.get("/api/v1/forms", headers=bearer(first))
    assert_too_many(refused)
    assert refused.mimetype == "application/json"
    assert refused.json["error"]["code"] == "too_many_requests"
    assert set(refused.json["error"]) == {"code", "message", "field"}
    assert client.get("/api/v1/forms", headers=bearer(second)).status_code == 200
    assert client.get("/api/v1/forms").status_code == 401  # no key: counted per address


def test_made_up_api_keys_block_their_address_but_not_another(make):
    app = make(RECRUIT_RATELIMIT_API_FAILED="5 per 10 minutes")
    key = api_key(app)
    client = app.test_client()
    guesser, other = at("198.51.100.20"), at("198.51.100.21")
    # Each made-up key has a counter of its own: the per-key limit never sees them.
    for i in range(4):
        response = client.get("/api/v1/forms", headers=bearer(f"guess-{i}"), **guesser)
        assert response.status_code == 401
    assert client.get("/api/v1/forms", **guesser).status_code == 401  # no key at all counts too
    # Past the limit, every API request from that address is refused, a valid key included,
    # before its key is even read, and a POST creates nothing.
    for headers in (bearer("guess-5"), bearer(key), {}):
        refused = client.get("/api/v1/forms", headers=headers, **guesser)
        assert_too_many(refused)
        assert refused.mimetype == "application/json"
        assert refused.json["error"]["code"] == "too_many_requests"
        assert set(refused.json["error"]) == {"code", "message", "field"}
        assert refused.headers["X-RateLimit-Limit"] == "5"
    body = {"title": "Accueil", "form_id": "mini", "language": "fr"}
    refused = client.post("/api/v1/campaigns", headers=bearer(key), json=body, **guesser)
    assert_too_many(refused)
    with app.app_context():
        from recruit.data.models import Campaign

        assert db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0
    # The same key from another address works, and reports the per-key limit.
    allowed = client.get("/api/v1/forms", headers=bearer(key), **other)
    assert allowed.status_code == 200
    assert allowed.headers["X-RateLimit-Limit"] == "600"
    assert (
        client.post("/api/v1/campaigns", headers=bearer(key), json=body, **other).status_code == 201
    )
    # Valid calls do not count: a client with a good key never comes near the limit.
    for _ in range(10):
        assert client.get("/api/v1/forms", headers=bearer(key), **other).status_code == 200


def test_a_thousand_made_up_keys_are_not_a_thousand_401s(make):
    app = make()  # the default: 30 per 10 minutes
    client = app.test_client()
    codes = collections.Counter(
        client.get(
            "/api/v1/forms", headers=bearer(f"made-up-{i}"), **at("203.0.113.50")
        ).status_code
        for i in range(1300)
    )
    assert codes == {401: 30, 429: 1270}


def test_rate_limits_can_be_switched_off_and_on_again(make):
    off = make(RATELIMIT_ENABLED=False, RECRUIT_RATELIMIT_CANDIDATE_FAILED="2 per 10 minutes")
    client = off.test_client()
    assert [client.get(f"/t/guess-{i}").status_code for i in range(4)] == [404] * 4
    # The limiter is one object for the process: the next app must not inherit "off".
    on = make(RECRUIT_RATELIMIT_CANDIDATE_FAILED="2 per 10 minutes")
    client = on.test_client()
    assert [client.get(f"/t/guess-{i}").status_code for i in range(3)] == [404, 404, 429]


def test_each_app_starts_with_empty_counters(make):
    first = make(RECRUIT_RATELIMIT_CANDIDATE_FAILED="2 per 10 minutes")
    client = first.test_client()
    assert [client.get(f"/t/guess-{i}").status_code for i in range(3)] == [404, 404, 429]
    second = make(RECRUIT_RATELIMIT_CANDIDATE_FAILED="2 per 10 minutes")
    client = second.test_client()
    assert [client.get(f"/t/guess-{i}").status_code for i in range(3)] == [404, 404, 429]


@pytest.mark.parametrize(
    "name",
    [
        "RECRUIT_RATELIMIT_CANDIDATE",
        "RECRUIT_RATELIMIT_CANDIDATE_FAILED",
        "RECRUIT_RATELIMIT_API",
        "RECRUIT_RATELIMIT_API_FAILED",
    ],
)
def test_a_limit_that_cannot_be_read_stops_the_start(database_url, name):
    with pytest.raises(ValueError, match=name):
        make_app(database_url, **{name: "lots per minute"})


def test_limits_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RECRUIT_RATELIMIT_CANDIDATE", "60 per minute")
    monkeypatch.setenv("RECRUIT_RATELIMIT_CANDIDATE_FAILED", "10 per hour")
    monkeypatch.setenv("RECRUIT_RATELIMIT_API", "100 per minute")
    monkeypatch.setenv("RECRUIT_RATELIMIT_API_FAILED", "5 per hour")
    monkeypatch.setenv("RATELIMIT_ENABLED", "0")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://cache:6379/0")
    settings = config.from_environment(str(tmp_path))
    assert settings["RECRUIT_RATELIMIT_CANDIDATE"] == "60 per minute"
    assert settings["RECRUIT_RATELIMIT_CANDIDATE_FAILED"] == "10 per hour"
    assert settings["RECRUIT_RATELIMIT_API"] == "100 per minute"
    assert settings["RECRUIT_RATELIMIT_API_FAILED"] == "5 per hour"
    assert settings["RATELIMIT_ENABLED"] is False
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/0"
    for name in (
        "RECRUIT_RATELIMIT_CANDIDATE",
        "RECRUIT_RATELIMIT_API",
        "RECRUIT_RATELIMIT_API_FAILED",
        "RATELIMIT_ENABLED",
    ):
        monkeypatch.delenv(name)
    defaults = config.from_environment(str(tmp_path))
    assert defaults["RECRUIT_RATELIMIT_CANDIDATE"] == "600 per minute"
    assert defaults["RECRUIT_RATELIMIT_API"] == "600 per minute"
    assert defaults["RECRUIT_RATELIMIT_API_FAILED"] == "30 per 10 minutes"
    assert defaults["RATELIMIT_ENABLED"] is True


# --- Health ---------------------------------------------------------------------------------


def test_health_answers_without_login_cookie_or_limit(make):
    app = make(
        RECRUIT_RATELIMIT_CANDIDATE="1 per minute",
        RECRUIT_RATELIMIT_CANDIDATE_FAILED="1 per minute",
        RECRUIT_RATELIMIT_API="1 per minute",
    )
    client = app.test_client()
    client.get("/t/guess-1")
    client.get("/t/guess-2")
    assert client.get("/t/guess-3").status_code == 429
    for _ in range(5):
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.json == {"status": "ok", "database": "ok"}
        assert "Set-Cookie" not in response.headers
        assert "X-RateLimit-Limit" not in response.headers
        assert response.headers["Cache-Control"] == "no-store"
        assert_secure_headers(response)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
def test_health_is_503_when_the_database_is_unreachable(tmp_path, caplog, kind):
    if kind == "postgresql":
        url = f"postgresql+psycopg://recruit:s3cret-pw@127.0.0.1:{closed_port()}/recruit"
    else:
        url = f"sqlite:///{tmp_path / 'missing' / 'folder' / 'recruit.sqlite3'}"
    app = make_app(url)
    caplog.set_level(logging.INFO)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unavailable"}
    assert "Set-Cookie" not in response.headers
    assert_secure_headers(response)
    assert "s3cret-pw" not in caplog.text
    assert "database check failed: OperationalError" in caplog.text
    with app.app_context():
        db.engine.dispose()


# --- Request logs ---------------------------------------------------------------------------


def request_lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "recruit.request"]


def test_request_logs_hold_no_personal_data(app, caplog):
    secrets = {
        "token": make_invitation(app, name="Dominique Secret", email="dominique@example.org"),
        "email": make_user(app, "recruiter", email="ana.secret@acme.example.org"),
        "password": PASSWORD,
        "key": api_key(app),
        "name": "Dominique Secret",
        "query": "utm_source=newsletter-secret",
    }
    caplog.set_level(logging.DEBUG)
    candidate = app.test_client()
    assert candidate.get(f"/t/{secrets['token']}?{secrets['query']}").status_code == 200
    recruiter = app.test_client()
    assert login(recruiter, secrets["email"]).status_code == 302
    assert recruiter.get(f"/campaigns?{secrets['query']}").status_code == 200
    ats = app.test_client()
    response = ats.get(f"/api/v1/campaigns?{secrets['query']}", headers=bearer(secrets["key"]))
    assert response.status_code == 200
    # Twenty wrong passwords, then the per-address limit: Flask-Limiter logs the key it refused.
    # (The account's own throttle leaves this address alone: its user logged in from it.)
    for _ in range(20):
        login(app.test_client(), secrets["email"], "wrong password")
    assert login(app.test_client(), secrets["email"], "wrong password").status_code == 429

    for record in caplog.records:
        message = record.getMessage()
        for what, secret in secrets.items():
            assert secret not in message, f"{what} in a log record of {record.name}: {message}"
    assert any("exceeded" in r.getMessage() for r in caplog.records if r.name == "flask-limiter")

    lines = request_lines(caplog)
    assert len(lines) == 1 + 3 + 1 + 21 * 2  # each login is a GET then a POST
    for line in lines:
        assert set(line) == {
            "event",
            "request_id",
            "method",
            "path",
            "endpoint",
            "status",
            "duration_ms",
            "user_id",
            "api_key_id",
        }
        assert line["duration_ms"] >= 0 and "?" not in line["path"]
    welcome, *_ = lines
    assert (welcome["path"], welcome["endpoint"], welcome["status"]) == (
        "/t/…",
        "candidate.welcome",
        200,
    )
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.email == secrets["email"]))
        key_id = apikeys.authenticate(secrets["key"]).id
    logged_in = [line for line in lines if line["path"] == "/campaigns"]
    assert logged_in[0]["user_id"] == user_id and logged_in[0]["status"] == 200
    api = [line for line in lines if line["path"] == "/api/v1/campaigns"]
    assert api[0]["api_key_id"] == key_id and api[0]["user_id"] is None
    assert [line["status"] for line in lines if line["method"] == "POST"][-1] == 429


def test_a_path_under_a_candidate_link_keeps_its_shape(app, caplog):
    token = make_invitation(app)
    caplog.set_level(logging.INFO, logger="recruit.request")
    app.test_client().get(f"/t/{token}/p/1")
    app.test_client().get(f"/t/{token}/nowhere")
    paths = [line["path"] for line in request_lines(caplog)]
    assert paths == ["/t/…/p/1", "/t/…/nowhere"]
    assert token not in caplog.text


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("3f2a9c1e-7b4d-4e8a-9c3f-1a2b3c4d5e6f", True),
        ("req_42.edge-1", True),
        ("x" * 129, False),
        ("has spaces", False),
        ("<script>", False),
        ("", False),
    ],
)
def test_the_request_id_is_taken_when_valid_else_generated(app, caplog, incoming, kept):
    caplog.set_level(logging.INFO, logger="recruit.request")
    headers = {"X-Request-ID": incoming} if incoming else {}
    response = app.test_client().get("/login", headers=headers)
    returned = response.headers["X-Request-ID"]
    if kept:
        assert returned == incoming
    else:
        assert returned != incoming and re.fullmatch(r"[0-9a-f]{32}", returned)
    assert request_lines(caplog)[-1]["request_id"] == returned


def test_every_request_gets_its_own_id(app):
    client = app.test_client()
    ids = {client.get("/login").headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


# --- Cross-site scripting -------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS = "javascript:alert(1)"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def payload(label: str) -> str:
    return f"{label} {SCRIPT}{IMG} {JS}"


FIELDS = {
    "organisation": payload("Org"),
    "user": payload("User"),
    "api_key": f"K {SCRIPT}{IMG}",
    "title": payload("Title"),
    "site": payload("Site"),
    "name": payload("Name"),
    "external_id": f"X{SCRIPT}{IMG}",  # 64 characters at most
    "note": payload("Note"),
    "csv_name": payload("Csv"),
    "csv_id": f"C{SCRIPT}",
    "api_title": payload("Api"),
}
EMAIL = "o'hara&{{7*7}}#x@example.org"  # a valid address: quotes, ampersand, template braces
FORMULAS = {  # spreadsheet formula injection in names and ATS ids
    "formula1@example.org": ('=HYPERLINK("http://evil.example","clic")', "@SUM(1+1)"),
    "formula2@example.org": ("+1+1", "-2+3"),
}
ADMIN = "admin@acme.example.org"
HR = "hr@acme.example.org"
RECRUITER = "rec@acme.example.org"


def invitation_ids(app, cid) -> dict[str, int]:
    """Invitation id per candidate email, in the campaign."""
    from recruit.data.models import Candidate

    with app.app_context():
        rows = db.session.execute(
            sa.select(Candidate.email, Invitation.id)
            .join(Invitation, Invitation.candidate_id == Candidate.id)
            .where(Invitation.campaign_id == cid)
        )
        return dict(rows.all())


@pytest.fixture
def xss(app, tmp_path):
    """Every free-text field filled with payloads through the real routes and services."""
    app.config["MAIL_OUTBOX_DIR"] = str(tmp_path / "outbox")
    org = FIELDS["organisation"]
    make_user(app, "admin", org=org, email=ADMIN)
    make_user(app, "hr", org=org, email=HR)
    admin = app.test_client()
    assert login(admin, ADMIN).status_code == 302

    page = admin.get("/admin/users")
    created = admin.post(
        "/admin/users",
        data={
            "csrf_token": csrf_from(page.text),
            "name": FIELDS["user"],
            "email": RECRUITER,
            "role": "recruiter",
            "password": PASSWORD,
        },
    )
    assert created.status_code == 303, created.text
    page = admin.get("/admin/api-keys")
    keys = admin.post(
        "/admin/api-keys", data={"csrf_token": csrf_from(page.text), "name": FIELDS["api_key"]}
    )
    assert keys.status_code == 200
    key = re.search(r'value="(rk_[^"]+)"', keys.text).group(1)

    assert new_campaign(admin, title=FIELDS["title"], site=FIELDS["site"]).status_code == 303
    cid = campaign_id(app, FIELDS["title"])
    page = admin.get(f"/campaigns/{cid}")
    invited = admin.post(
        f"/campaigns/{cid}/invitations",
        data={
            "csrf_token": csrf_from(page.text),
            "name": FIELDS["name"],
            "email": EMAIL,
            "external_id": FIELDS["external_id"],
        },
    )
    assert invited.status_code == 303, invited.text
    with app.app_context():
        assert outbox.send_pending().sent == 1  # written as an .eml file
        message_id = db.session.scalar(sa.select(OutboxMessage.id))

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["nom", "email", "id"])
    writer.writerow([FIELDS["csv_name"], "csv@example.org", FIELDS["csv_id"]])
    for address, (name, external_id) in FORMULAS.items():
        writer.writerow([name, address, external_id])
    preview = upload(admin, cid, buffer.getvalue().encode("utf-8"))
    assert preview.status_code == 200, preview.text
    assert confirm(admin, preview).status_code == 303

    api = admin.post(
        "/api/v1/campaigns",
        headers=bearer(key),
        json={"title": FIELDS["api_title"], "site": "", "form_id": "mini", "language": "fr"},
    )
    assert api.status_code == 201, api.text

    ids = invitation_ids(app, cid)
    form = questions.bank(app).get("mini", "fr")
    rng = random.Random(11)
    for address in (EMAIL, *FORMULAS):
        complete_invitation(app, token_of(app, ids[address]), random_responses(form, rng))

    recruiter = app.test_client()
    assert login(recruiter, RECRUITER).status_code == 302
    page = recruiter.get(f"/candidates/{ids[EMAIL]}")
    decided = recruiter.post(
        f"/candidates/{ids[EMAIL]}",
        data={"csrf_token": csrf_from(page.text), "decision": "hold", "note": FIELDS["note"]},
    )
    assert decided.status_code == 303, decided.text
    hr = app.test_client()
    assert login(hr, HR).status_code == 302
    return SimpleNamespace(
        app=app,
        admin=admin,
        hr=hr,
        key=key,
        campaign=cid,
        ids=ids,
        preview=preview.text,
        message=message_id,
        pending_token=token_of(app, ids["csv@example.org"]),
        done_token=token_of(app, ids[EMAIL]),
    )


class _Markup(HTMLParser):
    """The elements and attributes a browser would really see in a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):  # the app has neither: any is an injection or breaks CSP
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{name}= on <{tag}>")
            elif name == "style":  # CSP: style-src 'self' only
                self.found.append(f"style= on <{tag}>")
            elif name in URL_ATTRIBUTES and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: in {name}= on <{tag}>")


URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href"}


def unsafe_markup(html: str) -> list[str]:
    """What a payload would have become had it been written into the page unescaped."""
    parser = _Markup()
    parser.feed(html)
    parser.close()
    return parser.found + [p for p in (SCRIPT, IMG) if p in html]


def test_payloads_come_back_escaped_on_every_page(xss):
    w = xss
    done, formula = w.ids[EMAIL], w.ids["formula1@example.org"]
    pages = {
        "campaign list": (w.admin, "/campaigns"),
        "campaign page": (w.admin, f"/campaigns/{w.campaign}"),
        "campaign shortlist": (w.admin, f"/campaigns/{w.campaign}/shortlist"),
        "cross shortlist": (w.admin, f"/shortlist?campaign={w.campaign}"),
        "candidate page": (w.admin, f"/candidates/{done}"),
        "compare": (w.admin, f"/compare?id={done}&id={formula}"),
        "outbox": (w.admin, f"/campaigns/{w.campaign}/outbox"),
        "accounts": (w.admin, "/admin/users"),
        "api keys": (w.admin, "/admin/api-keys"),
        "hr dashboard": (w.hr, f"/hr/?campaign={w.campaign}"),
        "hr dashboard, every campaign": (w.hr, "/hr/"),
        "candidate welcome": (w.app.test_client(), f"/t/{w.pending_token}"),
        "candidate thanks": (w.app.test_client(), f"/t/{w.done_token}"),
    }
    problems = {}
    htmls = {"import preview": w.preview}
    for label, (client, url) in pages.items():
        response = client.get(url, follow_redirects=True)
        assert response.status_code == 200, (label, url)
        htmls[label] = response.text
    for label, html in htmls.items():
        found = unsafe_markup(html)
        if ESCAPED not in html:
            found.append("no escaped payload shown")
        if found:
            problems[label] = found
    assert not problems, problems
    assert "o&#39;hara&amp;{{7*7}}#x@example.org" in htmls["campaign page"]
    assert "o&#39;hara&amp;{{7*7}}#x@example.org" in htmls["candidate page"]
    assert "Title" in htmls["candidate welcome"] and "Csv" in htmls["candidate welcome"]


def test_the_email_file_escapes_the_payloads(xss):
    response = xss.admin.get(f"/messages/{xss.message}.eml")
    assert response.status_code == 200
    message = email.message_from_bytes(response.get_data())
    response.close()
    html = next(p for p in message.walk() if p.get_content_type() == "text/html")
    body = html.get_payload(decode=True).decode(html.get_content_charset() or "utf-8")
    assert SCRIPT not in body and not re.search(r"<img[^>]*onerror", body, re.I)
    assert ESCAPED in body


def text_cells(frame: pd.DataFrame, columns) -> list[str]:
    return [str(v) for c in columns if c in frame for v in frame[c].dropna()]


def assert_neutralised(cells: list[str]):
    assert cells
    for value in cells:
        assert not value.startswith(("=", "+", "-", "@")), value
    assert '\'=HYPERLINK("http://evil.example","clic")' in cells
    assert "'@SUM(1+1)" in cells and "'+1+1" in cells and "'-2+3" in cells
    assert FIELDS["name"] in cells  # HTML stays text in a spreadsheet: nothing runs it


def assert_workbook_has_no_formula(data: bytes) -> pd.DataFrame:
    book = openpyxl.load_workbook(io.BytesIO(data))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    return pd.read_excel(io.BytesIO(data), sheet_name="candidats")


TEXT_COLUMNS = ("candidate_name", "external_id", "campaign", "site")


@pytest.mark.parametrize("source", ["hr", "api"])
def test_exports_neutralise_formulas_and_are_downloads(xss, source):
    if source == "hr":
        csv_response = xss.hr.get(f"/hr/export.csv?campaign={xss.campaign}")
        xlsx_response = export_job(xss.hr, query=f"campaign={xss.campaign}")
    else:
        query = f"?campaign={xss.campaign}"
        csv_response = xss.admin.get("/api/v1/export.csv" + query, headers=bearer(xss.key))
        xlsx_response = xss.admin.get("/api/v1/export.xlsx" + query, headers=bearer(xss.key))
    for response in (csv_response, xlsx_response):
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert csv_response.mimetype == "text/csv"
    frame = pd.read_csv(io.BytesIO(csv_response.get_data()), encoding="utf-8-sig", dtype=str)
    assert_neutralised(text_cells(frame, TEXT_COLUMNS))
    data = xlsx_response.get_data()
    xlsx_response.close()
    assert_neutralised(text_cells(assert_workbook_has_no_formula(data), TEXT_COLUMNS))


def test_organisation_and_campaign_names_are_escaped_on_candidate_pages(app):
    token = make_invitation(app, org=FIELDS["organisation"], name=FIELDS["name"], campaign="P")
    html = app.test_client().get(f"/t/{token}").text
    assert not unsafe_markup(html) and ESCAPED in html


def test_postgresql_connections_time_out(tmp_path):
    postgres = config.engine_options(
        {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@db/x", "SQLALCHEMY_ENGINE_OPTIONS": {}}
    )
    assert postgres["connect_args"] == {"connect_timeout": config.PG_CONNECT_TIMEOUT}
    sqlite = config.engine_options(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x'}", "SQLALCHEMY_ENGINE_OPTIONS": {}}
    )
    assert "connect_args" not in sqlite


class HttpsProxyClient:
    """A browser behind an https proxy: every request forwarded as https, and no Referer (the
    candidate pages' no-referrer policy makes browsers send none, even to the same site)."""

    def __init__(self, client):
        self.client = client

    def get(self, url, **kwargs):
        return self.client.get(url, headers={"X-Forwarded-Proto": "https"}, **kwargs)

    def post(self, url, **kwargs):
        return self.client.post(url, headers={"X-Forwarded-Proto": "https"}, **kwargs)


def test_candidates_answer_over_https_without_sending_a_referer(make):
    app = make(RECRUIT_BASE_URL="https://jobs.example.org", RECRUIT_PROXY_FIX="x_proto=1")
    token = make_invitation(app)
    client = HttpsProxyClient(app.test_client())
    assert finish(client, app, token).status_code == 303
    assert client.get(f"/t/{token}").headers["Referrer-Policy"] == "no-referrer"


def test_an_unhandled_error_on_a_candidate_page_is_logged_without_the_token(app, client, caplog):
    token = make_invitation(app)

    @app.get("/t/<token>/boom")
    def boom(token):
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    with caplog.at_level("ERROR"):
        response = client.get(f"/t/{token}/boom")
    assert response.status_code == 500
    assert "boom" in caplog.text and token not in caplog.text
