"""Orders off the happy path, end to end: carts that change before payment, orders left
unpaid until they expire, authorizations nobody captures, and payments that look like fraud.
paydesk over HTTP, the SDK inside it talking to a sandbox of each test's own (tests here
drop webhooks and move the sandbox's clock), and the worker's deadline and fraud steps run
by the test with the time it chooses."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import func, select

from paydesk.composition import Services, build
from paydesk.config import Settings
from paydesk.db import utcnow
from paydesk.notifications.models import Notification
from paydesk.sandbox import SandboxServer
from tests.e2e.test_bank_methods_e2e import shop_receiver
from tests.e2e.test_purchase import card, create_order
from tests.fixtures.paydesk import Paydesk

__all__ = ["shop_receiver"]  # a fixture the tests here use

ITEMS = [{"sku": "BOOK-1", "name": "A book", "unit_amount": 2500, "quantity": 2}]
MORE_ITEMS = [*ITEMS, {"sku": "PEN-1", "name": "A pen", "unit_amount": 700, "quantity": 1}]
PATIENCE = 15.0
RETURN = "https://shop.example/return"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox of the test's own: its webhooks may be dropped and its clock moved."""
    with SandboxServer() as server:
        yield server


@pytest.fixture
def paydesk_settings(paydesk_settings: Settings, listener: Any) -> Settings:
    """The shared settings, with shop webhooks to loopback allowed."""
    return dataclasses.replace(paydesk_settings, webhook_allowed_networks=("127.0.0.0/8",))


@pytest.fixture
async def shop(paydesk: Paydesk, shop_receiver: str) -> AsyncIterator[httpx.AsyncClient]:
    """The shop's backend, with a webhook endpoint registered for every event (the rows
    queued for it are what the tests count)."""
    async with paydesk.client() as client:
        answer = await client.post(
            "/api/webhook-endpoints", json={"url": shop_receiver, "events": ["*"]}
        )
        assert answer.status_code == 201, answer.text
        yield client


@pytest.fixture
async def services(paydesk_settings: Settings, paydesk: Paydesk) -> AsyncIterator[Services]:
    """paydesk's services on the test's database, as the worker builds them."""
    built = build(paydesk_settings, database=paydesk.db)
    yield built
    await built.gateway.close()


async def eventually(check: Any, what: str) -> Any:
    """`await check()` until it answers something true."""
    for _ in range(int(PATIENCE / 0.05)):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def start(paydesk: Paydesk, order: dict[str, Any]) -> dict[str, Any]:
    """The order's payment started as the checkout page starts it: a PaymentIntent, not
    confirmed yet."""
    async with paydesk.client(order["checkout_token"]) as browser:
        answer = await browser.post("/api/payments", json={"order_id": order["id"]})
    assert answer.status_code == 200, answer.text
    payment: dict[str, Any] = answer.json()
    assert payment["status"] == "pending"
    return payment


async def change(
    shop: httpx.AsyncClient, order_id: str, items: list[dict[str, Any]], key: str
) -> httpx.Response:
    return await shop.patch(
        f"/api/orders/{order_id}", json={"items": items}, headers={"Idempotency-Key": key}
    )


async def queued(paydesk: Paydesk, kind: str, **where: str) -> int:
    """How many shop webhooks of `kind` are queued (for the one endpoint)."""
    async with paydesk.db.sessions() as session:
        query = select(func.count()).select_from(Notification).where(Notification.kind == kind)
        for column, value in where.items():
            query = query.where(getattr(Notification, column) == value)
        count: int = await session.scalar(query) or 0
        return count


async def drop_webhooks(sandbox: SandboxServer, on: bool) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url) as client:
        answer = await client.post("/_sandbox/chaos/webhooks", json={"drop_rate": 1.0 if on else 0})
    assert answer.status_code == 200, answer.text


