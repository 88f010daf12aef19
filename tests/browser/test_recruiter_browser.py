"""A recruiter runs a hiring round in Chromium: campaign, import, a candidate's test, shortlist,
comparison, decision."""

from __future__ import annotations

import random
import re

import pytest
import sqlalchemy as sa

from recruit.auth import services as accounts
from recruit.data import questions
from recruit.data.models import Candidate, Invitation, token_for
from recruit.extensions import db
from recruit.services import invitations
from tests.browser.conftest import (
    LAPTOP,
    PHONE,
    answer_visible_page,
    assert_accessible,
    screenshot,
    submit,
)
from tests.conftest import complete_invitation, random_responses

pytestmark = pytest.mark.browser
PASSWORD = "browser test password"


@pytest.fixture(scope="module")
def recruiter_account(live_app):
    with live_app.app_context():
        organisation = invitations.find_organisation("Brasserie Test") or (
            invitations.create_organisation("Brasserie Test")
        )
        if accounts.find_user("rita@brasserie.example.org") is None:
            accounts.create_user(
                organisation, "rita@brasserie.example.org", "recruiter", PASSWORD, "Rita"
            )
        db.session.commit()
    return "rita@brasserie.example.org"


def test_a_hiring_round_in_the_browser(live_app, browser, recruiter_account, tmp_path):
    base = live_app.config["RECRUIT_BASE_URL"]
    context = browser.new_context(viewport=LAPTOP, locale="fr-FR")
    page = context.new_page()

    page.goto(f"{base}/campaigns")
    assert "/login" in page.url
    page.fill("#email", recruiter_account)
    page.fill("#password", PASSWORD)
    submit(page, "Se connecter")
    assert page.url.endswith("/campaigns")

    with page.expect_navigation():
        page.click("text=Nouvelle campagne")
    page.fill("#title", "Serveur·se en salle")
    page.fill("#site", "Brasserie du Port, Nantes")
    page.select_option("#form_language", "service-orientation:fr")
    submit(page, "Ouvrir la campagne")
    assert page.locator("h1").inner_text() == "Serveur·se en salle"
    screenshot(page, "recruiter-1-campaign-empty")

    csv = tmp_path / "candidats.csv"
    csv.write_text(
        "Prénom;Nom;Courriel;Référence\n"
        "Inès;Haddad;ines.haddad@example.org;ATS-1\n"
        "Paul;Roux;paul.roux@example.org;ATS-2\n",
        encoding="cp1252",
    )
    with page.expect_navigation():
        page.click("text=Importer un fichier")
    page.set_input_files("#spreadsheet", str(csv))
    submit(page, "Vérifier le fichier")
    assert "2 personnes prêtes" in page.inner_text("main")
    screenshot(page, "recruiter-2-import-preview")
    submit(page, "Confirmer l'import de 2 invitation(s)")
    assert "2 invitation(s) créée(s)" in page.inner_text("main")
    screenshot(page, "recruiter-3-campaign-invited")
    assert_accessible(page, "campaign page")

    # The candidate opens the link the recruiter copies, in a browser of their own.
    link = page.locator("input.link-copy").first.input_value()
    candidate_context = browser.new_context(viewport=PHONE, locale="fr-FR")
    candidate = candidate_context.new_page()
    candidate.goto(link)
    candidate.locator("#agree").check()
    submit(candidate)
    while "/p/" in candidate.url:
        answer_visible_page(candidate)
        submit(candidate)
    submit(candidate)  # the review page's final submit
    assert candidate.locator("h1").inner_text().startswith("Merci")
    candidate_context.close()

    # The other one finishes too (through the app's own services, to keep the test short), rating
    # every option of every rating item 4: a flat rater the recruiter is asked to check.
    with live_app.app_context():
        other = db.session.scalar(
            sa.select(Invitation)
            .join(Candidate)
            .where(Candidate.email.like("%@example.org"), Invitation.status == "pending")
            .where(Candidate.email.in_(["ines.haddad@example.org", "paul.roux@example.org"]))
        )
        token = token_for(other.token_nonce, live_app.config["SECRET_KEY"])
        flagged_name = other.candidate.name
    form = questions.bank(live_app).get("service-orientation", "fr")
    flat = {
        item.id: {"ratings": dict.fromkeys(item.option_ids, 4)}
        for item in form.items
        if item.format == "rating"
    }
    complete_invitation(live_app, token, random_responses(form, random.Random(4)) | flat)

    with page.expect_navigation():
        page.click("text=Voir le classement")
    rows = page.locator("table.shortlist tbody tr")
    assert rows.count() == 2
    assert "provisoire" in page.inner_text("main")
    flag = page.locator("table.shortlist .badge-flag")
    assert flag.count() == 1 and flag.inner_text() == "Réponses uniformes, à vérifier"
    assert flagged_name in rows.filter(has=page.locator(".badge-flag")).inner_text()
    screenshot(page, "recruiter-4-shortlist")
    assert_accessible(page, "shortlist")

    for box in page.locator("table.shortlist tbody input[type=checkbox]").all():
        box.check()
    submit(page, "Comparer les candidats cochés (2 à 4)")
    assert page.url.startswith(f"{base}/compare")
    assert page.locator("svg.profile-chart").count() == 1
    assert page.locator(".compare-item").count() == len(form.items)
    screenshot(page, "recruiter-5-compare")
    assert_accessible(page, "compare")

    with page.expect_navigation():
        page.locator("table a", has_text=re.compile("Haddad")).first.click()
    page.check("input[value=shortlist]")
    page.fill("#note", "Réponses attentives au client ; à rencontrer.")
    submit(page, "Enregistrer la décision")
    assert "Décision enregistrée" in page.inner_text("main")
    assert "Retenir pour un entretien" in page.inner_text("main")
    screenshot(page, "recruiter-6-decision")

    phone = browser.new_context(viewport=PHONE, locale="fr-FR")
    mobile = phone.new_page()
    mobile.goto(f"{base}/login")
    mobile.fill("#email", recruiter_account)
    mobile.fill("#password", PASSWORD)
    submit(mobile, "Se connecter")
    with mobile.expect_navigation():
        mobile.click("text=Serveur·se en salle")
    with mobile.expect_navigation():
        mobile.click("text=Voir le classement")
    screenshot(mobile, "recruiter-7-shortlist-phone")
    # The wide table scrolls inside its frame; the page itself fits the phone.
    assert mobile.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    with mobile.expect_navigation():
        mobile.locator("table a", has_text=flagged_name).first.click()
    note = mobile.locator(".flag-note")
    assert note.is_visible() and "ne sont pas comptées" in note.inner_text()
    screenshot(mobile, "recruiter-8-flagged-candidate-phone")
    assert_accessible(mobile, "flagged candidate")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.close()
    context.close()
