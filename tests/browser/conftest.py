"""Playwright driving the system Chromium (no browser download) against Django's live server.

Browser test modules carry `pytestmark = BROWSER`. Each test keeps a screenshot of every page
it visits in artifacts/screenshots/<test>/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import chromium_path

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
BROWSER = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHROMIUM_FLAGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    if not path:
        pytest.skip("needs Chromium: install the OS package `chromium` or set CHROMIUM_PATH")
    # Playwright's sync API keeps an event loop running in this thread while the browser lives;
    # the tests' own ORM calls (reading rows, flushing the database) are still plain
    # synchronous code, so Django's async guard is lifted for as long as the browser runs.
    # Browser tests are ordered last (tests/conftest.py) so no other test runs beside it.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=live_server.url)
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def shoot(page: Page, request: pytest.FixtureRequest) -> Callable[..., Path]:
    """Save a full-page screenshot named for the step: artifacts/screenshots/<test>/NN-name.png.

    `shoot(name)` takes the test's page; `shoot(name, on=other_page)` another one.
    """
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    counter = iter(range(1, 100))

    def take(name: str, on: Page | None = None) -> Path:
        path = folder / f"{next(counter):02d}-{name}.png"
        (on or page).screenshot(path=str(path), full_page=True)
        return path

    return take


os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