async def test_a_cart_changed_before_payment_keeps_its_payment_intent_and_is_paid_in_full(
    paydesk: Paydesk, shop: httpx.AsyncClient, stripe_client: stripe.StripeClient
) -> None:
    order = await create_order(paydesk)
    payment = await start(paydesk, order)
    intent_id = payment["stripe_payment_intent_id"]
    secret = stripe_client.v1.payment_intents.retrieve(intent_id).client_secret

    changed = await change(shop, order["id"], MORE_ITEMS, "change-1")
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["amount"], body["version"], len(body["items"])) == (5700, 2, 2)
    # The same request again is answered as before, and changes nothing more.
    again = await change(shop, order["id"], MORE_ITEMS, "change-1")
    assert again.json() == body
    intent = stripe_client.v1.payment_intents.retrieve(intent_id)
    assert (intent.amount, intent.client_secret) == (5700, secret)
    assert intent.metadata["paydesk_order_version"] == "2"

    async with paydesk.client(order["checkout_token"]) as browser:
        seen = (await browser.get(f"/api/orders/{order['id']}")).json()
        assert (seen["amount"], seen["amount_display"]) == (5700, "57.00 USD")
        paid = await browser.post(
            "/api/payments",
            json={"order_id": order["id"], "payment_method": "pm_card_visa", "return_url": RETURN},
        )
        assert paid.status_code == 200, paid.text
        assert (paid.json()["id"], paid.json()["status"]) == (payment["id"], "succeeded")
        assert (await browser.get(f"/api/orders/{order['id']}")).json()["status"] == "paid"
    intent = stripe_client.v1.payment_intents.retrieve(intent_id)
    assert (intent.status, intent.amount_received) == ("succeeded", 5700)
    listed = stripe_client.v1.payment_intents.list({"limit": 100}).data
    assert [
        i.id for i in listed if i.metadata.to_dict().get("paydesk_order_id") == order["id"]
    ] == [intent_id]
    timeline = (await shop.get(f"/api/payments/{payment['id']}")).json()["timeline"]
    assert any("50.00 USD → 57.00 USD" in (entry["detail"] or "") for entry in timeline)


async def test_an_order_cannot_change_once_confirmation_has_started_or_it_is_paid(
    paydesk: Paydesk, shop: httpx.AsyncClient, stripe_client: stripe.StripeClient
) -> None:
    order = await create_order(paydesk)
    async with paydesk.client(order["checkout_token"]) as browser:
        answer = await browser.post(
            "/api/payments",
            json={
                "order_id": order["id"],
                "payment_method": card(stripe_client, "4000002500003155"),
                "return_url": "https://shop.example/return",
            },
        )
    assert answer.json()["status"] == "requires_action"
    refused = await change(shop, order["id"], MORE_ITEMS, "late-1")
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "order_not_changeable"
    assert "requires_action" in error["message"]

    paid = await create_order(paydesk)
    async with paydesk.client(paid["checkout_token"]) as browser:
        await browser.post(
            "/api/payments",
            json={"order_id": paid["id"], "payment_method": "pm_card_visa", "return_url": RETURN},
        )
    refused = await change(shop, paid["id"], MORE_ITEMS, "late-2")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "order_not_changeable"
    # Nothing changed: not the order, not what Stripe charged.
    kept = (await shop.get(f"/api/orders/{paid['id']}")).json()
    assert (kept["amount"], kept["version"]) == (5000, 1)

    unknown = await change(shop, "ord_unknown", MORE_ITEMS, "late-3")
    assert unknown.status_code == 404
    empty = await shop.patch(f"/api/orders/{paid['id']}", json={"items": []})
    assert (empty.status_code, empty.json()["error"]["type"]) == (400, "invalid_request_error")


