"""The checkout page in a real browser: card to the sandbox, payment through paydesk."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import httpx

from tests.browser.conftest import Screenshot
from tests.fixtures.paydesk import Paydesk

if TYPE_CHECKING:
    from playwright.async_api import Page, Request

ITEMS = [
    {"sku": "MUG-RED", "name": "Red enamel mug", "unit_amount": 1250, "quantity": 2},
    {"sku": "TEA-500", "name": "Breakfast tea, 500 g", "unit_amount": 899, "quantity": 1},
]
DECLINED_MESSAGE = "Your card was declined — try another card."


async def create_order(paydesk: Paydesk, **overrides: Any) -> dict[str, Any]:
    async with paydesk.client() as shop:
        response = await shop.post(
            "/api/orders",
            json={
                "items": ITEMS,
                "currency": "eur",
                "customer_email": "customer@example.com",
                **overrides,
            },
        )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def checkout_url(paydesk: Paydesk, order: dict[str, Any], token: str | None = None) -> str:
    return f"{paydesk.url}/checkout/{order['id']}?token={token or order['checkout_token']}"


async def order_status(paydesk: Paydesk, order_id: str) -> str:
    async with paydesk.client() as shop:
        status: str = (await shop.get(f"/api/orders/{order_id}")).json()["status"]
    return status


async def pay(page: Page, number: str, *, submit_with_enter: bool = False) -> None:
    await page.get_by_label("Card number").fill(number)
    await page.get_by_label("Expiry date").fill("12 / 34")
    await page.get_by_label("Security code").fill("123")
    if submit_with_enter:
        await page.get_by_label("Security code").press("Enter")
    else:
        await page.get_by_role("button", name=re.compile(r"^Pay ")).click()


async def test_pay_with_4242_shows_paid_and_the_card_never_reaches_paydesk(
    paydesk: Paydesk, page: Page, screenshot: Screenshot
) -> None:
    order = await create_order(paydesk)
    to_paydesk: list[str] = []

    def record(request: Request) -> None:
        if request.url.startswith(paydesk.url):
            to_paydesk.append(f"{request.url}\n{request.post_data or ''}")

    page.on("request", record)
    await page.goto(checkout_url(paydesk, order))
    assert await page.locator("html").get_attribute("lang") == "en"
    assert await page.locator("#order-total").inner_text() == "33.99 EUR"
    assert "12.50 EUR" in await page.locator("table").inner_text()
    await screenshot("checkout")

    await pay(page, "4242 4242 4242 4242")
    await page.wait_for_url(re.compile(r"/checkout/[^/]+/result\?"))
    await page.get_by_role("heading", name="Paid").wait_for()
    await screenshot("result-paid")

    assert await order_status(paydesk, order["id"]) == "paid"
    assert to_paydesk, "the page made no requests to paydesk"
    assert not [r for r in to_paydesk if "4242424242424242" in r or "4242 4242" in r]


async def test_a_declined_card_says_so_and_another_card_pays(
    paydesk: Paydesk, page: Page, screenshot: Screenshot
) -> None:
    order = await create_order(
        paydesk,
        currency="jpy",
        items=[{"sku": "BENTO", "name": "Bento box", "unit_amount": 2500, "quantity": 2}],
    )
    await page.goto(checkout_url(paydesk, order))
    assert await page.locator("#order-total").inner_text() == "5,000 JPY"

    await pay(page, "4000000000000002")
    alert = page.get_by_role("alert")
    await alert.get_by_text(DECLINED_MESSAGE).wait_for()
    assert "generic_decline" in await alert.inner_text()
    assert await page.get_by_label("Card number").evaluate("e => e === document.activeElement")
    await screenshot("checkout-declined")
    assert await order_status(paydesk, order["id"]) == "payment_failed"

    await pay(page, "4242424242424242", submit_with_enter=True)
    await page.get_by_role("heading", name="Paid").wait_for()
    assert await order_status(paydesk, order["id"]) == "paid"


async def test_three_d_secure_completed_is_paid(
    paydesk: Paydesk, page: Page, screenshot: Screenshot
) -> None:
    order = await create_order(paydesk)
    await page.goto(checkout_url(paydesk, order))
    await pay(page, "4000002500003155")
    await page.wait_for_url(f"{paydesk.sandbox.url}/_sandbox/3ds/**")
    await screenshot("sandbox-3ds-challenge")
    await page.get_by_role("button", name="Complete authentication").click()
    await page.get_by_role("heading", name="Paid").wait_for()
    assert page.url.startswith(f"{paydesk.url}/checkout/{order['id']}/result?")
    assert await order_status(paydesk, order["id"]) == "paid"


async def test_three_d_secure_failed_offers_another_card(
    paydesk: Paydesk, page: Page, screenshot: Screenshot
) -> None:
    order = await create_order(paydesk)
    await page.goto(checkout_url(paydesk, order))
    await pay(page, "4000002500003155")
    await page.wait_for_url(f"{paydesk.sandbox.url}/_sandbox/3ds/**")
    await page.get_by_role("button", name="Fail authentication").click()
    await page.get_by_role("heading", name="Payment failed — try another card").wait_for()
    await screenshot("result-failed")
    assert await order_status(paydesk, order["id"]) != "paid"

    await page.get_by_role("link", name="Back to checkout").click()
    await page.wait_for_url(re.compile(rf"/checkout/{order['id']}\?token="))
    await pay(page, "4242424242424242")
    await page.get_by_role("heading", name="Paid").wait_for()


async def test_another_orders_checkout_with_this_token_is_not_found(
    paydesk: Paydesk, page: Page, screenshot: Screenshot
) -> None:
    mine, theirs = await create_order(paydesk), await create_order(paydesk)
    response = await page.goto(checkout_url(paydesk, theirs, token=mine["checkout_token"]))
    assert response is not None
    assert response.status == 404
    await page.get_by_role("heading", name="Page not found").wait_for()
    body = await page.content()
    assert theirs["id"] not in body
    assert "Red enamel mug" not in body
    await screenshot("not-found")
    async with httpx.AsyncClient(base_url=paydesk.url) as client:
        for path in [
            f"/checkout/{theirs['id']}",
            f"/checkout/{theirs['id']}?token=pd_ct_wrong",
            f"/checkout/{theirs['id']}?token={paydesk.shop_key}",
            f"/checkout/{theirs['id']}/result?token={mine['checkout_token']}",
        ]:
            answer = await client.get(path)
            assert answer.status_code == 404, path
            assert theirs["id"] not in answer.text
