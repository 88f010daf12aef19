"""A staff user in Chromium: enrols in two-factor authentication, logs in with a code, changes
their password and logs out everywhere; on a laptop and on a phone."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from recruit.auth import services as accounts
from recruit.auth import twofactor
from recruit.extensions import db
from recruit.services import invitations
from tests.browser.conftest import LAPTOP, PHONE, assert_accessible, screenshot, submit

pytestmark = pytest.mark.browser
PASSWORD = "account browser password"


@pytest.fixture(scope="module")
def admin_account(live_app):
    with live_app.app_context():
        organisation = invitations.find_organisation(
            "Maison 2FA"
        ) or invitations.create_organisation("Maison 2FA")
        accounts.create_user(organisation, "admin@maison.example.org", "admin", PASSWORD, "Alix")
        db.session.commit()
    return "admin@maison.example.org"


def log_in(page, base, email, password=PASSWORD):
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    submit(page, "Se connecter")


@pytest.mark.parametrize("viewport,name", [(LAPTOP, "laptop"), (PHONE, "phone")])
def test_two_factor_enrolment_login_and_account_page(
    live_app, browser, admin_account, viewport, name
):
    base = live_app.config["RECRUIT_BASE_URL"]
    context = browser.new_context(viewport=viewport, locale="fr-FR")
    page = context.new_page()
    with live_app.app_context():  # each width enrols afresh
        twofactor.disable(accounts.find_user(admin_account))
    log_in(page, base, admin_account)
    page.goto(f"{base}/account")
    screenshot(page, f"account-1-{name}")
    assert_accessible(page, f"account {name}")
    page.get_by_role("button", name="Activer la double authentification").click()
    page.wait_for_load_state()
    assert page.locator("svg.qr").count() == 1
    screenshot(page, f"account-2-enrol-{name}")
    assert_accessible(page, f"enrolment {name}")
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).now())
    submit(page, "Activer")
    codes = page.locator("ul.recovery-codes code").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z0-9]{5}-[a-z0-9]{5}", c) for c in codes)
    screenshot(page, f"account-3-codes-{name}")
    page.goto(f"{base}/account")
    submit(page, "Se déconnecter partout")
    assert page.url.endswith("/login")

    log_in(page, base, admin_account)
    assert page.url.endswith("/login/2fa")
    screenshot(page, f"account-4-second-step-{name}")
    assert_accessible(page, f"second step {name}")
    page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))
    submit(page, "Valider")
    assert page.url.endswith("/campaigns")
    page.goto(f"{base}/admin/users")
    screenshot(page, f"account-5-users-{name}")
    assert_accessible(page, f"users {name}")
    context.close()


def test_forgotten_password_page(live_app, browser):
    base = live_app.config["RECRUIT_BASE_URL"]
    context = browser.new_context(viewport=PHONE, locale="fr-FR")
    page = context.new_page()
    page.goto(f"{base}/login")
    page.get_by_role("link", name="Mot de passe oublié ?").click()
    page.wait_for_load_state()
    page.fill("#email", "personne@maison.example.org")
    submit(page, "Recevoir le lien")
    assert page.url.endswith("/login")
    assert "Si un compte existe pour cette adresse" in page.inner_text("main")
    screenshot(page, "account-6-forgot-sent-phone")
    assert_accessible(page, "forgot sent")
    context.close()
