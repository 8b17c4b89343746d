"""The inbox worker: every event applied exactly once, in any order, with its effects."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from paydesk.ledger.models import LedgerEntry
from paydesk.payments import service as payments_service
from paydesk.payments.models import Payment, PaymentEvent
from paydesk.retry import RetryPolicy
from paydesk.webhooks.models import EventStatus, InboxEvent
from tests import stripe_events as se
from tests.integration.conftest import Api


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


async def ledger(api: Api, payment: dict[str, Any]) -> list[tuple[str, int]]:
    async with api.db.sessions() as session:
        rows = await session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.payment_id == payment["id"])
            .order_by(LedgerEntry.id)
        )
        return [(e.kind, e.amount) for e in rows]


async def inbox_status(api: Api, event: dict[str, Any]) -> InboxEvent:
    async with api.db.sessions() as session:
        row = await session.get(InboxEvent, event["id"])
    assert row is not None
    return row


async def test_succeeded_pays_the_order_and_the_timeline_names_the_event(api: Api) -> None:
    order, payment = await api.paid_order()
    pi, amount = payment["stripe_payment_intent_id"], order["amount"]
    event = se.event("payment_intent.succeeded", se.payment_intent(pi, "succeeded", amount))
    await deliver(api, event)
    assert await state(api, order, payment) == ("succeeded", "paid")
    timeline = (await api.client.get(f"/api/payments/{payment['id']}")).json()["timeline"]
    assert timeline[-1]["stripe_event_id"] == event["id"]
    assert timeline[-1]["cause"] == "webhook"
    assert await ledger(api, payment) == [("charge", amount)]
    assert (await inbox_status(api, event)).status == EventStatus.PROCESSED


async def test_fifty_concurrent_deliveries_apply_once(api: Api) -> None:
    order, payment = await api.paid_order()
    pi, amount = payment["stripe_payment_intent_id"], order["amount"]
    event = se.event("payment_intent.succeeded", se.payment_intent(pi, "succeeded", amount))
    responses = await asyncio.gather(*[api.post_event(event) for _ in range(50)])
    assert {r.status_code for r in responses} == {200}
    assert await api.processor.drain() == 1
    assert await ledger(api, payment) == [("charge", amount)]
    async with api.db.sessions() as session:
        changes = await session.scalar(
            select(func.count()).where(PaymentEvent.stripe_event_id == event["id"])
        )
    assert changes == 1


async def test_a_refund_before_the_success_ends_refunded(api: Api) -> None:
    order, payment = await api.paid_order()
    pi, amount = payment["stripe_payment_intent_id"], order["amount"]
    now = int(time.time())
    await deliver(
        api,
        se.event("refund.created", se.refund(pi, "re_1", amount), created=now + 5),
        se.event(
            "payment_intent.succeeded", se.payment_intent(pi, "succeeded", amount), created=now
        ),
        se.event("charge.succeeded", se.charge(pi, amount), created=now),
    )
    assert await state(api, order, payment) == ("refunded", "refunded")
    assert sorted(await ledger(api, payment)) == [("charge", amount), ("refund", -amount)]


async def test_payment_failed_after_succeeded_changes_nothing(api: Api) -> None:
    order, payment = await api.paid_order()
    pi, amount = payment["stripe_payment_intent_id"], order["amount"]
    now = int(time.time())
    failed = se.payment_intent(
        pi,
        "requires_payment_method",
        amount,
        last_payment_error={"code": "card_declined", "decline_code": "generic_decline",
                            "message": "Your card was declined."},
    )  # fmt: skip
    await deliver(
        api,
        se.event(
            "payment_intent.succeeded", se.payment_intent(pi, "succeeded", amount), created=now
        ),
        se.event("payment_intent.payment_failed", failed, created=now + 10),
    )
    assert await state(api, order, payment) == ("succeeded", "paid")


async def test_partial_refund_then_dispute_lost_and_the_ledger(api: Api) -> None:
    order, payment = await api.paid_order()
    pi, amount = payment["stripe_payment_intent_id"], order["amount"]
    await deliver(
        api,
        se.event("charge.succeeded", se.charge(pi, amount)),
        se.event("refund.updated", se.refund(pi, "re_part", 1000)),
    )
    assert await state(api, order, payment) == ("partially_refunded", "partially_refunded")
    rest = amount - 1000
    await deliver(
        api,
        se.event("charge.dispute.created", se.dispute(pi, "dp_1", rest, "needs_response")),
        se.event("charge.dispute.funds_withdrawn", se.dispute(pi, "dp_1", rest, "needs_response")),
    )
    assert await state(api, order, payment) == ("disputed", "disputed")
    await deliver(api, se.event("charge.dispute.closed", se.dispute(pi, "dp_1", rest, "lost")))
    assert await state(api, order, payment) == ("disputed", "disputed")
    assert await ledger(api, payment) == [
        ("charge", amount),
        ("refund", -1000),
        ("dispute_withdrawal", -rest),
        ("dispute_fee", -1500),
    ]


async def test_a_dispute_won_returns_the_payment_and_the_money(api: Api) -> None:
    order, payment = await api.paid_order()
    pi, amount = payment["stripe_payment_intent_id"], order["amount"]
    now = int(time.time())
    await deliver(
        api,
        se.event("charge.succeeded", se.charge(pi, amount), created=now),
        se.event("charge.dispute.funds_withdrawn", se.dispute(pi, "dp_2", amount, "needs_response"),
                 created=now + 1),
        se.event("charge.dispute.closed", se.dispute(pi, "dp_2", amount, "won"), created=now + 2),
        se.event("charge.dispute.funds_reinstated", se.dispute(pi, "dp_2", amount, "won"),
                 created=now + 2),
    )  # fmt: skip
    assert await state(api, order, payment) == ("succeeded", "paid")
    assert sum(a for _, a in await ledger(api, payment) if _ != "dispute_fee") == amount


async def test_an_event_for_an_unknown_payment_is_retried_then_dead_and_flagged(api: Api) -> None:
    event = se.event("charge.succeeded", se.charge("pi_nobody", 1000))
    assert (await api.post_event(event)).status_code == 200
    patient = api.processor.with_retry(RetryPolicy(max_attempts=3, base_delay_seconds=60))
    assert await patient.drain() == 1
    row = await inbox_status(api, event)
    assert (row.status, row.attempts) == (EventStatus.FAILED, 1)
    assert row.next_attempt_at.timestamp() > time.time() + 25
    assert "PaymentNotFoundYet" in (row.last_error or "")
    assert row.last_traceback is None  # nothing crashed: the payment is not there yet
    await api.services.events.replay(event_ids=[event["id"]])
    await api.processor.drain()  # retries at once, up to its three attempts
    row = await inbox_status(api, event)
    assert (row.status, row.attempts) == (EventStatus.DEAD, 3)
    assert "never resolved" in (row.flag or "")
    assert await api.services.events.replay(failed=True) == 1
    assert (await inbox_status(api, event)).status == EventStatus.PENDING


async def test_an_event_that_overtakes_our_own_record_is_linked_by_metadata(api: Api) -> None:
    order = await api.create_order()
    api.stripe.reachable = False
    assert (
        await api.client.post("/api/payments", json={"order_id": order["id"]})
    ).status_code == 502
    async with api.db.sessions() as session:
        payment_id = await session.scalar(select(Payment.id).where(Payment.order_id == order["id"]))
    intent = se.payment_intent(
        "pi_made_before_we_knew", "succeeded", order["amount"],
        metadata={"paydesk_payment_id": payment_id},
    )  # fmt: skip
    await deliver(api, se.event("payment_intent.succeeded", intent))
    assert await state(api, order, {"id": payment_id}) == ("succeeded", "paid")


async def test_a_payment_intent_paydesk_did_not_make_is_ignored(api: Api) -> None:
    event = se.event("payment_intent.succeeded", se.payment_intent("pi_other_app", "succeeded", 99))
    await deliver(api, event)
    row = await inbox_status(api, event)
    assert row.status == EventStatus.IGNORED
    assert "not created by paydesk" in (row.last_error or "")


async def test_a_failing_handler_rolls_back_its_effects(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    order, payment = await api.paid_order()
    pi, amount = payment["stripe_payment_intent_id"], order["amount"]
    real = payments_service.record_news

    async def record_then_fail(*args: Any, **kwargs: Any) -> Any:
        await real(*args, **kwargs)
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(payments_service, "record_news", record_then_fail)
    event = se.event("payment_intent.succeeded", se.payment_intent(pi, "succeeded", amount))
    await deliver(api, event)
    assert await state(api, order, payment) == ("pending", "pending_payment")
    assert await ledger(api, payment) == []
    row = await inbox_status(api, event)
    assert (row.status, row.last_error) == (EventStatus.DEAD, "RuntimeError: the disk is full")
    assert "Traceback (most recent call last)" in (row.last_traceback or "")
    monkeypatch.setattr(payments_service, "record_news", real)
    await api.services.events.replay(event_ids=[event["id"]])
    await api.processor.drain()
    assert await state(api, order, payment) == ("succeeded", "paid")


async def test_a_worker_stopped_between_claim_and_commit_leaves_it_to_the_next(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    order, payment = await api.paid_order()
    pi, amount = payment["stripe_payment_intent_id"], order["amount"]
    event = se.event("payment_intent.succeeded", se.payment_intent(pi, "succeeded", amount))
    assert (await api.post_event(event)).status_code == 200
    real = payments_service.record_news
    applied = asyncio.Event()

    async def apply_then_hang(*args: Any, **kwargs: Any) -> Any:
        result = await real(*args, **kwargs)
        applied.set()
        await asyncio.sleep(3600)
        return result

    monkeypatch.setattr(payments_service, "record_news", apply_then_hang)
    doomed = asyncio.create_task(api.processor.process_batch())
    await asyncio.wait_for(applied.wait(), 10)
    doomed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    monkeypatch.setattr(payments_service, "record_news", real)
    assert await api.processor.drain() == 1
    assert await state(api, order, payment) == ("succeeded", "paid")
    assert await ledger(api, payment) == [("charge", amount)]
    assert (await inbox_status(api, event)).status == EventStatus.PROCESSED


async def test_backoff_grows_and_stays_bounded() -> None:
    policy = RetryPolicy(base_delay_seconds=2, max_delay_seconds=60)
    assert 1 <= policy.delay(1) <= 2
    assert 8 <= policy.delay(4) <= 16
    assert 30 <= policy.delay(20) <= 60
