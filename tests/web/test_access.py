"""Who may do what: every route of the recruiter side, per role, and across organisations.
Every answer of the matrix also says ``Cache-Control: no-store``.

The table ROUTES below is the authorisation matrix: one row per route and method, with the
status each role gets. Anonymous users are sent to the login page; hr reads; recruiter and admin
also write; only admin manages accounts. A user of another organisation gets 404 for every id
that is not theirs, as if it did not exist, and changes nothing.
"""

from __future__ import annotations

import io
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import url_for

from recruit.auth.services import create_user
from recruit.data import questions
from recruit.data.models import (
    ApiKey,
    AuditEvent,
    Campaign,
    Candidate,
    Decision,
    ImportBatch,
    Invitation,
    Job,
    Organisation,
    OutboxMessage,
    User,
    token_hash,
    utcnow,
)
from recruit.extensions import db
from recruit.services import apikeys, jobs, outbox
from recruit.services.exports import ExportFilters
from recruit.services.invitations import find_organisation
from tests.conftest import complete_invitation, csrf_from, make_invitation, random_responses
from tests.helpers import PASSWORD, logged_in, login

ROLES = ("anon", "hr", "recruiter", "admin")

Params = Callable[["World"], dict[str, Any]]
Body = dict[str, Any] | Callable[["World", str], dict[str, Any]] | None


class Route(NamedTuple):
    """One row of the matrix: a rule and method, how to fill it, the status per role."""

    endpoint: str
    method: str
    params: Params | None  # URL arguments (path and query), from organisation A's ids
    body: Body  # form fields of a valid POST; "{role}" in a string is replaced by the role
    anon: int
    hr: int
    recruiter: int
    admin: int

    @property
    def id(self) -> str:
        return f"{self.endpoint}-{self.method}"

    def expected(self, role: str) -> int:
        return getattr(self, role)


def csv_upload(w: World, role: str) -> dict[str, Any]:
    data = f"nom,email\nClaude Import,import-{role}@example.org\n".encode()
    return {"spreadsheet": (io.BytesIO(data), "candidats.csv")}


def campaign(w: World) -> dict[str, Any]:
    return {"campaign_id": w.campaign}


def pending(w: World) -> dict[str, Any]:
    return {"invitation_id": w.pending}


def completed(w: World) -> dict[str, Any]:
    return {"invitation_id": w.done}


NEW_CAMPAIGN = {
    "title": "Conseiller·e {role}",
    "site": "Lyon",
    "form_language": "mini:fr",
    "invitation_days": "14",
}
NEW_USER = {"name": "Nouveau", "email": "new-{role}@a.example", "role": "hr", "password": PASSWORD}
INVITE = {"name": "Camille Invitée", "email": "invite-{role}@example.org", "external_id": ""}
DECISION = {"decision": "hold", "note": "Profil à revoir ({role})."}
BUTTON: dict[str, Any] = {}
NEW_PASSWORD = {"password": "quiet river {role} lantern", "confirm": "quiet river {role} lantern"}

