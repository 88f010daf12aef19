"""A live server and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from werkzeug.serving import make_server

from tests.conftest import ARTIFACTS, REAL_BANK, empty_database, make_app, migrated, unavailable

CHROMIUM = os.environ.get("RECRUIT_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 360, "height": 740}
LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """The app with the real bank on its own SQLite file, served from a thread."""
    folder = tmp_path_factory.mktemp("live")
    url = migrated(f"sqlite:///{folder / 'live.sqlite3'}")
    app = make_app(url, bank=REAL_BANK, MAIL_WORKER="thread", MAIL_OUTBOX_DIR=str(folder / "mail"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["RECRUIT_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app
    server.shutdown()
    app.extensions["recruit.mail_worker"].stop()
    empty_database(app)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()


def screenshot(page, name: str) -> bytes:
    """Save a full-page screenshot under tests/artifacts and check that it shows something."""
    from PIL import Image

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    data = page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    image = Image.open(io.BytesIO(data)).convert("L")
    low, high = image.getextrema()
    colours = len(image.getcolors(maxcolors=1 << 16) or [])
    assert high - low > 100 and colours > 20, f"screenshot {name} looks blank"
    return data


def assert_accessible(page, name, auditor=None):
    """No serious or critical axe-core violation on the page.

    With JavaScript off, axe cannot run in the candidate's own page: ``auditor`` is then a page of
    a JavaScript-enabled context of the same size, which opens the same address.
    """
    if auditor is not None:
        auditor.goto(page.url)
        page = auditor
    # Nothing is wider than the screen: no sideways scrolling, on a phone either.
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    results = Axe().run(page)
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not serious, f"{name}: {serious}"


def answer_visible_page(page):
    """Pick an answer for every item on the page with the mouse, as a person would."""
    for item in page.locator("fieldset.item").all():
        best = item.locator("input[name$='-best']")
        if best.count():
            best.first.check()
            item.locator("input[name$='-worst']").last.check()
            continue
        ratings = item.locator("fieldset.rating")
        if ratings.count():
            for i, rating in enumerate(ratings.all()):
                rating.locator("input[type=radio]").nth(i % 6).check()
            continue
        item.locator("input[type=radio]").nth(1).check()


def submit(page, name: str | None = None):
    """Click the page's submit button (or the one named) and wait for the next page to load."""
    button = (
        page.get_by_role("button", name=name, exact=True)
        if name
        else page.locator("main form button[type=submit]")
    )
    with page.expect_navigation():
        button.click()
