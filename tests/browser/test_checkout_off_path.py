"""The checkout page of an order that changed, and of one that expired, in a real browser."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import TYPE_CHECKING

from paydesk.db import utcnow
from tests.browser.conftest import Screenshot
from tests.browser.test_checkout import ITEMS, checkout_url, create_order, order_status, pay
from tests.fixtures.paydesk import Paydesk

if TYPE_CHECKING:
    from playwright.async_api import Page


async def test_a_changed_cart_shows_its_new_total_on_reload_and_is_paid_for_it(
    paydesk: Paydesk, page: Page, screenshot: Screenshot
) -> None:
    order = await create_order(paydesk)
    await page.goto(checkout_url(paydesk, order))
    assert await page.locator("#order-total").inner_text() == "33.99 EUR"
    async with paydesk.client() as shop:
        changed = await shop.patch(
            f"/api/orders/{order['id']}",
            json={
                "items": [*ITEMS, {"sku": "CUP", "name": "Cup", "unit_amount": 500, "quantity": 1}]
            },
        )
        assert changed.status_code == 200, changed.text
    await page.reload()
    assert await page.locator("#order-total").inner_text() == "38.99 EUR"
    await page.get_by_role("button", name="Pay 38.99 EUR").wait_for()
    await pay(page, "4242424242424242")
    await page.wait_for_url(re.compile(r"/checkout/[^/]+/result\?"))
    await page.get_by_role("heading", name="Paid").wait_for()
    assert "38.99 EUR" in await page.locator("main").inner_text()
    await screenshot("checkout-changed-cart-paid")
    assert await order_status(paydesk, order["id"]) == "paid"


async def test_an_expired_order_says_so_and_offers_nothing_to_pay_with(
    paydesk: Paydesk, page: Page, screenshot: Screenshot
) -> None:
    expires_at = utcnow() + timedelta(seconds=1)
    order = await create_order(paydesk, expires_at=expires_at.isoformat())
    await asyncio.sleep(1.2)
    await page.goto(checkout_url(paydesk, order))
    await page.get_by_role("status").filter(has_text="This order has expired").wait_for()
    assert await page.get_by_label("Card number").count() == 0
    assert await page.get_by_role("button", name=re.compile(r"^Pay ")).count() == 0
    await screenshot("checkout-expired")