async def test_a_change_racing_the_confirmation_never_pays_the_order_a_wrong_amount(
    paydesk: Paydesk, shop: httpx.AsyncClient, stripe_client: stripe.StripeClient
) -> None:
    """The customer's browser confirms the PaymentIntent with Stripe.js while the shop
    changes the cart: whichever Stripe takes first decides, and the order is paid for
    exactly what it ends up costing."""
    outcomes = []
    for run in range(20):
        order = await create_order(paydesk)
        payment = await start(paydesk, order)
        intent_id = payment["stripe_payment_intent_id"]

        def confirm(intent_id: str = intent_id) -> None:
            stripe_client.v1.payment_intents.confirm(
                intent_id, {"payment_method": "pm_card_visa", "return_url": RETURN}
            )

        changed, _ = await asyncio.gather(
            change(shop, order["id"], MORE_ITEMS, f"race-{run}"), asyncio.to_thread(confirm)
        )
        assert changed.status_code in (200, 409), changed.text
        outcomes.append(changed.status_code)

        async def settled(order_id: str = order["id"]) -> dict[str, Any] | None:
            seen: dict[str, Any] = (await shop.get(f"/api/orders/{order_id}")).json()
            return seen if seen["status"] == "paid" else None

        final = await eventually(settled, f"order {order['id']} paid")
        intent = stripe_client.v1.payment_intents.retrieve(intent_id)
        assert intent.amount_received == final["amount"]
        assert final["amount"] == (5700 if changed.status_code == 200 else 5000)
        paid = (await shop.get(f"/api/payments/{payment['id']}")).json()
        assert (paid["status"], paid["amount"], paid["review_reason"]) == (
            "succeeded",
            final["amount"],
            None,
        )
        assert await queued(paydesk, "order.paid", payment_id=payment["id"]) == 1
    assert set(outcomes) <= {200, 409}


async def test_an_abandoned_order_expires_once_and_its_checkout_is_refused(
    paydesk: Paydesk,
    shop: httpx.AsyncClient,
    services: Services,
    stripe_client: stripe.StripeClient,
) -> None:
    order = await create_order(paydesk)
    payment = await start(paydesk, order)
    never_paid = await create_order(paydesk)  # no payment started at all
    later = utcnow() + timedelta(hours=25)

    assert await services.deadlines.expire_orders(now=utcnow()) == 0
    assert await services.deadlines.expire_orders(now=later) >= 2
    assert await services.deadlines.expire_orders(now=later) == 0

    intent = stripe_client.v1.payment_intents.retrieve(payment["stripe_payment_intent_id"])
    assert (intent.status, intent.cancellation_reason) == ("canceled", "abandoned")
    for each in (order, never_paid):
        seen = (await shop.get(f"/api/orders/{each['id']}")).json()
        assert seen["status"] == "expired"
        async with paydesk.client(each["checkout_token"]) as browser:
            refused = await browser.post(
                "/api/payments",
                json={
                    "order_id": each["id"],
                    "payment_method": "pm_card_visa",
                    "return_url": RETURN,
                },
            )
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "order_expired"
    assert (await change(shop, order["id"], MORE_ITEMS, "x")).json()["error"]["code"] == (
        "order_expired"
    )
    canceled = (await shop.get(f"/api/payments/{payment['id']}")).json()
    assert canceled["status"] == "canceled"
    # The payment.canceled webhook comes in too, once the sandbox's event arrives.
    await eventually(
        lambda: queued(paydesk, "payment.canceled", payment_id=payment["id"]), "payment.canceled"
    )
    assert await queued(paydesk, "order.expired", cause=f"expired:{order['id']}") == 1
    assert await queued(paydesk, "order.expired", cause=f"expired:{never_paid['id']}") == 1
    # The customer who walked away gets no e-mail of it.
    assert await queued(paydesk, "payment_canceled", payment_id=payment["id"]) == 0


