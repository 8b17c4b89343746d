"""A Stripe event names only the second it was created in; paydesk reads its own answers to
the millisecond. An event of the same second as paydesk's own check may come after it."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select

from paydesk.notifications.models import Notification
from paydesk.payments.models import Payment, PaymentFact
from tests import stripe_events as se
from tests.integration.conftest import Api


def authentication_failed(intent_id: str, amount: int) -> dict[str, Any]:
    return se.payment_intent(
        intent_id,
        "requires_payment_method",
        amount,
        last_payment_error={
            "code": "payment_intent_authentication_failure",
            "message": "We are unable to authenticate your payment method.",
        },
    )


async def deliver(api: Api, *events: dict[str, Any]) -> None:
    for event in events:
        response = await api.post_event(event)
        assert response.status_code == 200, response.text
    await api.processor.drain()


async def state(api: Api, order: dict[str, Any], payment: dict[str, Any]) -> tuple[str, str]:
    async with api.db.sessions() as session:
        row = await session.get(Payment, payment["id"])
    assert row is not None
    order_now = (await api.client.get(f"/api/orders/{order['id']}")).json()
    return row.status, order_now["status"]


async def failure_emails(api: Api, payment: dict[str, Any]) -> int:
    async with api.db.sessions() as session:
        count = await session.scalar(
            select(func.count()).where(
                Notification.payment_id == payment["id"], Notification.kind == "payment_failed"
            )
        )
    return count or 0


async def test_a_3ds_failure_in_the_second_of_our_check_fails_the_payment(api: Api) -> None:
    order, payment = await api.paid_order()
    pi, amount = payment["stripe_payment_intent_id"], order["amount"]
    # The customer confirms at Stripe, which asks for 3-D Secure; paydesk checks.
    api.stripe.intents[pi] = replace(
        api.stripe.intents[pi],
        status="requires_action",
        next_action_url="https://hooks.stripe.test/3ds",
    )
    verified = await api.client.post("/api/payments/verify", json={"payment_id": payment["id"]})
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "requires_action"
    async with api.db.sessions() as session:
        checked_at = await session.scalar(
            select(func.max(PaymentFact.observed_at)).where(PaymentFact.payment_id == payment["id"])
        )
    assert checked_at is not None
    # The authentication fails a moment later, within the second paydesk checked in.
    failed = authentication_failed(pi, amount)
    await deliver(
        api, se.event("payment_intent.payment_failed", failed, created=checked_at // 1000)
    )
    assert await state(api, order, payment) == ("failed", "payment_failed")
    assert await failure_emails(api, payment) == 1


@pytest.mark.parametrize("failure_first", [False, True])
async def test_two_events_of_one_second_follow_stripes_order(api: Api, failure_first: bool) -> None:
    order, payment = await api.paid_order()
    pi, amount = payment["stripe_payment_intent_id"], order["amount"]
    # The customer takes a few seconds over the challenge, which fails: Stripe creates both
    # events in the same second.
    second = int(time.time()) + 5
    action = se.event(
        "payment_intent.requires_action",
        se.payment_intent(pi, "requires_action", amount),
        created=second,
    )
    failed = se.event(
        "payment_intent.payment_failed", authentication_failed(pi, amount), created=second
    )
    await deliver(api, *([failed, action] if failure_first else [action, failed]))
    assert await state(api, order, payment) == ("failed", "payment_failed")
    assert await failure_emails(api, payment) == 1
