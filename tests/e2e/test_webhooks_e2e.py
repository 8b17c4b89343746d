"""Stripe's side of the story: the sandbox posts signed events to paydesk over HTTP and
paydesk's worker applies them, with no call to verify."""

from __future__ import annotations

import asyncio
from typing import Any

import stripe

from tests.e2e.test_purchase import create_order
from tests.fixtures.paydesk import Paydesk


async def wait_for(paydesk: Paydesk, payment_id: str, status: str) -> dict[str, Any]:
    async with paydesk.client() as shop:
        for _ in range(100):
            payment: dict[str, Any] = (await shop.get(f"/api/payments/{payment_id}")).json()
            if payment["status"] == status:
                return payment
            await asyncio.sleep(0.1)
    raise AssertionError(f"payment {payment_id} stayed {payment['status']}, never {status}")


async def test_the_browser_confirms_at_stripe_and_the_webhook_pays_the_order(
    paydesk: Paydesk, stripe_client: stripe.StripeClient
) -> None:
    order = await create_order(paydesk)
    async with paydesk.client(order["checkout_token"]) as browser:
        started = (await browser.post("/api/payments", json={"order_id": order["id"]})).json()
    # What Stripe.js does in the browser with the client secret; paydesk is not involved.
    stripe_client.v1.payment_intents.confirm(
        started["stripe_payment_intent_id"],
        {"payment_method": "pm_card_visa", "return_url": f"{paydesk.url}/checkout/result"},
    )
    payment = await wait_for(paydesk, started["id"], "succeeded")
    last = payment["timeline"][-1]
    assert (last["to_status"], last["cause"]) == ("succeeded", "webhook")
    assert last["stripe_event_id"].startswith("evt_")
    async with paydesk.client() as shop:
        assert (await shop.get(f"/api/orders/{order['id']}")).json()["status"] == "paid"
        events = (await shop.get("/api/webhooks/events", params={"limit": 200})).json()["data"]
    assert any(
        e["type"] == "payment_intent.succeeded" and e["status"] == "processed" for e in events
    )


async def test_refunds_through_stripe_and_back(paydesk: Paydesk) -> None:
    order = await create_order(paydesk)
    async with paydesk.client() as shop:
        payment = (
            await shop.post(
                "/api/payments", json={"order_id": order["id"], "payment_method": "pm_card_visa"}
            )
        ).json()
        part = await shop.post(f"/api/payments/{payment['id']}/refunds", json={"amount": 1200})
        assert part.status_code == 201, part.text
        assert part.json()["status"] == "succeeded"
        assert part.json()["stripe_refund_id"].startswith("re_")
        over = await shop.post(f"/api/payments/{payment['id']}/refunds", json={"amount": 4000})
        assert over.status_code == 400
        rest = await shop.post(f"/api/payments/{payment['id']}/refunds", json={})
        assert rest.json()["amount"] == 5000 - 1200
        await wait_for(paydesk, payment["id"], "refunded")
        refunds = (await shop.get(f"/api/payments/{payment['id']}/refunds")).json()["data"]
        assert sorted(r["amount"] for r in refunds) == [1200, 3800]
        ledger = (await shop.get(f"/api/payments/{payment['id']}/ledger")).json()
        assert [(e["kind"], e["amount"]) for e in ledger["entries"]] == [
            ("charge", 5000),
            ("refund", -1200),
            ("refund", -3800),
        ]


async def test_authorize_then_capture_part_or_cancel(paydesk: Paydesk) -> None:
    async with paydesk.client() as shop:
        captured_order = await create_order(paydesk, capture_method="manual")
        held = (
            await shop.post(
                "/api/payments",
                json={"order_id": captured_order["id"], "payment_method": "pm_card_visa"},
            )
        ).json()
        assert held["status"] == "requires_capture"
        captured = await shop.post(f"/api/payments/{held['id']}/capture", json={"amount": 3000})
        assert captured.status_code == 200, captured.text
        assert captured.json()["status"] == "succeeded"
        ledger = (await shop.get(f"/api/payments/{held['id']}/ledger")).json()
        assert [(e["kind"], e["amount"]) for e in ledger["entries"]] == [("charge", 3000)]

        canceled_order = await create_order(paydesk, capture_method="manual")
        held = (
            await shop.post(
                "/api/payments",
                json={"order_id": canceled_order["id"], "payment_method": "pm_card_visa"},
            )
        ).json()
        canceled = await shop.post(f"/api/payments/{held['id']}/cancel")
        assert canceled.json()["status"] == "canceled"
        order_now = (await shop.get(f"/api/orders/{canceled_order['id']}")).json()
        assert order_now["status"] == "canceled"
