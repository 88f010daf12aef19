"""Staff accounts as users expect: sessions that end, login throttling without lock-out,
strong passwords, forgotten passwords by email, two-factor authentication, no cached pages."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pyotp
import pytest
import sqlalchemy as sa

from recruit.auth.services import create_user
from recruit.data.models import (
    AuditEvent,
    LoginThrottle,
    Organisation,
    PasswordReset,
    RecoveryCode,
    User,
    UserSession,
    utcnow,
)
from recruit.extensions import db
from recruit.services.invitations import create_organisation
from recruit.services.outbox import send_pending
from tests.conftest import csrf_from, make_invitation
from tests.helpers import PASSWORD, at, count, logged_in, login

# These tests drive send_pending themselves.
pytestmark = pytest.mark.usefixtures("no_background_sender")

NEW_PASSWORD = "velvet orbit pancake drummer"
HOME = "127.0.0.1"


@pytest.fixture
def accounts(app):
    """Organisation Acme with an admin, a recruiter and an hr user; returns their emails."""
    with app.app_context():
        org = create_organisation("Acme")
        emails = {}
        for role in ("admin", "recruiter", "hr"):
            emails[role] = f"{role}@acme.example"
            create_user(org, emails[role], role, PASSWORD, f"{role.title()} Acme")
        db.session.commit()
    return emails


def token_of(client, path="/account", address=HOME) -> str:
    return csrf_from(client.get(path, **at(address)).get_data(as_text=True))


def post(client, path, data=None, address=HOME, page="/account"):
    return client.post(
        path, data={"csrf_token": token_of(client, page, address), **(data or {})}, **at(address)
    )


def is_logged_out(client) -> bool:
    response = client.get("/account")
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def user_row(app, email) -> User:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        db.session.expunge(user)
        return user


# --- Sessions ---------------------------------------------------------------------------------


def test_a_cookie_copied_before_logout_is_dead_after_it(app, accounts):
    client = logged_in(app, accounts["admin"])
    with client.session_transaction() as session:
        copied = dict(session)
    assert post(client, "/logout", page="/account").status_code == 302
    assert is_logged_out(client)
    # The attacker's browser, with the copy of the cookie.
    thief = app.test_client()
    with thief.session_transaction() as session:
        session.update(copied)
    assert is_logged_out(thief)
    users_before = count(app, User)
    page = thief.get("/admin/users")
    assert page.status_code == 302
    token = csrf_from(thief.get("/login").get_data(as_text=True))
    created = thief.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "email": "evil@acme.example",
            "role": "admin",
            "password": "a long enough evil password",
            "name": "Evil",
        },
    )
    assert created.status_code == 302
    assert count(app, User) == users_before


def test_log_out_everywhere_ends_every_session_of_the_user_only(app, accounts):
    laptop = logged_in(app, accounts["recruiter"])
    phone = logged_in(app, accounts["recruiter"], address="127.0.0.2")
    colleague = logged_in(app, accounts["hr"])
    page = laptop.get("/account").get_data(as_text=True)
    assert page.count("Cette session") == 1 and "127.0.0" not in page
    response = post(laptop, "/account/sessions/end")
    assert response.status_code == 303
    assert is_logged_out(laptop) and is_logged_out(phone)
    assert colleague.get("/account").status_code == 200
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.email == accounts["recruiter"]))
    assert (
        count(app, UserSession, UserSession.user_id == user_id, UserSession.ended_at.is_(None)) == 0
    )
    assert count(app, AuditEvent, AuditEvent.action == "sessions_ended") == 1


def _age_sessions(app, email, **delta):
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.email == email))
        for record in db.session.scalars(
            sa.select(UserSession).where(UserSession.user_id == user_id)
        ):
            for column, hours in delta.items():
                setattr(record, column, getattr(record, column) - timedelta(hours=hours))
        db.session.commit()


def test_a_session_ends_after_eight_idle_hours(app, accounts):
    client = logged_in(app, accounts["recruiter"])
    _age_sessions(app, accounts["recruiter"], last_seen_at=7.9, created_at=7.9)
    assert client.get("/account").status_code == 200  # 7.9 h: still there, and moved on
    _age_sessions(app, accounts["recruiter"], last_seen_at=7.9)
    assert client.get("/account").status_code == 200
    _age_sessions(app, accounts["recruiter"], last_seen_at=8.1)
    assert is_logged_out(client)


def test_a_session_ends_seven_days_after_login_however_active(app, accounts):
    client = logged_in(app, accounts["recruiter"])
    _age_sessions(app, accounts["recruiter"], created_at=24 * 7 - 0.5)
    assert client.get("/account").status_code == 200
    _age_sessions(app, accounts["recruiter"], created_at=1)
    assert is_logged_out(client)


def test_the_csrf_token_changes_at_login(app, accounts):
    client = app.test_client()
    before = csrf_from(client.get("/login").get_data(as_text=True))
    with client.session_transaction() as session:
        stored_before = session.get("csrf_token")
    client.post(
        "/login", data={"csrf_token": before, "email": accounts["hr"], "password": PASSWORD}
    )
    with client.session_transaction() as session:
        assert session.get("csrf_token") != stored_before
    # The token of the page shown before logging in no longer passes.
    response = client.post("/logout", data={"csrf_token": before})
    assert response.status_code == 400
    assert client.get("/account").status_code == 200


# --- Throttling without lock-out --------------------------------------------------------------


def test_failures_from_changing_addresses_never_lock_out_the_real_user(app, accounts):
    email = accounts["recruiter"]
    # The real user has logged in from home before.
    logged_in(app, email)
    statuses = []
    for i in range(24):
        attacker = app.test_client()
        statuses.append(
            login(attacker, email, f"guess number {i}", address=f"127.0.1.{i + 1}").status_code
        )
    # Five free failures, then each attempt from an unknown address waits; none is a lock.
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429  # the sixth comes sooner than one second after the fifth
    assert count(app, LoginThrottle) == 1
    # The real user, with the right password, from home: in at once.
    assert login(app.test_client(), email).status_code == 302


def test_a_throttled_address_waits_then_may_try_again(app, accounts):
    email = accounts["hr"]
    for i in range(8):
        login(app.test_client(), email, "wrong password", address=f"127.0.2.{i + 1}")
    refused = login(app.test_client(), email, address="127.0.3.1")
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 15 * 60
    assert "réessayez dans" in refused.get_data(as_text=True)
    # Once the wait is over (moved back by hand), the right password works from a new address.
    with app.app_context():
        row = db.session.scalar(sa.select(LoginThrottle))
        row.last_failure_at -= timedelta(seconds=wait)
        db.session.commit()
    assert login(app.test_client(), email, address="127.0.3.1").status_code == 302
    assert count(app, LoginThrottle) == 0  # a successful login forgets the failures


def test_an_unknown_account_is_throttled_like_a_known_one(app, accounts):
    answers = {}
    for email in (accounts["admin"], "nobody@acme.example"):
        answers[email] = [
            login(
                app.test_client(), email, "wrong password", address=f"127.0.4.{i + 1}"
            ).status_code
            for i in range(8)
        ]
    assert answers[accounts["admin"]] == answers["nobody@acme.example"]


def test_successful_logins_never_count(app, accounts):
    for _ in range(25):
        client = app.test_client()
        assert login(client, accounts["hr"]).status_code == 302
        assert post(client, "/logout").status_code == 302


def test_an_address_gets_twenty_failures_a_minute_whatever_the_account(app, accounts):
    answers = [
        login(
            app.test_client(), f"person{i}@acme.example", "wrong password", address="127.0.5.1"
        ).status_code
        for i in range(21)
    ]
    assert answers[:20] == [401] * 20 and answers[20] == 429
    # The same address, the right password: still refused until the minute is over...
    assert login(app.test_client(), accounts["admin"], address="127.0.5.1").status_code == 429
    # ...while every other address goes on.
    assert login(app.test_client(), accounts["admin"], address="127.0.5.2").status_code == 302


# --- Passwords --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "aaaaaaaaaa",
        "1234567890",
        "\x00" * 10,
        "password123",
        "azertyuiop",
        "short1!",
        "new@acme.example",
        "Nouvelle!2026",
    ],
)
def test_a_weak_password_is_refused_when_an_admin_creates_an_account(app, accounts, password):
    admin = logged_in(app, accounts["admin"])
    before = count(app, User)
    response = post(
        admin,
        "/admin/users",
        {
            "name": "Nouvelle",
            "email": "new@acme.example",
            "role": "recruiter",
            "password": password,
        },
        page="/admin/users",
    )
    assert response.status_code == 400
    assert 'class="field-error"' in response.get_data(as_text=True)
    assert count(app, User) == before


def test_a_user_changes_their_own_password_and_other_sessions_end(app, accounts):
    email = accounts["recruiter"]
    here = logged_in(app, email)
    elsewhere = logged_in(app, email, address="127.0.0.9")
    old_hash = user_row(app, email).password_hash
    wrong = post(
        here,
        "/account/password",
        {"current": "not it", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    weak = post(
        here,
        "/account/password",
        {"current": PASSWORD, "password": "1234567890", "confirm": "1234567890"},
    )
    mismatch = post(
        here,
        "/account/password",
        {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"},
    )
    assert wrong.status_code == weak.status_code == mismatch.status_code == 400
    assert "votre mot de passe actuel." in wrong.get_data(as_text=True)
    assert user_row(app, email).password_hash == old_hash
    assert not is_logged_out(elsewhere)
    done = post(
        here,
        "/account/password",
        {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert done.status_code == 303
    assert here.get("/account").status_code == 200
    assert is_logged_out(elsewhere)
    assert login(app.test_client(), email).status_code == 401
    assert login(app.test_client(), email, NEW_PASSWORD).status_code == 302


# --- Forgotten password, through a real SMTP server -------------------------------------------

LINK_RE = re.compile(r"http://localhost(/password/reset/[A-Za-z0-9_-]+)")


def ask_reset(app, email, address=HOME):
    client = app.test_client()
    token = csrf_from(client.get("/password/forgot", **at(address)).get_data(as_text=True))
    return client.post(
        "/password/forgot", data={"csrf_token": token, "email": email}, **at(address)
    )


def deliver(app):
    with app.app_context():
        return send_pending()


def reset_link(inbox) -> str:
    message = inbox.messages()[-1]
    text = message.get_body(("plain",)).get_content()
    return LINK_RE.search(text).group(1)


def set_password(app, path, password, confirm=None):
    client = app.test_client()
    page = client.get(path)
    if page.status_code != 200:
        return page
    return client.post(
        path,
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "password": password,
            "confirm": confirm or password,
        },
    )


def test_a_forgotten_password_is_reset_by_email_once(app, accounts, smtp):
    email = accounts["hr"]
    session_before = logged_in(app, email)
    known = ask_reset(app, email)
    unknown = ask_reset(app, "nobody@acme.example")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"]
    assert deliver(app).sent == 1
    assert smtp.recipients() == [email]
    message = smtp.messages()[0]
    assert "mot de passe" in message["Subject"].lower()
    path = reset_link(smtp)
    page = app.test_client().get(path)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    # A weak password is refused and changes nothing.
    assert set_password(app, path, "1234567890").status_code == 400
    assert login(app.test_client(), email).status_code == 302
    assert set_password(app, path, NEW_PASSWORD).status_code == 303
    assert is_logged_out(session_before)
    assert login(app.test_client(), email).status_code == 401
    assert login(app.test_client(), email, NEW_PASSWORD).status_code == 302
    # Single use.
    assert app.test_client().get(path).status_code == 410
    assert set_password(app, path, "another fine pass phrase").status_code == 410


def test_a_reset_link_dies_after_an_hour_and_unsent_ones_stay_unsent(app, accounts, smtp):
    email = accounts["recruiter"]
    ask_reset(app, email)
    deliver(app)
    path = reset_link(smtp)
    with app.app_context():
        reset = db.session.scalar(sa.select(PasswordReset))
        reset.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert app.test_client().get(path).status_code == 410
    assert set_password(app, path, NEW_PASSWORD).status_code == 410
    assert login(app.test_client(), email).status_code == 302
    # A link asked for and expired before the sender ran is never sent.
    ask_reset(app, email)
    with app.app_context():
        for reset in db.session.scalars(sa.select(PasswordReset)):
            reset.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    report = deliver(app)
    assert report.sent == 0 and report.failed == 1
    assert len(smtp.envelopes) == 1


def test_reset_requests_are_limited_per_account_and_per_address(app, accounts, smtp):
    for i in range(4):
        assert ask_reset(app, accounts["admin"], address=f"127.0.6.{i + 1}").status_code == 303
    deliver(app)
    assert len(smtp.envelopes) == 3  # at most three links an hour for one account
    statuses = [
        ask_reset(app, f"p{i}@acme.example", address="127.0.7.1").status_code for i in range(6)
    ]
    assert statuses == [303] * 5 + [429]


# --- Two-factor authentication ---------------------------------------------------------------

SECRET_RE = re.compile(r'<code class="secret">([A-Z2-7 ]+)</code>')
CODE_RE = re.compile(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>")


def enrol(client) -> tuple[str, list[str]]:
    page = client.get("/account/2fa")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in html
    secret = SECRET_RE.search(html).group(1).replace(" ", "")
    wrong = client.post("/account/2fa", data={"csrf_token": csrf_from(html), "code": "000000"})
    assert wrong.status_code == 400
    done = client.post(
        "/account/2fa", data={"csrf_token": csrf_from(html), "code": pyotp.TOTP(secret).now()}
    )
    assert done.status_code == 200
    codes = CODE_RE.findall(done.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def second_step(client, code, address=HOME):
    page = client.get("/login/2fa", **at(address))
    assert page.status_code == 200
    return client.post(
        "/login/2fa",
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "code": code},
        **at(address),
    )


def test_enrolment_then_login_with_a_code_that_works_once(app, accounts):
    email = accounts["admin"]
    client = logged_in(app, email)
    secret, codes = enrol(client)
    user = user_row(app, email)
    assert user.totp_secret == secret and user.totp_enabled_at is not None
    with app.app_context():
        stored = db.session.scalars(sa.select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not any(c.replace("-", "") in stored for c in codes)
    post(client, "/logout")

    # The password alone is not enough any more.
    fresh = app.test_client()
    step_one = login(fresh, email, next_url="/campaigns")
    assert step_one.status_code == 302 and step_one.headers["Location"] == "/login/2fa"
    assert is_logged_out(fresh)
    assert second_step(fresh, "000000").status_code == 401
    # The code of enrolment was used up; the next time step's code (one step of clock drift
    # is allowed) is new.
    assert second_step(fresh, pyotp.TOTP(secret).now()).status_code == 401
    code = pyotp.TOTP(secret).at(time.time() + 30)
    done = second_step(fresh, code)
    assert done.status_code == 302 and done.headers["Location"] == "/campaigns"
    assert fresh.get("/account").status_code == 200

    # The same code, replayed in another login, is refused.
    other = app.test_client()
    login(other, email)
    assert second_step(other, code).status_code == 401
    # A recovery code works once.
    assert second_step(other, codes[3]).status_code == 302
    third = app.test_client()
    login(third, email)
    assert second_step(third, codes[3]).status_code == 401


def test_five_wrong_codes_send_back_to_the_password(app, accounts):
    client = logged_in(app, accounts["hr"])
    enrol(client)
    post(client, "/logout")
    fresh = app.test_client()
    login(fresh, accounts["hr"])
    for _ in range(4):
        assert second_step(fresh, "111111").status_code == 401
    last = second_step_post_only(fresh, "111111")
    assert last.status_code == 302 and last.headers["Location"] == "/login"
    assert fresh.get("/login/2fa").status_code == 302


def second_step_post_only(client, code):
    page = client.get("/login/2fa")
    return client.post(
        "/login/2fa", data={"csrf_token": csrf_from(page.get_data(as_text=True)), "code": code}
    )


def test_an_admin_can_require_2fa_for_admin_and_hr(app, accounts):
    admin = logged_in(app, accounts["admin"])
    response = post(admin, "/admin/security", {"require_2fa": "y"}, page="/admin/users")
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Organisation.require_2fa))
    # The admin themself, and hr, must enrol before any other page.
    for client in (admin, logged_in(app, accounts["hr"])):
        for path in ("/campaigns", "/hr/", "/account"):
            response = client.get(path)
            assert response.status_code == 302 and response.headers["Location"] == "/account/2fa"
    # A recruiter is not concerned.
    assert logged_in(app, accounts["recruiter"]).get("/campaigns").status_code == 200
    secret, _codes = enrol(admin)
    assert admin.get("/campaigns").status_code == 200
    # Required: it cannot be switched off by the user.
    post(admin, "/account/2fa/disable", {"password": PASSWORD})
    assert user_row(app, accounts["admin"]).totp_secret == secret


def test_an_admin_removes_the_second_factor_of_a_user_who_lost_their_phone(app, accounts):
    hr = logged_in(app, accounts["hr"])
    enrol(hr)
    admin = logged_in(app, accounts["admin"])
    user_id = user_row(app, accounts["hr"]).id
    response = post(admin, f"/admin/users/{user_id}/2fa/reset", page="/admin/users")
    assert response.status_code == 303
    assert user_row(app, accounts["hr"]).totp_secret is None
    assert count(app, RecoveryCode) == 0
    assert is_logged_out(hr)
    assert login(app.test_client(), accounts["hr"]).headers["Location"] != "/login/2fa"


# --- Caching and the login's next parameter ---------------------------------------------------


def test_candidate_pages_and_api_answers_are_not_cached_but_static_files_are(app, accounts):
    token = make_invitation(app, org="Acme")
    client = app.test_client()
    for path in (
        f"/t/{token}",
        f"/t/{token}/privacy",
        f"/t/{token}/privacy/data.json",
        "/t/unknown",
        "/api/v1/forms",
    ):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
    page = client.get("/login").get_data(as_text=True)
    stylesheet = re.search(r'href="(/static/recruit\.css\?v=[0-9a-f]{12})"', page).group(1)
    static = client.get(stylesheet)
    assert static.status_code == 200
    assert static.cache_control.max_age >= 86400 * 30 and static.cache_control.immutable
    static.close()


@pytest.mark.parametrize("target", ["/x\r\nSet-Cookie: a=b", "/campaigns\x00", "/\u202ecampaigns"])
def test_a_next_with_control_characters_is_ignored(app, accounts, target):
    response = login(app.test_client(), accounts["recruiter"], next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/campaigns"
    assert "a=b" not in response.headers.get("Set-Cookie", "")


def test_the_account_page_shows_the_sessions_and_2fa_state(app, accounts):
    client = logged_in(app, accounts["recruiter"])
    html = client.get("/account").get_data(as_text=True)
    assert "Double authentification" in html and "Activer la double authentification" in html
    assert "Se déconnecter partout" in html
    assert html.count("Cette session") == 1


def test_the_command_line_refuses_a_weak_password_and_creates_nothing(app, accounts):
    runner = app.test_cli_runner()
    args = ["user", "create", "--org", "Acme", "--email", "cli@acme.example", "--role", "hr"]
    before = count(app, User)
    weak = runner.invoke(args=[*args, "--password-stdin"], input="1234567890\n")
    assert weak.exit_code != 0 and "too easy to guess" in weak.output
    assert count(app, User) == before
    strong = runner.invoke(args=[*args, "--password-stdin"], input=NEW_PASSWORD + "\n")
    assert strong.exit_code == 0, strong.output
    assert login(app.test_client(), "cli@acme.example", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize("name", ["Ana\u202eelA", "Ana\x00", "Ana\tBel"])
def test_a_user_name_with_control_characters_is_refused(app, accounts, name):
    admin = logged_in(app, accounts["admin"])
    before = count(app, User)
    response = post(
        admin,
        "/admin/users",
        {"name": name, "email": "ctrl@acme.example", "role": "hr", "password": NEW_PASSWORD},
        page="/admin/users",
    )
    assert response.status_code == 400
    assert "caractères de contrôle invisibles" in response.get_data(as_text=True)
    assert count(app, User) == before
