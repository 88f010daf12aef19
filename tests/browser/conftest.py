"""A live server and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pytest
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
