"""What a worker leaves to others on PostgreSQL: events of a payment another transaction
holds, and events that an older event of their PaymentIntent, held by another worker, must
precede. Either stays pending with no attempt counted, and is applied on a later pass."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from paydesk.webhooks.models import EventStatus, InboxEvent
from tests import stripe_events as se
from tests.integration.conftest import Api


async def status_of(api: Api, event_id: str) -> tuple[str, int]:
    async with api.db.sessions() as session:
        row = await session.get(InboxEvent, event_id)
        assert row is not None
        return row.status, row.attempts


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_busy_payment_s_events_wait_without_an_attempt(api: Api) -> None:
    order, payment = await api.paid_order()
    pi, amount = payment["stripe_payment_intent_id"], order["amount"]
    event = se.event("payment_intent.succeeded", se.payment_intent(pi, "succeeded", amount))
    assert (await api.post_event(event)).status_code == 200
    async with api.db.engine.connect() as holder:
        await holder.execute(
            text("SELECT id FROM payments WHERE id = :id FOR UPDATE"), {"id": payment["id"]}
        )
        assert await api.processor.drain() == 0
        assert await status_of(api, event["id"]) == (EventStatus.PENDING, 0)
        await holder.rollback()
    assert await api.processor.drain() == 1
    assert await status_of(api, event["id"]) == (EventStatus.PROCESSED, 0)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_payment_s_later_event_waits_for_the_earlier_one_another_worker_holds(
    api: Api,
) -> None:
    order, payment = await api.paid_order()
    pi, amount = payment["stripe_payment_intent_id"], order["amount"]
    soon = int(time.time()) + 5  # after the payment's own facts, on Stripe's clock
    earlier = se.event(
        "payment_intent.processing", se.payment_intent(pi, "processing", amount), created=soon
    )
    later = se.event(
        "payment_intent.succeeded", se.payment_intent(pi, "succeeded", amount), created=soon + 1
    )
    other_order, other_payment = await api.paid_order()
    other = se.event(
        "payment_intent.succeeded",
        se.payment_intent(
            other_payment["stripe_payment_intent_id"], "succeeded", other_order["amount"]
        ),
        created=soon + 2,
    )
    for event in (earlier, later, other):
        assert (await api.post_event(event)).status_code == 200
    async with api.db.engine.connect() as other_worker:
        await other_worker.execute(
            text("SELECT id FROM inbox_events WHERE id = :id FOR UPDATE"), {"id": earlier["id"]}
        )
        # Only the other payment's event is applied; the later one waits for the earlier.
        assert await api.processor.drain() == 1
        assert await status_of(api, later["id"]) == (EventStatus.PENDING, 0)
        assert await status_of(api, other["id"]) == (EventStatus.PROCESSED, 0)
        await other_worker.rollback()
    assert await api.processor.drain() == 2
    response = await api.client.get(f"/api/payments/{payment['id']}")
    assert response.json()["status"] == "succeeded"
    moves = [(e["from_status"], e["to_status"]) for e in response.json()["timeline"]]
    assert ("processing", "succeeded") in moves, moves
