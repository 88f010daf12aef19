"""HR in Chromium: the dashboard's charts, then the Excel export."""

from __future__ import annotations

import random
import re

import openpyxl
import pytest

from recruit.auth import services as accounts
from recruit.data import questions
from recruit.extensions import db
from recruit.services import invitations
from tests.browser.conftest import LAPTOP, PHONE, assert_accessible, screenshot, submit
from tests.conftest import complete_invitation, make_invitation, random_responses

pytestmark = pytest.mark.browser
PASSWORD = "hr browser password"


@pytest.fixture(scope="module")
def hr_account(live_app):
    form = questions.bank(live_app).get("service-orientation", "fr")
    rng = random.Random(11)
    for site, n in (("Lyon", 6), ("Nice", 4)):
        for i in range(n):
            token = make_invitation(
                live_app,
                org="Hôtel RH",
                campaign=f"Accueil {site}",
                form_id="service-orientation",
                email=f"{site}{i}@example.org",
                name=f"Personne {site} {i}",
            )
            complete_invitation(live_app, token, random_responses(form, rng))
    with live_app.app_context():
        organisation = invitations.find_organisation("Hôtel RH")
        accounts.create_user(organisation, "rh@hotel.example.org", "hr", PASSWORD, "Hélène")
        db.session.commit()
    return "rh@hotel.example.org"


def log_in(page, base, email):
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    submit(page, "Se connecter")


def test_dashboard_charts_and_excel_export(live_app, browser, hr_account, tmp_path):
    base = live_app.config["RECRUIT_BASE_URL"]
    context = browser.new_context(viewport=LAPTOP, locale="fr-FR", accept_downloads=True)
    page = context.new_page()
    log_in(page, base, hr_account)
    assert page.url.endswith("/hr/")
    assert page.locator("svg.box-chart").count() == 6  # the composite and five scales
    assert "Personne ne s'est arrêté en cours de test." in page.inner_text("main")
    assert "Alpha de Cronbach" in page.inner_text("main")
    screenshot(page, "hr-1-dashboard")
    assert_accessible(page, "dashboard")
    page.get_by_role("button", name="Excel (.xlsx)").click()  # a job: its page, then the file
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    assert "Terminé." in page.inner_text("main")
    screenshot(page, "hr-2-job-page")
    assert_accessible(page, "job page")
    phone = browser.new_context(viewport={"width": 360, "height": 740}, locale="fr-FR")
    phone.add_cookies(context.cookies())
    small = phone.new_page()
    small.goto(page.url)
    screenshot(small, "hr-2-job-page-phone")
    phone.close()
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("Télécharger recruit-export-")).click()
    path = tmp_path / "export.xlsx"
    download.value.save_as(path)
    book = openpyxl.load_workbook(path, read_only=True)
    assert {"candidats", "à propos"} <= set(book.sheetnames)
    assert book["candidats"].max_row == 11  # the header and ten candidates
    book.close()
    context.close()

    phone = browser.new_context(viewport=PHONE, locale="fr-FR")
    mobile = phone.new_page()
    log_in(mobile, base, hr_account)
    screenshot(mobile, "hr-2-dashboard-phone")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.close()
