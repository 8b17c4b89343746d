"""A purchase from end to end: paydesk over HTTP, the official SDK inside it talking HTTP
to the sandbox, and the test checking what the sandbox itself recorded."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import stripe

from tests.fixtures.paydesk import Paydesk

ITEMS = [{"sku": "BOOK-1", "name": "A book", "unit_amount": 2500, "quantity": 2}]


async def create_order(paydesk: Paydesk, **overrides: Any) -> dict[str, Any]:
    async with paydesk.client() as shop:
        response = await shop.post(
            "/api/orders",
            json={
                "items": ITEMS,
                "currency": "usd",
                "customer_email": "c@example.com",
                **overrides,
            },
        )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def card(stripe_client: stripe.StripeClient, number: str) -> str:
    """A PaymentMethod made in the sandbox, as Stripe.js makes one in the browser."""
    method = stripe_client.v1.payment_methods.create(
        {
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    return method.id


async def test_pay_with_4242_and_the_order_is_paid(
    paydesk: Paydesk, stripe_client: stripe.StripeClient
) -> None:
    order = await create_order(paydesk)
    async with paydesk.client(order["checkout_token"]) as browser:
        response = await browser.post(
            "/api/payments",
            json={
                "order_id": order["id"],
                "payment_method": card(stripe_client, "4242424242424242"),
            },
        )
        assert response.status_code == 200, response.text
        payment = response.json()
        assert payment["status"] == "succeeded"
        verified = await browser.post("/api/payments/verify", json={"payment_id": payment["id"]})
        assert verified.json()["status"] == "succeeded"
        assert (await browser.get(f"/api/orders/{order['id']}")).json()["status"] == "paid"
    intent = stripe_client.v1.payment_intents.retrieve(payment["stripe_payment_intent_id"])
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 5000, "usd")
    assert intent.metadata["paydesk_payment_id"] == payment["id"]


async def test_declines_carry_stripes_decline_code_and_another_card_works(
    paydesk: Paydesk, stripe_client: stripe.StripeClient
) -> None:
    order = await create_order(paydesk)
    async with paydesk.client(order["checkout_token"]) as browser:
        for number, decline_code in [
            ("4000000000000002", "generic_decline"),
            ("4000000000009995", "insufficient_funds"),
        ]:
            response = await browser.post(
                "/api/payments",
                json={"order_id": order["id"], "payment_method": card(stripe_client, number)},
            )
            assert response.status_code == 402, response.text
            error = response.json()["error"]
            assert (error["type"], error["decline_code"]) == ("card_error", decline_code)
            assert (await browser.get(f"/api/orders/{order['id']}")).json()["status"] == (
                "payment_failed"
            )
        response = await browser.post(
            "/api/payments", json={"order_id": order["id"], "payment_method": "pm_card_visa"}
        )
        assert response.json()["status"] == "succeeded"
    intents = stripe_client.v1.payment_intents.list({"limit": 100})
    mine = [i for i in intents.data if i.metadata.to_dict().get("paydesk_order_id") == order["id"]]
    assert len(mine) == 1


async def test_three_d_secure_completed_and_failed(
    paydesk: Paydesk, stripe_client: stripe.StripeClient
) -> None:
    for outcome, final, return_url in [
        ("succeed", "succeeded", "https://shop.example/return"),
        ("fail", "failed", "https://shop.example/return"),
        ("succeed", "succeeded", None),
    ]:
        order = await create_order(paydesk)
        async with paydesk.client(order["checkout_token"]) as browser:
            response = await browser.post(
                "/api/payments",
                json={
                    "order_id": order["id"],
                    "payment_method": card(stripe_client, "4000002500003155"),
                    "return_url": return_url,
                },
            )
            payment = response.json()
            assert payment["status"] == "requires_action", payment
            redirect = payment["next_action"]["redirect_url"]
            assert redirect.startswith(paydesk.sandbox.url)
            async with httpx.AsyncClient() as sandbox:
                answer = await sandbox.post(
                    f"{paydesk.sandbox.url}/_sandbox/payment_intents/"
                    f"{payment['stripe_payment_intent_id']}/authenticate",
                    json={"outcome": outcome},
                )
                assert answer.status_code == 200
            verified = await browser.post(
                "/api/payments/verify", json={"payment_id": payment["id"]}
            )
            assert verified.json()["status"] == final
            assert verified.json()["next_action"] is None


async def test_twenty_concurrent_starts_make_one_payment_intent(
    paydesk: Paydesk, stripe_client: stripe.StripeClient
) -> None:
    order = await create_order(paydesk)
    async with paydesk.client(order["checkout_token"]) as browser:
        responses = await asyncio.gather(
            *[browser.post("/api/payments", json={"order_id": order["id"]}) for _ in range(20)]
        )
    assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
    intent_ids = {r.json()["stripe_payment_intent_id"] for r in responses}
    assert len(intent_ids) == 1
    assert all(r.json()["client_secret"] for r in responses)
    intents = stripe_client.v1.payment_intents.list({"limit": 100})
    assert [
        i.id for i in intents.data if i.metadata.to_dict().get("paydesk_order_id") == order["id"]
    ] == [intent_ids.pop()]


async def test_sandbox_down_mid_request_is_a_502_and_the_retry_has_no_duplicate(
    paydesk: Paydesk, stripe_client: stripe.StripeClient
) -> None:
    order = await create_order(paydesk)
    body = {"order_id": order["id"], "payment_method": "pm_card_visa"}
    async with paydesk.client(order["checkout_token"]) as browser:
        paydesk.sandbox.stop()
        try:
            response = await browser.post("/api/payments", json=body)
            assert response.status_code == 502
            assert response.json()["error"]["code"] == "stripe_unreachable"
        finally:
            paydesk.sandbox.start()
        # Stripe makes and confirms the PaymentIntent, but the answer never comes back
        # (twice: the SDK retries once).
        paydesk.sandbox.fail_next_requests(2, "disconnect_after")
        response = await browser.post("/api/payments", json=body)
        assert response.status_code == 502, response.text
        assert response.json()["error"]["code"] == "stripe_unreachable"
        # The retry is Stripe's first answer replayed (or the webhook came first): paid once.
        response = await browser.post("/api/payments", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "succeeded"
    intents = stripe_client.v1.payment_intents.list({"limit": 100})
    mine = [i for i in intents.data if i.metadata.to_dict().get("paydesk_order_id") == order["id"]]
    assert [i.status for i in mine] == ["succeeded"]


async def test_a_paid_order_answers_with_its_payment_and_a_foreign_order_is_a_404(
    paydesk: Paydesk,
) -> None:
    paid, other = await create_order(paydesk), await create_order(paydesk)
    async with paydesk.client(paid["checkout_token"]) as browser:
        body = {"order_id": paid["id"], "payment_method": "pm_card_visa"}
        first = await browser.post("/api/payments", json=body)
        assert first.status_code == 200
        again = await browser.post("/api/payments", json=body)
        assert again.status_code == 200
        assert (again.json()["id"], again.json()["status"]) == (first.json()["id"], "succeeded")
        foreign = await browser.post("/api/payments", json={"order_id": other["id"]})
        assert foreign.status_code == 404


async def test_a_stripe_server_error_is_a_502_and_a_bad_payment_method_a_400(
    paydesk: Paydesk,
) -> None:
    order = await create_order(paydesk)
    async with paydesk.client(order["checkout_token"]) as browser:
        paydesk.sandbox.fail_next_requests(1, "error_500")
        response = await browser.post("/api/payments", json={"order_id": order["id"]})
        assert response.status_code == 502
        assert response.json()["error"]["code"] == "stripe_api_error"
        response = await browser.post(
            "/api/payments", json={"order_id": order["id"], "payment_method": "pm_card_nope"}
        )
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert (error["type"], error["code"], error["param"]) == (
            "invalid_request_error",
            "resource_missing",
            "payment_method",
        )
