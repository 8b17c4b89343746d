"""The checkout page's bank methods in a real browser: SEPA Direct Debit, iDEAL, Bancontact.

Bank details go from the browser to the sandbox, as card numbers do; the sandbox's clock
settles a debit, its bank page authorizes or refuses a redirect payment."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

import httpx

from tests.browser.conftest import Screenshot, sign_in
from tests.browser.test_checkout import checkout_url, create_order, order_status, pay
from tests.fixtures.paydesk import Paydesk

if TYPE_CHECKING:
    from playwright.async_api import Page

SEPA_SUCCEEDS = "DE89 3704 0044 0532 0130 00"
SEPA_FAILS = "AT861904300235473202"
BANK_REFUSED = "The bank refused — choose another way to pay"


async def pay_by_debit(page: Page, iban: str, *, accept_mandate: bool = True) -> None:
    await page.get_by_role("tab", name="SEPA Direct Debit").click()
    panel = page.get_by_role("tabpanel", name="SEPA Direct Debit")
    await panel.get_by_label("Account holder's name").fill("Jenny Rosen")
    await panel.get_by_label("E-mail").fill("jenny@example.com")
    await panel.get_by_label("IBAN").fill(iban)
    if accept_mandate:
        await panel.get_by_label("I accept this SEPA Direct Debit mandate").check()
    await page.get_by_role("button", name=re.compile(r"^Pay ")).click()


def advance_clock(paydesk: Paydesk, seconds: int) -> None:
    answer = httpx.post(f"{paydesk.sandbox.url}/_sandbox/clock/advance", json={"seconds": seconds})
    assert answer.status_code == 200, answer.text


async def wait_for_order(paydesk: Paydesk, order_id: str, status: str) -> None:
    for _ in range(100):
        if await order_status(paydesk, order_id) == status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"order {order_id} never became {status}")


async def test_a_sepa_debit_is_under_way_then_paid_when_the_bank_settles(
    paydesk: Paydesk, page: Page, screenshot: Screenshot, operator: tuple[str, str]
) -> None:
    order = await create_order(paydesk)
    await page.goto(checkout_url(paydesk, order))
    await page.get_by_role("tab", name="SEPA Direct Debit").click()
    await screenshot("checkout-sepa-debit")
    await pay_by_debit(page, SEPA_SUCCEEDS)
    await page.get_by_role("heading", name="Debit under way").wait_for()
    await screenshot("result-debit-under-way")
    assert await order_status(paydesk, order["id"]) == "awaiting_funds"

    advance_clock(paydesk, 61)
    await wait_for_order(paydesk, order["id"], "paid")
    await page.reload()
    await page.get_by_role("heading", name="Paid").wait_for()
    paid_by = await page.locator("#paid-by").inner_text()
    assert paid_by == "SEPA Direct Debit · DE •••• 3000"

    # The operator sees the same words, and the mandate the customer accepted.
    await sign_in(page, paydesk, *operator)
    await page.goto(f"{paydesk.url}/dashboard/payments")
    row = page.get_by_role("row").filter(has_text=order["id"])
    assert "SEPA Direct Debit · DE •••• 3000" in await row.inner_text()
    await row.get_by_role("link").first.click()
    details = await page.locator("#payment-facts").inner_text()
    assert "SEPA Direct Debit · DE •••• 3000" in details
    assert re.search(r"SEPA mandate\s+mandate_", details), details


async def test_the_mandate_must_be_accepted_before_a_debit(
    paydesk: Paydesk, page: Page, screenshot: Screenshot
) -> None:
    order = await create_order(paydesk)
    await page.goto(checkout_url(paydesk, order))
    await pay_by_debit(page, SEPA_SUCCEEDS, accept_mandate=False)
    await page.get_by_role("alert").get_by_text("Accept the SEPA Direct Debit mandate").wait_for()
    mandate = page.get_by_label("I accept this SEPA Direct Debit mandate")
    assert await mandate.evaluate("e => e === document.activeElement")
    assert await order_status(paydesk, order["id"]) == "pending_payment"


async def test_a_failed_debit_says_the_bank_refused_and_the_order_is_paid_by_card(
    paydesk: Paydesk, page: Page, screenshot: Screenshot
) -> None:
    order = await create_order(paydesk)
    await page.goto(checkout_url(paydesk, order))
    await pay_by_debit(page, SEPA_FAILS)
    await page.get_by_role("heading", name="Debit under way").wait_for()
    advance_clock(paydesk, 61)
    await wait_for_order(paydesk, order["id"], "payment_failed")
    await page.reload()
    await page.get_by_role("heading", name=BANK_REFUSED).wait_for()
    await screenshot("result-bank-refused")

    await page.get_by_role("link", name="Back to checkout").click()
    await page.wait_for_url(re.compile(rf"/checkout/{order['id']}\?token="))
    await pay(page, "4242424242424242")
    await page.get_by_role("heading", name="Paid").wait_for()
    assert await page.locator("#paid-by").inner_text() == "Visa •••• 4242"
    assert await order_status(paydesk, order["id"]) == "paid"


async def test_ideal_is_authorized_at_the_bank_page(
    paydesk: Paydesk, page: Page, screenshot: Screenshot
) -> None:
    order = await create_order(paydesk)
    await page.goto(checkout_url(paydesk, order))
    await page.get_by_role("tab", name="iDEAL").click()
    await page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    await page.wait_for_url(f"{paydesk.sandbox.url}/_sandbox/redirect/**")
    await screenshot("sandbox-bank-page")
    await page.get_by_role("button", name="Authorize test payment").click()
    await page.get_by_role("heading", name="Paid").wait_for()
    assert page.url.startswith(f"{paydesk.url}/checkout/{order['id']}/result?")
    assert "redirect_status=succeeded" in page.url
    assert (await page.locator("#paid-by").inner_text()).startswith("iDEAL")
    assert await order_status(paydesk, order["id"]) == "paid"


async def test_bancontact_refused_at_the_bank_offers_another_way_to_pay(
    paydesk: Paydesk, page: Page, screenshot: Screenshot
) -> None:
    order = await create_order(paydesk)
    await page.goto(checkout_url(paydesk, order))
    await page.get_by_role("tab", name="Bancontact").click()
    panel = page.get_by_role("tabpanel", name="Bancontact")
    await panel.get_by_label("Account holder's name").fill("Jenny Rosen")
    await page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    await page.wait_for_url(f"{paydesk.sandbox.url}/_sandbox/redirect/**")
    await page.get_by_role("button", name="Fail test payment").click()
    await page.get_by_role("heading", name=BANK_REFUSED).wait_for()
    assert "redirect_status=failed" in page.url
    assert await order_status(paydesk, order["id"]) != "paid"


async def test_a_usd_order_offers_only_the_card(
    paydesk: Paydesk, page: Page, screenshot: Screenshot
) -> None:
    order = await create_order(paydesk, currency="usd")
    await page.goto(checkout_url(paydesk, order))
    await page.get_by_role("heading", name="Pay by card").wait_for()
    assert await page.get_by_role("tab").count() == 0
    assert await page.get_by_label("IBAN").count() == 0
    await pay(page, "4242424242424242")
    await page.get_by_role("heading", name="Paid").wait_for()


async def test_the_method_tabs_work_with_the_keyboard(
    paydesk: Paydesk, page: Page, screenshot: Screenshot
) -> None:
    order = await create_order(paydesk)
    await page.goto(checkout_url(paydesk, order))
    tabs = page.get_by_role("tab")
    assert await tabs.all_inner_texts() == ["Card", "SEPA Direct Debit", "iDEAL", "Bancontact"]
    card = page.get_by_role("tab", name="Card")
    await card.focus()
    await page.keyboard.press("ArrowRight")
    sepa = page.get_by_role("tab", name="SEPA Direct Debit")
    assert await sepa.get_attribute("aria-selected") == "true"
    assert await sepa.evaluate("e => e === document.activeElement")
    assert await page.get_by_label("IBAN").is_visible()
    assert not await page.get_by_label("Card number").is_visible()
    await page.keyboard.press("End")
    assert await page.get_by_role("tab", name="Bancontact").get_attribute("aria-selected") == "true"
    await page.keyboard.press("ArrowRight")
    assert await card.get_attribute("aria-selected") == "true"
    # Tab leaves the tab list for the selected panel's first field.
    await page.keyboard.press("Tab")
    assert await page.get_by_label("Card number").evaluate("e => e === document.activeElement")