# fmt: off
ROUTES = [
    #      endpoint                      method  params   body             anon  hr   rec  admin
    Route("pages.home",                  "GET",  None,    None,            200, 302, 302, 302),
    Route("observability.healthz",       "GET",  None,    None,            200, 200, 200, 200),
    Route("auth.login",                  "GET",  None,    None,            200, 302, 302, 302),
    Route("auth.login",                  "POST", None,
          lambda w, role: {"email": w.emails["recruiter"], "password": "not the password"},
                                                                           401, 302, 302, 302),
    Route("auth.logout",                 "POST", None,    BUTTON,          302, 302, 302, 302),
    Route("auth.users",                  "GET",  None,    None,            302, 403, 403, 200),
    Route("auth.users",                  "POST", None,    NEW_USER,        302, 403, 403, 303),
    Route("auth.toggle_active",          "POST", lambda w: {"user_id": w.spare_user},
                                                          BUTTON,          302, 403, 403, 303),
    Route("recruiter.campaigns",         "GET",  None,    None,            302, 200, 200, 200),
    Route("recruiter.new_campaign",      "GET",  None,    None,            302, 403, 200, 200),
    Route("recruiter.new_campaign",      "POST", None,    NEW_CAMPAIGN,    302, 403, 303, 303),
    Route("recruiter.campaign",          "GET",  campaign, None,           302, 200, 200, 200),
    Route("recruiter.close_campaign",    "POST", campaign, BUTTON,         302, 403, 303, 303),
    Route("recruiter.invite",            "POST", campaign, INVITE,         302, 403, 303, 303),
    Route("recruiter.send_invitations",  "POST", campaign, BUTTON,         302, 403, 303, 303),
    Route("recruiter.remind",            "POST", campaign, BUTTON,         302, 403, 303, 303),
    Route("recruiter.outbox",            "GET",  campaign, None,           302, 200, 200, 200),
    Route("recruiter.message_file",      "GET",  lambda w: {"message_id": w.message},
                                                          None,            302, 403, 200, 200),
    Route("recruiter.import_candidates", "GET",  campaign, None,           302, 403, 200, 200),
    Route("recruiter.import_candidates", "POST", campaign, csv_upload,     302, 403, 200, 200),
    Route("recruiter.confirm_import",    "POST",
          lambda w: {"campaign_id": w.campaign, "batch_id": w.batch},
                                                          BUTTON,          302, 403, 303, 303),
    Route("recruiter.revoke",            "POST", pending, BUTTON,          302, 403, 303, 303),
    Route("recruiter.extend",            "POST", pending, {"days": "7"},   302, 403, 303, 303),
    Route("recruiter.send_one",          "POST", pending, BUTTON,          302, 403, 303, 303),
    Route("recruiter.campaign_shortlist", "GET", campaign, None,           302, 200, 200, 200),
    Route("recruiter.cross_shortlist",   "GET",
          lambda w: {"campaign": [w.campaign], "norm": "pooled"},
                                                          None,            302, 200, 200, 200),
    Route("recruiter.candidate",         "GET",  completed, None,          302, 200, 200, 200),
    Route("recruiter.candidate",         "POST", completed, DECISION,      302, 403, 303, 303),
    Route("recruiter.erase_candidate",   "GET",  completed, None,          302, 403, 403, 200),
    Route("recruiter.erase_candidate",   "POST", completed, {"reason": "request"},
                                                                           302, 403, 403, 303),
    Route("recruiter.compare",           "GET",  lambda w: {"id": [w.done, w.other_done]},
                                                          None,            302, 200, 200, 200),
    Route("hr.dashboard",                "GET",  lambda w: {"campaign": [w.campaign]},
                                                          None,            302, 200, 403, 200),
    Route("hr.export_csv",               "GET",  lambda w: {"campaign": [w.campaign]},
                                                          None,            302, 200, 403, 200),
    Route("hr.export_xlsx",              "GET",  lambda w: {"campaign": [w.campaign]},
                                                          None,            302, 200, 403, 200),
    Route("hr.export_csv",               "POST", lambda w: {"campaign": [w.campaign]},
                                                          BUTTON,          302, 200, 403, 200),
    Route("hr.export_xlsx",              "POST", lambda w: {"campaign": [w.campaign]},
                                                          BUTTON,          302, 303, 403, 303),
    # Jobs: A's export jobs are HR's (a recruiter gets 404, as for another organisation's).
    Route("jobs.recent",                 "GET",  None,    None,            302, 200, 200, 200),
    Route("jobs.job",                    "GET",  lambda w: {"job_id": w.job},
                                                          None,            302, 200, 404, 200),
    Route("jobs.status",                 "GET",  lambda w: {"job_id": w.job},
                                                          None,            302, 200, 404, 200),
    Route("jobs.download",               "GET",  lambda w: {"job_id": w.job},
                                                          None,            302, 200, 404, 200),
    Route("jobs.retry",                  "POST", lambda w: {"job_id": w.failed_job},
                                                          BUTTON,          302, 303, 404, 303),
    Route("auth.api_keys",               "GET",  None,    None,            302, 403, 403, 200),
    Route("auth.api_keys",               "POST", None,    {"name": "ATS {role}"},
                                                                           302, 403, 403, 200),
    Route("auth.revoke_api_key",         "POST", lambda w: {"key_id": w.api_key},
                                                          BUTTON,          302, 403, 403, 303),
    Route("auth.login_2fa",              "GET",  None,    None,            302, 302, 302, 302),
    Route("auth.login_2fa",              "POST", None,    {"code": "123456"},
                                                                           302, 302, 302, 302),
    Route("auth.forgot_password",        "GET",  None,    None,            200, 200, 200, 200),
    Route("auth.forgot_password",        "POST", None,    {"email": "nobody@a.example"},
                                                                           303, 303, 303, 303),
    Route("auth.reset_password",         "GET",  lambda w: {"token": "not-a-token"},
                                                          None,            410, 410, 410, 410),
    Route("auth.reset_password",         "POST", lambda w: {"token": "not-a-token"},
                                                          NEW_PASSWORD,    410, 410, 410, 410),
    Route("auth.account",                "GET",  None,    None,            302, 200, 200, 200),
    Route("auth.change_password",        "POST", None,
          {"current": PASSWORD, **NEW_PASSWORD},                           302, 303, 303, 303),
    Route("auth.end_sessions",           "POST", None,    BUTTON,          302, 303, 303, 303),
    Route("auth.two_factor",             "GET",  None,    None,            302, 200, 200, 200),
    Route("auth.two_factor",             "POST", None,    {"code": "12345"},
                                                                           302, 400, 400, 400),
    Route("auth.renew_recovery_codes",   "POST", None,    {"code": "123456"},
                                                                           302, 400, 400, 400),
    Route("auth.disable_two_factor",     "POST", None,    {"password": PASSWORD},
                                                                           302, 400, 400, 400),
    Route("auth.reset_two_factor",       "POST", lambda w: {"user_id": w.spare_user},
                                                          BUTTON,          302, 403, 403, 303),
    Route("auth.organisation_security",  "POST", None,    {"require_2fa": "y"},
                                                                           302, 403, 403, 303),
]
# fmt: on

