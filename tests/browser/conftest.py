"""Browser tests: Playwright driving the system's Chromium headless against a live paydesk.

Without Playwright or /usr/bin/chromium they are skipped, with the reason, on a developer's
machine; under CI (the `CI` environment variable set) they fail instead, so a runner that
lost its browser cannot pass quietly.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from paydesk.operators.service import OperatorService
from paydesk.unit_of_work import DatabaseUnits
from tests.fixtures.paydesk import Paydesk

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
Screenshot = Callable[[str], Awaitable[Path]]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def _missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (pip install playwright)"
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


def _require_browser() -> None:
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only: the pages read through the same services that run on both databases."""
    path = tmp_path / "paydesk.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    _require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-GB")
    opened = await context.new_page()
    opened.set_default_timeout(10_000)
    try:
        yield opened
    finally:
        await context.close()


@pytest.fixture
def screenshot(page: Page) -> Screenshot:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    async def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path

    return take


OPERATOR_EMAIL = "owner@example.com"
OPERATOR_PASSWORD = "correct horse battery staple"


@pytest.fixture
async def operator(paydesk: Paydesk) -> tuple[str, str]:
    """An operator account in the test's paydesk: (e-mail, password)."""
    await OperatorService(DatabaseUnits(paydesk.db)).create(OPERATOR_EMAIL, OPERATOR_PASSWORD)
    return OPERATOR_EMAIL, OPERATOR_PASSWORD


async def sign_in(page: Page, paydesk: Paydesk, email: str, password: str) -> None:
    """Signs in through the login form, with the keyboard, as an operator would."""
    await page.goto(f"{paydesk.url}/dashboard/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_label("Password").press("Enter")
    await page.wait_for_url(f"{paydesk.url}/dashboard")


@pytest.fixture
async def operator_page(page: Page, paydesk: Paydesk, operator: tuple[str, str]) -> Page:
    """The browser page, signed in to the dashboard and showing the overview."""
    await sign_in(page, paydesk, *operator)
    return page
