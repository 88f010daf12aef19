"""A candidate takes the real test in Chromium: phone and laptop, French and English."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import (
    LAPTOP,
    PHONE,
    answer_visible_page,
    assert_accessible,
    screenshot,
    submit,
)
from tests.conftest import make_invitation

pytestmark = pytest.mark.browser


def page_number(page) -> tuple[int, int]:
    match = re.search(r"(\d+)\D+(\d+)", page.locator("#progress-label").inner_text())
    return int(match.group(1)), int(match.group(2))


def take_test(page, base, token, shots, auditor=None):
    page.goto(f"{base}/t/{token}")
    screenshot(page, f"{shots}-1-welcome")
    assert_accessible(page, "welcome", auditor)
    assert page.locator("fieldset.item").count() == 0
    page.locator("#agree").check()
    submit(page)
    number, total = page_number(page)
    assert number == 1 and total >= 6
    screenshot(page, f"{shots}-2-page-1")
    assert_accessible(page, "page 1", auditor)
    reloaded = False
    while "/p/" in page.url:
        number, _ = page_number(page)
        answer_visible_page(page)
        submit(page)
        if number == 3 and not reloaded:
            # Stop in the middle and come back with the same link: the test resumes on page 4.
            page.goto(f"{base}/t/{token}")
            assert page_number(page)[0] == 4
            page.reload()
            assert page_number(page)[0] == 4
            reloaded = True
    assert page.url.endswith("/review")
    screenshot(page, f"{shots}-3-review")
    assert_accessible(page, "review", auditor)
    submit(page)
    heading = page.locator("h1").inner_text()
    screenshot(page, f"{shots}-4-thanks")
    assert_accessible(page, "thanks", auditor)
    return heading


def test_french_candidate_on_a_phone_without_javascript(live_app, browser):
    token = make_invitation(
        live_app, form_id="service-orientation", lang="fr", email="fr@example.org"
    )
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="fr-FR")
    audit_context = browser.new_context(viewport=PHONE)
    auditor = audit_context.new_page()
    page = context.new_page()
    heading = take_test(page, live_app.config["RECRUIT_BASE_URL"], token, "phone-fr", auditor)
    assert heading.startswith("Merci")
    context.close()
    audit_context.close()


def test_english_candidate_on_a_laptop(live_app, browser):
    token = make_invitation(
        live_app, form_id="service-orientation", lang="en", email="en@example.org"
    )
    context = browser.new_context(viewport=LAPTOP, locale="en-GB")
    page = context.new_page()
    heading = take_test(page, live_app.config["RECRUIT_BASE_URL"], token, "laptop-en")
    assert heading.startswith("Thank you")
    context.close()


def test_keyboard_alone_can_consent_and_answer_a_page(live_app, browser):
    token = make_invitation(
        live_app, form_id="service-orientation", lang="fr", email="kb@example.org"
    )
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    base = live_app.config["RECRUIT_BASE_URL"]
    page.goto(f"{base}/t/{token}")

    def focused(attr):
        return page.evaluate(f"document.activeElement.{attr}")

    while focused("id") != "agree":
        page.keyboard.press("Tab")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/p/1$"))
    groups = page.evaluate(
        "[...new Set([...document.querySelectorAll('fieldset.item input[type=radio]')]"
        ".map(i => i.name))]"
    )
    seen = set()
    while len(seen) < len(groups):
        page.keyboard.press("Tab")
        name = focused("name")
        if name in groups and name not in seen:
            seen.add(name)
            # Space picks the focused option; the arrow moves the "least effective" pick away
            # from the option chosen as "most effective".
            page.keyboard.press("Space")
            if name.endswith("-worst"):
                page.keyboard.press("ArrowDown")
    while focused("type") != "submit":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/p/2$"))
    assert page_number(page)[0] == 2
    context.close()
