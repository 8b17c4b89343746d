from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from sqlalchemy import func, select

from paydesk.ledger.models import LedgerEntry
from paydesk.payments.models import Payment
from tests import stripe_events as se
from tests.integration.conftest import Api


async def pay(api: Api, order: dict[str, Any], payment_method: str, **headers: str) -> Any:
    return await api.client.post(
        "/api/payments",
        json={"order_id": order["id"], "payment_method": payment_method},
        headers=headers,
    )


async def order_status(api: Api, order: dict[str, Any]) -> str:
    response = await api.client.get(f"/api/orders/{order['id']}")
    status: str = response.json()["status"]
    return status


async def test_a_card_that_succeeds_pays_the_order(api: Api) -> None:
    order = await api.create_order()
    response = await pay(api, order, "pm_card_visa")
    assert response.status_code == 200, response.text
    payment = response.json()
    assert payment["status"] == "succeeded"
    assert (payment["amount"], payment["currency"]) == (order["amount"], "usd")
    assert [(e["from_status"], e["to_status"]) for e in payment["timeline"]] == [
        (None, "pending"),
        ("pending", "succeeded"),
    ]
    assert await order_status(api, order) == "paid"
    async with api.db.sessions() as session:
        entries = (await session.scalars(select(LedgerEntry))).all()
    assert [(e.kind, e.amount, e.currency) for e in entries] == [("charge", order["amount"], "usd")]


async def test_a_decline_then_another_card_on_the_same_intent(api: Api) -> None:
    order = await api.create_order()
    response = await pay(api, order, "pm_card_chargeDeclinedInsufficientFunds")
    assert response.status_code == 402
    error = response.json()["error"]
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error",
        "card_declined",
        "insufficient_funds",
    )
    assert await order_status(api, order) == "payment_failed"
    response = await pay(api, order, "pm_card_visa")
    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"
    assert api.stripe.calls == ["create_and_confirm", "confirm"]  # one PaymentIntent
    assert await order_status(api, order) == "paid"


async def test_a_paid_order_answers_with_the_payment_that_paid_it(api: Api) -> None:
    """A retry whose first answer was lost (or that a webhook overtook) gets the shop's own
    successful payment back, and Stripe is asked nothing: the order is never paid twice."""
    order = await api.create_order()
    first = await pay(api, order, "pm_card_visa")
    assert first.status_code == 200
    calls = list(api.stripe.calls)
    again = await pay(api, order, "pm_card_mastercard")
    assert again.status_code == 200, again.text
    assert (again.json()["id"], again.json()["status"]) == (first.json()["id"], "succeeded")
    assert api.stripe.calls == calls


async def test_client_cannot_choose_the_amount(api: Api) -> None:
    order = await api.create_order()
    for field, value in [("amount", 1), ("currency", "jpy"), ("status", "succeeded")]:
        response = await api.client.post(
            "/api/payments", json={"order_id": order["id"], field: value}
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "server_side_field"
        assert response.json()["error"]["param"] == field
    assert api.stripe.intents == {}


async def test_twenty_concurrent_starts_make_one_payment_and_one_intent(api: Api) -> None:
    order = await api.create_order()
    token = {"Authorization": f"Bearer {order['checkout_token']}"}
    responses = await asyncio.gather(
        *[
            api.client.post("/api/payments", json={"order_id": order["id"]}, headers=token)
            for _ in range(20)
        ]
    )
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.json()["stripe_payment_intent_id"] for r in responses}) == 1
    assert len(api.stripe.intents) == 1
    async with api.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Payment)) == 1


async def test_another_orders_payment_is_not_found_with_a_checkout_token(api: Api) -> None:
    mine, other = await api.create_order(), await api.create_order()
    theirs = (await api.client.post("/api/payments", json={"order_id": other["id"]})).json()
    token = {"Authorization": f"Bearer {mine['checkout_token']}"}
    response = await api.client.post("/api/payments", json={"order_id": other["id"]}, headers=token)
    assert response.status_code == 404
    response = await api.client.get(f"/api/payments/{theirs['id']}", headers=token)
    assert response.status_code == 404
    response = await api.client.post(
        "/api/payments/verify", json={"payment_id": theirs["id"]}, headers=token
    )
    assert response.status_code == 404
    assert (await api.client.get("/api/payments", headers=token)).status_code == 403


async def test_stripe_unreachable_is_a_502_and_the_retry_makes_no_second_intent(api: Api) -> None:
    order = await api.create_order()
    api.stripe.reachable = False
    response = await pay(api, order, "pm_card_visa")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "stripe_unreachable"
    api.stripe.reachable = True
    response = await pay(api, order, "pm_card_visa")
    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"
    assert len(api.stripe.intents) == 1


async def test_verify_applies_once(api: Api) -> None:
    order = await api.create_order()
    payment = (await pay(api, order, "pm_card_visa")).json()
    first = await api.client.post("/api/payments/verify", json={"payment_id": payment["id"]})
    second = await api.client.post("/api/payments/verify", json={"payment_id": payment["id"]})
    assert first.status_code == second.status_code == 200
    assert first.json()["status"] == second.json()["status"] == "succeeded"
    assert first.json()["timeline"] == second.json()["timeline"] == payment["timeline"]
    async with api.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(LedgerEntry)) == 1