# Routes outside the matrix: files, and the candidate's pages (opened by link token, tested in
# test_candidate_flow).
UNLISTED_ENDPOINTS = {"static"}
UNLISTED_BLUEPRINTS = {"candidate", "api"}  # the API authenticates by key: see test_api
IGNORED_METHODS = {"HEAD", "OPTIONS"}
# Routes an anonymous user may use: the others send them to the login page.
PUBLIC = {
    "pages.home",
    "auth.login",
    "auth.logout",
    "observability.healthz",
    "auth.login_2fa",
    "auth.forgot_password",
    "auth.reset_password",
}


# --- The world: two organisations ----------------------------------------------------------


@dataclass
class World:
    """Ids of organisation A's records (the ones requested), and B's own."""

    campaign: int = 0
    done: int = 0  # completed invitations of A's campaign
    other_done: int = 0
    pending: int = 0  # a live link, with a sent message
    message: int = 0  # its outbox message, delivered as an .eml file
    batch: int = 0  # a checked import, waiting for confirmation
    spare_user: int = 0  # a recruiter of A the admin may deactivate
    api_key: int = 0  # an API key of A
    job: int = 0  # an export job of A's hr, done, with its file
    failed_job: int = 0  # one that fails (no reference norm), every time it is retried
    emails: dict[str, str] = field(default_factory=dict)  # A's accounts per role
    b_campaign: int = 0
    b_done: int = 0
    b_admin: str = "admin@b.example"


def invitation_id(token: str) -> int:
    return db.session.scalar(
        sa.select(Invitation.id).where(Invitation.token_hash == token_hash(token))
    )