async def test_a_payment_that_succeeds_as_its_order_expires_is_kept_and_flagged(
    paydesk: Paydesk,
    shop: httpx.AsyncClient,
    services: Services,
    sandbox: SandboxServer,
    stripe_client: stripe.StripeClient,
) -> None:
    """The customer's browser confirms with Stripe.js just before the worker expires the
    order, and the webhook saying so is late: the cancel finds the payment succeeded."""
    order = await create_order(paydesk)
    payment = await start(paydesk, order)
    await drop_webhooks(sandbox, True)
    stripe_client.v1.payment_intents.confirm(
        payment["stripe_payment_intent_id"],
        {"payment_method": "pm_card_visa", "return_url": RETURN},
    )
    assert await services.deadlines.expire_orders(now=utcnow() + timedelta(days=2)) == 1
    await drop_webhooks(sandbox, False)

    seen = (await shop.get(f"/api/orders/{order['id']}")).json()
    assert (seen["status"], seen["paid_after_expiry"]) == ("paid", True)
    paid = (await shop.get(f"/api/payments/{payment['id']}")).json()
    assert (paid["status"], paid["amount"]) == ("succeeded", 5000)
    ledger = (await shop.get(f"/api/payments/{payment['id']}/ledger")).json()
    assert [(e["kind"], e["amount"]) for e in ledger["entries"]] == [("charge", 5000)]
    assert await queued(paydesk, "order.expired", payment_id=payment["id"]) == 1
    assert await queued(paydesk, "order.paid_after_expiry", payment_id=payment["id"]) == 1
    assert await queued(paydesk, "order.paid", payment_id=payment["id"]) == 1
    # Running the deadlines again changes nothing.
    assert await services.deadlines.expire_orders(now=utcnow() + timedelta(days=3)) == 0
    assert await queued(paydesk, "order.paid_after_expiry", payment_id=payment["id"]) == 1


async def advance_clock(sandbox: SandboxServer, seconds: float) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url) as client:
        answer = await client.post("/_sandbox/clock/advance", json={"seconds": seconds})
    assert answer.status_code == 200, answer.text


async def authorize(paydesk: Paydesk, number: str = "pm_card_visa") -> dict[str, Any]:
    """A manual-capture order, authorized by card."""
    order = await create_order(paydesk, capture_method="manual")
    async with paydesk.client(order["checkout_token"]) as browser:
        answer = await browser.post(
            "/api/payments",
            json={"order_id": order["id"], "payment_method": number, "return_url": RETURN},
        )
    payment: dict[str, Any] = answer.json()
    assert payment["status"] == "requires_capture", payment
    return payment


@pytest.mark.parametrize(
    ("action", "intent_status", "order_status"),
    [("release", "canceled", "canceled"), ("capture", "succeeded", "paid")],
)
async def test_an_authorization_nobody_captured_is_settled_before_stripe_releases_it(
    paydesk: Paydesk,
    shop: httpx.AsyncClient,
    paydesk_settings: Settings,
    sandbox: SandboxServer,
    stripe_client: stripe.StripeClient,
    action: str,
    intent_status: str,
    order_status: str,
) -> None:
    settings = dataclasses.replace(paydesk_settings, uncaptured_action=action)
    deadlines = build(settings, database=paydesk.db)
    try:
        payment = await authorize(paydesk)
        soon = utcnow() + timedelta(days=5, minutes=1)
        assert [p.id for p in await deadlines.deadlines.lapsing(now=soon)] == [payment["id"]]
        assert await deadlines.deadlines.lapse_authorizations(now=soon) == 0
        await advance_clock(sandbox, 6 * 86_400 + 60)
        later = utcnow() + timedelta(days=6, minutes=1)
        assert await deadlines.deadlines.lapse_authorizations(now=later) == 1
        assert await deadlines.deadlines.lapse_authorizations(now=later) == 0
    finally:
        await deadlines.gateway.close()
    intent = stripe_client.v1.payment_intents.retrieve(payment["stripe_payment_intent_id"])
    assert intent.status == intent_status
    settled = (await shop.get(f"/api/payments/{payment['id']}")).json()
    assert settled["timeline"][-1]["cause"] == "deadline"
    order = (await shop.get(f"/api/orders/{settled['order_id']}")).json()
    assert order["status"] == order_status
    # A day later at Stripe nothing more happens to it.
    await advance_clock(sandbox, 2 * 86_400)
    assert stripe_client.v1.payment_intents.retrieve(intent.id).status == intent_status


