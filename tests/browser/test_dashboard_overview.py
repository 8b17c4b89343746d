"""The overview in a real browser: a card payment through the checkout shows up on it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tests.browser.conftest import Screenshot
from tests.browser.test_checkout import checkout_url, create_order, pay
from tests.fixtures.paydesk import Paydesk

if TYPE_CHECKING:
    from playwright.async_api import Page


async def test_a_payment_made_at_the_checkout_is_counted_today(
    paydesk: Paydesk, operator_page: Page, screenshot: Screenshot
) -> None:
    page = operator_page
    assert await page.locator("#today-heading + .empty").inner_text() == "No payments yet today."

    order = await create_order(paydesk)
    await page.goto(checkout_url(paydesk, order))
    await pay(page, "4242 4242 4242 4242")
    await page.get_by_role("heading", name="Paid").wait_for()

    await page.goto(f"{paydesk.url}/dashboard")
    await page.get_by_role("heading", name="Overview").wait_for()
    assert await page.locator("#today-rate .value").inner_text() == "100% — 1 of 1"
    today = page.locator("#today-eur")
    assert await today.locator(".label").inner_text() == "Collected today in EUR"
    assert await today.locator(".value").inner_text() == "33.99 EUR"
    assert "1 collected of 1 payment" in await today.inner_text()
    assert await page.locator("#month-eur .value").inner_text() == "33.99 EUR"

    chart = page.get_by_role("img", name=re.compile("Collected and failed payments per day"))
    await chart.wait_for()
    assert await chart.locator("rect.bar-ok").count() == 1
    await page.get_by_role("heading", name="Needs attention").wait_for()
    await screenshot("dashboard-overview")

    await page.get_by_text("The chart as a table").click()
    day = datetime.now(UTC).date().isoformat()
    first_row = page.locator("#daily-table tbody tr").first
    assert re.split(r"\s+", (await first_row.inner_text()).strip()) == [day, "1", "0"]
    status_row = page.locator("#status-table tbody tr")
    assert await status_row.count() == 1
    assert "succeeded" in await status_row.inner_text()