def build_world(app, tmp_path) -> World:
    """Organisations A and B, each with a campaign "Poste", two completed invitations, users."""
    app.config["MAIL_OUTBOX_DIR"] = str(tmp_path / "outbox")
    form = questions.bank(app).get("mini", "fr")
    rng = random.Random(1)
    tokens = {}
    for org in ("A", "B"):
        for name in ("done", "other_done", "pending"):
            tokens[org, name] = make_invitation(
                app, org=org, campaign="Poste", name=f"{name} {org}", email=f"{name}@{org}.example"
            )
        for name in ("done", "other_done"):
            complete_invitation(app, tokens[org, name], random_responses(form, rng))
    w = World()
    with app.app_context():
        a, b = find_organisation("A"), find_organisation("B")
        for role in ("admin", "recruiter", "hr"):
            w.emails[role] = f"{role}@a.example"
            create_user(a, w.emails[role], role, PASSWORD, f"{role} A")
        spare = create_user(a, "spare@a.example", "recruiter", PASSWORD, "Spare A")
        spare.totp_secret, spare.totp_enabled_at = "JBSWY3DPEHPK3PXP", utcnow()  # a lost phone
        create_user(b, w.b_admin, "admin", PASSWORD, "Admin B")
        w.spare_user = spare.id
        w.api_key = apikeys.create_key(a, "ATS A")[0].id
        w.campaign = db.session.scalar(
            sa.select(Campaign.id).where(Campaign.organisation_id == a.id)
        )
        w.b_campaign = db.session.scalar(
            sa.select(Campaign.id).where(Campaign.organisation_id == b.id)
        )
        w.done, w.other_done, w.pending = (
            invitation_id(tokens["A", n]) for n in ("done", "other_done", "pending")
        )
        w.b_done = invitation_id(tokens["B", "done"])
        outbox.enqueue(db.session.get(Invitation, w.pending), "invitation")
        db.session.commit()
        assert outbox.send_pending().sent == 1
        w.message = db.session.scalar(sa.select(OutboxMessage.id))
        batch = ImportBatch(
            campaign_id=w.campaign,
            user_id=spare.id,
            filename="candidats.csv",
            rows=[{"line": 2, "name": "Lou Lot", "email": "lou@example.org", "external_id": None}],
        )
        db.session.add(batch)
        db.session.commit()
        w.batch = batch.id
        hr = db.session.scalar(sa.select(User).where(User.email == w.emails["hr"]))
        w.job = jobs.start_export(a.id, ExportFilters(), "csv", language="fr", user=hr).id
        unavailable = ExportFilters(norm="reference")
        w.failed_job = jobs.start_export(a.id, unavailable, "csv", language="fr", user=hr).id
        assert [j.status for j in db.session.scalars(sa.select(Job).order_by(Job.id))] == [
            "done",
            "failed",
        ]
    return w


def snapshot(app) -> dict[str, Any]:
    """What a refused request must leave as it was, in both organisations."""
    with app.app_context():

        def rows(*columns):
            return db.session.execute(sa.select(*columns).order_by(columns[0])).all()

        return {
            "campaigns": rows(Campaign.id, Campaign.status, Campaign.closed_at),
            "invitations": rows(Invitation.id, Invitation.status, Invitation.expires_at),
            "candidates": rows(Candidate.id, Candidate.email),
            "users": rows(User.id, User.active, User.email, User.password_hash, User.totp_secret),
            "require_2fa": rows(Organisation.id, Organisation.require_2fa),
            "decisions": rows(Decision.id),
            "messages": rows(OutboxMessage.id, OutboxMessage.status),
            "batches": rows(ImportBatch.id, ImportBatch.imported_at),
            "api_keys": rows(ApiKey.id, ApiKey.revoked_at),
            "audit": rows(AuditEvent.id),
            "jobs": rows(Job.id, Job.status, Job.attempts),
        }


# --- Clients --------------------------------------------------------------------------------

TOKEN_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def csrf_token(client) -> str:
    """A CSRF token of this client's session: from the campaigns page, else the login page."""
    page = client.get("/campaigns")
    if page.status_code != 200:
        return csrf_from(client.get("/login").get_data(as_text=True))
    match = TOKEN_RE.search(page.get_data(as_text=True))
    assert match, "no CSRF token on /campaigns"
    return match.group(1)


def url_of(app, route: Route, w: World) -> str:
    with app.test_request_context():
        return url_for(route.endpoint, **(route.params(w) if route.params else {}))


def send(client, route: Route, url: str, w: World, role: str):
    if route.method == "GET":
        return closed(client.get(url))
    body = route.body(w, role) if callable(route.body) else dict(route.body or {})
    body = {k: v.format(role=role) if isinstance(v, str) else v for k, v in body.items()}
    return closed(client.post(url, data={"csrf_token": csrf_token(client), **body}))


def closed(response):
    """The response, read and closed (a file download keeps its file open until then)."""
    response.get_data()
    response.close()
    return response


def is_login_redirect(response, path: str) -> bool:
    parts = urlsplit(response.headers.get("Location", ""))
    return (
        response.status_code == 302
        and not parts.netloc
        and parts.path == "/login"
        and parse_qs(parts.query).get("next") == [path]
    )


def without_tokens(html: str) -> str:
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+"', r'\1"', html)


