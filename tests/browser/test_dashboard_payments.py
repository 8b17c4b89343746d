"""The dashboard's payments in a real browser: a card payment found in the list, refunded in
part with the keyboard through the confirmation page; a form without its token refused."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from paydesk.refunds.models import Refund
from tests.browser.conftest import OPERATOR_EMAIL, Screenshot
from tests.browser.test_checkout import checkout_url, create_order, pay
from tests.fixtures.paydesk import Paydesk

if TYPE_CHECKING:
    from playwright.async_api import Page


async def refunds_made(paydesk: Paydesk) -> int:
    async with paydesk.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Refund)) or 0)


async def paid_in_checkout(paydesk: Paydesk, page: Page) -> dict[str, Any]:
    """An order of 33.99 EUR for customer@example.com, paid with 4242 on the checkout page."""
    order = await create_order(paydesk)
    await page.goto(checkout_url(paydesk, order))
    await pay(page, "4242 4242 4242 4242")
    await page.get_by_role("heading", name="Paid").wait_for()
    return order


async def focused(page: Page) -> str:
    text: str = await page.evaluate("document.activeElement.textContent")
    return text.strip()


async def test_refund_part_of_a_card_payment_with_the_keyboard(
    paydesk: Paydesk, operator_page: Page, screenshot: Screenshot
) -> None:
    page = operator_page
    order = await paid_in_checkout(paydesk, page)

    await page.goto(f"{paydesk.url}/dashboard/payments")
    row = page.get_by_role("row").filter(has_text=order["id"])
    cells = [c.strip() for c in await row.get_by_role("cell").all_inner_texts()]
    assert cells[2:6] == ["customer@example.com", "33.99 EUR", "Visa •••• 4242", "succeeded"]
    await screenshot("dashboard-payments")

    await row.get_by_role("link").focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/dashboard/payments/pay_[0-9a-f]+$"))
    await page.get_by_role("heading", name="Timeline").wait_for()
    assert "33.99 EUR" in await page.locator("#money-heading + .amounts").inner_text()
    await screenshot("dashboard-payment")

    amount = page.get_by_label("Amount to refund (EUR)")
    await amount.focus()
    await page.keyboard.type("12.50")
    await page.keyboard.press("Tab")
    assert await page.get_by_label("Reason").evaluate("e => e === document.activeElement")
    assert await page.get_by_label("Reason").input_value() == "requested_by_customer"
    await page.keyboard.press("Tab")
    assert await focused(page) == "Review refund…"
    await page.keyboard.press("Enter")

    await page.get_by_role("heading", name="Confirm the refund").wait_for()
    assert await page.get_by_text("Refund 12.50 EUR of 33.99 EUR to customer@example.com?").count()
    assert await refunds_made(paydesk) == 0  # nothing happens before the confirmation
    await screenshot("dashboard-refund-confirm")
    await page.get_by_role("link", name="Back").focus()
    await page.keyboard.press("Shift+Tab")
    assert await focused(page) == "Refund 12.50 EUR"
    await page.keyboard.press("Enter")

    await page.get_by_role("status").get_by_text("Refund made").wait_for()
    timeline = await page.locator(".timeline li").all_inner_texts()
    assert "succeeded → partially refunded" in timeline[-1]
    assert f"operator · by {OPERATOR_EMAIL}" in timeline[-1]
    ledger = [
        [c.strip() for c in await r.get_by_role("cell").all_inner_texts()]
        for r in await page.locator("table.ledger tbody tr").all()
    ]
    assert [line[1] for line in ledger] == ["charge", "refund"]
    assert [line[3:5] for line in ledger] == [
        ["33.99 EUR", "33.99 EUR"],
        ["-12.50 EUR", "21.49 EUR"],
    ]
    refunds = await page.locator("#refunds-heading + table tbody").inner_text()
    assert "12.50 EUR" in refunds
    assert "succeeded" in refunds
    assert await refunds_made(paydesk) == 1
    await screenshot("dashboard-payment-refunded")


async def test_a_form_posted_without_its_csrf_token_is_refused(
    paydesk: Paydesk, operator_page: Page, screenshot: Screenshot
) -> None:
    page = operator_page
    order = await paid_in_checkout(paydesk, page)
    await page.goto(f"{paydesk.url}/dashboard/payments?order_id={order['id']}")
    await page.get_by_role("row").filter(has_text=order["id"]).get_by_role("link").click()
    await page.wait_for_url(re.compile(r"/dashboard/payments/pay_[0-9a-f]+$"))
    payment_url = page.url
    await page.get_by_label("Amount to refund (EUR)").fill("5")
    await page.get_by_role("button", name="Review refund…").click()
    await page.get_by_role("heading", name="Confirm the refund").wait_for()
    await page.evaluate("document.querySelector('main form input[name=csrf_token]').remove()")
    async with page.expect_navigation() as navigation:
        await page.get_by_role("button", name="Refund 5.00 EUR").click()
    response = await navigation.value
    assert response is not None
    assert response.status == 403
    await page.get_by_role("heading", name="This form was refused").wait_for()
    await screenshot("dashboard-refund-csrf-refused")
    assert await refunds_made(paydesk) == 0
    await page.goto(payment_url)
    assert "No refunds." in await page.locator("#refunds-heading + p").inner_text()