async def test_idempotency_key_replays_and_refuses_another_body(api: Api) -> None:
    order = await api.create_order()
    body = {"order_id": order["id"], "payment_method": "pm_card_chargeDeclined"}
    key = {"Idempotency-Key": "checkout-42"}
    first = await api.client.post("/api/payments", json=body, headers=key)
    again = await api.client.post("/api/payments", json=body, headers=key)
    assert first.status_code == again.status_code == 402
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert api.stripe.calls.count("create_and_confirm") == 1
    other = await api.client.post(
        "/api/payments", json={**body, "payment_method": "pm_card_visa"}, headers=key
    )
    assert other.status_code == 409
    assert other.json()["error"]["type"] == "idempotency_error"


async def test_list_filters_and_pages(api: Api) -> None:
    ids = []
    for _ in range(3):
        order = await api.create_order()
        ids.append((await pay(api, order, "pm_card_visa")).json()["id"])
    failed_order = await api.create_order()
    await pay(api, failed_order, "pm_card_chargeDeclined")
    page = (await api.client.get("/api/payments", params={"limit": 2})).json()
    assert len(page["data"]) == 2
    rest = (
        await api.client.get("/api/payments", params={"limit": 2, "cursor": page["next_cursor"]})
    ).json()
    seen = [p["id"] for p in page["data"] + rest["data"]]
    assert len(seen) == len(set(seen)) == 4
    assert rest["next_cursor"] is None
    failed = (await api.client.get("/api/payments", params={"status": "failed"})).json()
    assert [p["order_id"] for p in failed["data"]] == [failed_order["id"]]
    by_order = (await api.client.get("/api/payments", params={"order_id": order["id"]})).json()
    assert [p["id"] for p in by_order["data"]] == [ids[-1]]
    assert by_order["data"][0]["timeline"]


async def test_an_intent_for_another_amount_never_pays_the_order(api: Api) -> None:
    order = await api.create_order()
    payment = (await api.client.post("/api/payments", json={"order_id": order["id"]})).json()
    intent_id = payment["stripe_payment_intent_id"]
    api.stripe.intents[intent_id] = replace(
        api.stripe.intents[intent_id], status="succeeded", amount=1, amount_received=1
    )
    verified = await api.client.post("/api/payments/verify", json={"payment_id": payment["id"]})
    assert verified.status_code == 200
    assert verified.json()["status"] == "succeeded"
    assert "amount 1 differs" in verified.json()["review_reason"]
    assert await order_status(api, order) == "pending_payment"


async def test_openapi_describes_the_api(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    assert {"/api/orders", "/api/payments", "/api/payments/verify"} <= set(spec["paths"])
    assert (await api.client.get("/docs")).status_code == 200


async def test_the_same_idempotency_key_at_once_runs_the_request_once(api: Api) -> None:
    order = await api.create_order()
    body = {"order_id": order["id"], "payment_method": "pm_card_visa"}
    key = {"Idempotency-Key": "double-click"}
    answers = await asyncio.gather(
        *[api.client.post("/api/payments", json=body, headers=key) for _ in range(5)]
    )
    codes = sorted(a.status_code for a in answers)
    assert codes.count(200) >= 1
    assert set(codes) <= {200, 409}
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["error"]["code"] == "idempotency_key_in_use"
    assert api.stripe.calls.count("create_and_confirm") == 1
    replay = await api.client.post("/api/payments", json=body, headers=key)
    assert replay.headers["idempotent-replayed"] == "true"


async def test_a_payment_method_stripe_does_not_know_is_the_callers_400(api: Api) -> None:
    order = await api.create_order()
    response = await pay(api, order, "pm_does_not_exist")
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "resource_missing",
        "payment_method",
    )
    # Nothing was decided: another card pays the order.
    assert (await pay(api, order, "pm_card_visa")).json()["status"] == "succeeded"


async def test_a_retry_after_a_502_finds_the_payment_a_webhook_settled_meanwhile(api: Api) -> None:
    """The first request's answer is lost (502); Stripe's success arrives by webhook; the
    shop retries with the same Idempotency-Key and gets its successful payment, not a 409."""
    order, payment = await api.paid_order()
    intent_id = payment["stripe_payment_intent_id"]
    key = {"Idempotency-Key": "pay-once"}
    api.stripe.reachable = False
    lost = await pay(api, order, "pm_card_visa", **key)
    assert lost.status_code == 502
    succeeded = se.payment_intent(intent_id, "succeeded", order["amount"])
    assert (
        await api.post_event(se.event("payment_intent.succeeded", succeeded))
    ).status_code == 200
    await api.processor.drain()
    api.stripe.reachable = True
    retried = await pay(api, order, "pm_card_visa", **key)
    assert retried.status_code == 200, retried.text
    assert (retried.json()["id"], retried.json()["status"]) == (payment["id"], "succeeded")


async def test_a_decline_is_forgotten_by_the_payment_once_another_card_pays(api: Api) -> None:
    """Stripe clears `last_payment_error` when a later attempt succeeds; the timeline keeps
    the decline."""
    order = await api.create_order()
    declined = await pay(api, order, "pm_card_chargeDeclinedInsufficientFunds")
    assert declined.status_code == 402
    failed = (await api.client.get(f"/api/payments?order_id={order['id']}")).json()["data"][0]
    assert failed["last_error"]["code"] == "insufficient_funds"
    paid = (await pay(api, order, "pm_card_visa")).json()
    assert (paid["status"], paid["last_error"]) == ("succeeded", None)
    [to_failed] = [e for e in paid["timeline"] if e["to_status"] == "failed"]
    assert "insufficient_funds" in to_failed["detail"]