@pytest.fixture
def world(app, tmp_path) -> World:
    """A fresh world per test: rows that write (close, revoke...) never see another's effects."""
    return build_world(app, tmp_path)


# --- The matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_each_role_gets_the_expected_status(app, world, route):
    url = url_of(app, route, world)
    wrong = []
    for role in ROLES:
        client = app.test_client() if role == "anon" else logged_in(app, world.emails[role])
        before = snapshot(app)
        response = send(client, route, url, world, role)
        expected = route.expected(role)
        if response.status_code != expected:
            wrong.append(f"{role}: {response.status_code} (expected {expected})")
            continue
        redirect_ok = route.endpoint in PUBLIC or is_login_redirect(response, url)
        if role == "anon" and not redirect_ok:
            wrong.append(f"anon: redirected to {response.headers['Location']}, not to log in")
        if expected in (302, 401, 403) and snapshot(app) != before:
            wrong.append(f"{role}: refused ({expected}) but the database changed")
        # Pages, files and redirects alike: a shared computer's browser keeps none of them.
        if response.headers.get("Cache-Control") != "no-store":
            wrong.append(f"{role}: Cache-Control {response.headers.get('Cache-Control')!r}")
    assert not wrong, f"{route.method} {url}: " + "; ".join(wrong)


def test_every_route_is_in_the_matrix(app):
    listed = {(r.endpoint, r.method) for r in ROUTES}
    registered = set()
    for rule in app.url_map.iter_rules():
        if (
            rule.endpoint in UNLISTED_ENDPOINTS
            or rule.endpoint.split(".")[0] in UNLISTED_BLUEPRINTS
        ):
            continue
        registered |= {(rule.endpoint, m) for m in rule.methods - IGNORED_METHODS}
    assert not registered - listed, f"routes nobody decided access for: {registered - listed}"
    assert not listed - registered, f"rows for routes that do not exist: {listed - registered}"
    assert len(listed) == len(ROUTES), "a route is listed twice"


# --- Across organisations -------------------------------------------------------------------

# Routes whose URL holds a record's id (a reset link's token is no id: it is its own check).
ID_ROUTES = [r for r in ROUTES if r.params is not None and r.endpoint != "auth.reset_password"]


@pytest.mark.parametrize("route", ID_ROUTES, ids=lambda r: r.id)
def test_another_organisation_gets_404_and_changes_nothing(app, world, route):
    client = logged_in(app, world.b_admin)
    url = url_of(app, route, world)
    before = snapshot(app)
    response = send(client, route, url, world, "admin")
    assert response.status_code == 404, f"{route.method} {url} as B's admin"
    assert snapshot(app) == before


BEYOND_IDS = 2**31  # one past the 32-bit id columns: PostgreSQL would refuse to compare it


def _beyond(value):
    if isinstance(value, bool) or not isinstance(value, int | list):
        return value
    if isinstance(value, list):  # distinct ids: a list of one id repeated would be one id
        return [BEYOND_IDS + i for i in range(len(value))]
    return BEYOND_IDS


@pytest.mark.parametrize("route", ID_ROUTES, ids=lambda r: r.id)
def test_an_id_past_the_columns_range_is_404_and_changes_nothing(app, world, route):
    client = logged_in(app, world.emails["admin"])
    with app.test_request_context():
        params = {k: _beyond(v) for k, v in route.params(world).items()}
        url = url_for(route.endpoint, **params)
    before = snapshot(app)
    response = send(client, route, url, world, "admin")
    assert response.status_code == 404, f"{route.method} {url}"
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "url",
    [
        "/compare?id={a}&id={a2}",
        "/compare?id={b}&id={a}",
        "/shortlist?campaign={ca}",
        "/shortlist?campaign={cb}&campaign={ca}",
        "/shortlist?campaign={ca}&norm=pooled",
        "/campaigns/{cb}/import/{batch}",
    ],
)
def test_ids_of_another_organisation_in_queries_give_404(app, world, url):
    client = logged_in(app, world.b_admin)
    url = url.format(
        a=world.done,
        a2=world.other_done,
        b=world.b_done,
        ca=world.campaign,
        cb=world.b_campaign,
        batch=world.batch,
    )
    before = snapshot(app)
    if "/import/" in url:  # B's own campaign with A's import batch
        response = client.post(url, data={"csrf_token": csrf_token(client)})
    else:
        response = client.get(url)
    assert response.status_code == 404
    assert snapshot(app) == before