async def test_an_authorization_stripe_lets_lapse_cancels_the_order_and_tells_the_shop(
    paydesk: Paydesk,
    shop: httpx.AsyncClient,
    services: Services,
    paydesk_settings: Settings,
    sandbox: SandboxServer,
) -> None:
    payment = await authorize(paydesk)
    # Left to Stripe, the dashboard warns a day before Stripe's seven days end.
    left = build(
        dataclasses.replace(paydesk_settings, uncaptured_action="none"), database=paydesk.db
    )
    try:
        assert await left.deadlines.lapsing(now=utcnow() + timedelta(days=5, hours=23)) == []
        warned = await left.deadlines.lapsing(now=utcnow() + timedelta(days=6, minutes=1))
        assert [p.id for p in warned] == [payment["id"]]
        assert await left.deadlines.lapse_authorizations(now=utcnow() + timedelta(days=8)) == 0
    finally:
        await left.gateway.close()
    await advance_clock(sandbox, 7 * 86_400 + 60)

    async def canceled() -> dict[str, Any] | None:
        seen: dict[str, Any] = (await shop.get(f"/api/payments/{payment['id']}")).json()
        return seen if seen["status"] == "canceled" else None

    seen = await eventually(canceled, "the lapsed authorization canceled")
    assert seen["cancellation_reason"] == "automatic"
    order = (await shop.get(f"/api/orders/{seen['order_id']}")).json()
    assert order["status"] == "canceled"
    await eventually(
        lambda: queued(paydesk, "payment.canceled", payment_id=payment["id"]), "payment.canceled"
    )
    async with paydesk.db.sessions() as session:
        body = await session.scalar(
            select(Notification.payload).where(
                Notification.kind == "payment.canceled", Notification.payment_id == payment["id"]
            )
        )
    assert body is not None
    assert '"cancellation_reason":"automatic"' in body
    assert await services.deadlines.lapse_authorizations(now=utcnow() + timedelta(days=8)) == 0


async def test_radar_risk_levels_of_stripes_test_cards_are_recorded(
    paydesk: Paydesk, shop: httpx.AsyncClient, stripe_client: stripe.StripeClient
) -> None:
    for number, status, level, outcome in [
        ("4242424242424242", "succeeded", "normal", "authorized"),
        ("4000000000009235", "succeeded", "elevated", "manual_review"),
        ("4000000000004954", "failed", "highest", "blocked"),
        ("4100000000000019", "failed", "highest", "blocked"),
    ]:
        order = await create_order(paydesk)
        async with paydesk.client(order["checkout_token"]) as browser:
            answer = await browser.post(
                "/api/payments",
                json={
                    "order_id": order["id"],
                    "payment_method": card(stripe_client, number),
                    "return_url": RETURN,
                },
            )
            assert answer.status_code == (200 if status == "succeeded" else 402), answer.text
            listed = (await shop.get("/api/payments", params={"order_id": order["id"]})).json()
            payment_id = listed["data"][0]["id"]
            # The customer's browser is not told what Radar thinks.
            assert (await browser.get(f"/api/payments/{payment_id}")).json()["fraud"] is None

        async def recorded(
            payment_id: str = payment_id, status: str = status
        ) -> dict[str, Any] | None:
            seen: dict[str, Any] = (await shop.get(f"/api/payments/{payment_id}")).json()
            return seen if seen["fraud"] and seen["status"] == status else None

        seen = await eventually(recorded, f"the outcome of {number}")
        assert (seen["fraud"]["risk_level"], seen["fraud"]["outcome_type"]) == (level, outcome)
        assert isinstance(seen["fraud"]["risk_score"], int)