def test_an_id_of_another_organisation_looks_like_a_missing_one(app, world):
    client = logged_in(app, world.b_admin)
    theirs = client.get(f"/candidates/{world.done}")
    missing = client.get("/candidates/999999")
    assert theirs.status_code == missing.status_code == 404
    assert without_tokens(theirs.get_data(as_text=True)) == without_tokens(
        missing.get_data(as_text=True)
    )


# --- Logging in -----------------------------------------------------------------------------


def test_wrong_password_and_unknown_email_look_the_same(app, world):
    pages = []
    for email, password in (
        (world.emails["recruiter"], "not the password"),
        ("x@a.example", PASSWORD),
    ):
        client = app.test_client()
        response = login(client, email, password)
        html = without_tokens(response.get_data(as_text=True)).replace(email, "EMAIL")
        pages.append((response.status_code, html))
        with client.session_transaction() as session:
            assert "_user_id" not in session
        assert is_login_redirect(client.get("/campaigns"), "/campaigns")
    assert pages[0] == pages[1]
    assert pages[0][0] == 401


def test_a_deactivated_user_cannot_log_in(app, world):
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == world.emails["recruiter"]))
        user.active = False
        db.session.commit()
    refused = login(app.test_client(), world.emails["recruiter"])
    wrong = login(app.test_client(), world.emails["hr"], "not the password")
    assert refused.status_code == wrong.status_code == 401
    assert without_tokens(refused.get_data(as_text=True)).replace(
        world.emails["recruiter"], "EMAIL"
    ) == without_tokens(wrong.get_data(as_text=True)).replace(world.emails["hr"], "EMAIL")


def test_a_user_deactivated_while_logged_in_is_logged_out(app, world):
    recruiter = logged_in(app, world.emails["recruiter"])
    assert recruiter.get("/campaigns").status_code == 200
    admin = logged_in(app, world.emails["admin"])
    with app.app_context():
        user_id = db.session.scalar(
            sa.select(User.id).where(User.email == world.emails["recruiter"])
        )
    response = admin.post(f"/admin/users/{user_id}/active", data={"csrf_token": csrf_token(admin)})
    assert response.status_code == 303
    assert is_login_redirect(recruiter.get("/campaigns"), "/campaigns")
    assert is_login_redirect(
        recruiter.get(f"/campaigns/{world.campaign}"), f"/campaigns/{world.campaign}"
    )


def test_reactivating_a_user_does_not_reopen_their_old_session(app, world):
    recruiter = logged_in(app, world.emails["recruiter"])
    assert recruiter.get("/campaigns").status_code == 200
    admin = logged_in(app, world.emails["admin"])
    with app.app_context():
        user_id = db.session.scalar(
            sa.select(User.id).where(User.email == world.emails["recruiter"])
        )
    toggle = f"/admin/users/{user_id}/active"
    assert admin.post(toggle, data={"csrf_token": csrf_token(admin)}).status_code == 303  # off
    assert admin.post(toggle, data={"csrf_token": csrf_token(admin)}).status_code == 303  # on
    with app.app_context():
        assert db.session.get(User, user_id).active
    # The cookie from before the deactivation opens nothing; a new login works.
    assert is_login_redirect(recruiter.get("/campaigns"), "/campaigns")
    assert logged_in(app, world.emails["recruiter"]).get("/campaigns").status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "http:evil.example",
        "/\\evil.example/",
        "\\\\evil.example/",
        "javascript:alert(1)",
    ],
)
def test_login_only_redirects_to_local_paths(app, world, target):
    response = login(app.test_client(), world.emails["recruiter"], next_url=target)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert is_local(location), location
    if target == "https://evil.example/":
        assert location == "/campaigns"


def is_local(location: str) -> bool:
    """A path on this site, which no browser reads as another host."""
    parts = urlsplit(location)
    return (
        not parts.scheme
        and not parts.netloc
        and location.startswith("/")
        and not location.startswith("//")
        and "\\" not in location
    )


def test_login_follows_a_local_next(app, world):
    path = f"/campaigns/{world.campaign}"
    response = login(app.test_client(), world.emails["hr"], next_url=path)
    assert response.status_code == 302
    assert response.headers["Location"] == path