async def warned_payment(paydesk: Paydesk, stripe_client: stripe.StripeClient) -> dict[str, Any]:
    """A payment with the card Stripe answers with an early fraud warning, once paydesk has
    recorded the warning."""
    order = await create_order(paydesk)
    async with paydesk.client(order["checkout_token"]) as browser:
        answer = await browser.post(
            "/api/payments",
            json={
                "order_id": order["id"],
                "payment_method": card(stripe_client, "4000000000005423"),
                "return_url": RETURN,
            },
        )
    assert answer.json()["status"] == "succeeded", answer.text
    return answer.json()  # type: ignore[no-any-return]


async def fraud_warning_of(shop: httpx.AsyncClient, payment_id: str) -> dict[str, Any]:
    async def flagged() -> dict[str, Any] | None:
        seen: dict[str, Any] = (await shop.get(f"/api/payments/{payment_id}")).json()
        return seen if seen["fraud"] and seen["fraud"]["early_fraud_warning"] else None

    found: dict[str, Any] = await eventually(flagged, f"payment {payment_id} flagged")
    return found


async def test_an_early_fraud_warning_is_refunded_once_however_often_it_is_told(
    paydesk: Paydesk,
    shop: httpx.AsyncClient,
    paydesk_settings: Settings,
    sandbox: SandboxServer,
    stripe_client: stripe.StripeClient,
) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url) as client:
        chaos = await client.post(
            "/_sandbox/chaos/webhooks", json={"next_deliveries": 20, "mode": "duplicate"}
        )
        assert chaos.status_code == 200, chaos.text
    payment = await warned_payment(paydesk, stripe_client)
    await fraud_warning_of(shop, payment["id"])
    settings = dataclasses.replace(paydesk_settings, efw_auto_refund_max=5000)
    desks = [build(settings, database=paydesk.db) for _ in range(2)]
    try:
        # Two workers at once, then again: one refund.
        await asyncio.gather(*(desk.fraud.act() for desk in desks))
        await desks[0].fraud.act()
        # Every event of the payment applied again, as an operator's replay does it.
        intent_id = payment["stripe_payment_intent_id"]
        events = [
            e.id
            for e in stripe_client.v1.events.list({"limit": 100}).data
            if intent_id in str(e.data.object)
        ]
        assert len(events) >= 4

        async def all_stored() -> bool:
            return all([await desks[0].events.get(event_id) for event_id in events])

        # The refund's own events are still on their way: replay once every one is here.
        await eventually(all_stored, "every event of the payment in the inbox")
        assert await desks[0].events.replay(event_ids=events) == len(events)
        await desks[0].processor.drain()
        await desks[1].fraud.act()
    finally:
        for desk in desks:
            await desk.gateway.close()
    refunds = stripe_client.v1.refunds.list({"payment_intent": intent_id}).data
    assert [(r.amount, r.reason) for r in refunds] == [(5000, "fraudulent")]

    async def refunded() -> bool:
        seen = (await shop.get(f"/api/payments/{payment['id']}")).json()
        return bool(seen["status"] == "refunded")

    await eventually(refunded, "the warned payment refunded")
    assert await queued(paydesk, "payment.fraud_warning", payment_id=payment["id"]) == 1
    assert await queued(paydesk, "payment.refunded", payment_id=payment["id"]) == 1


async def test_an_early_fraud_warning_above_the_threshold_is_left_to_the_operator(
    paydesk: Paydesk,
    shop: httpx.AsyncClient,
    paydesk_settings: Settings,
    stripe_client: stripe.StripeClient,
) -> None:
    payment = await warned_payment(paydesk, stripe_client)
    await fraud_warning_of(shop, payment["id"])
    desk = build(
        dataclasses.replace(paydesk_settings, efw_auto_refund_max=4999), database=paydesk.db
    )
    try:
        await desk.fraud.act()
        await desk.fraud.act()
    finally:
        await desk.gateway.close()
    intent_id = payment["stripe_payment_intent_id"]
    assert stripe_client.v1.refunds.list({"payment_intent": intent_id}).data == []
    seen = (await shop.get(f"/api/payments/{payment['id']}")).json()
    assert seen["status"] == "succeeded"
    assert await queued(paydesk, "payment.fraud_warning", payment_id=payment["id"]) == 1
