"""Three `paydesk worker` processes on PostgreSQL share one inbox: every event is applied
exactly once, by one of them, and every payment ends where its events say."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from paydesk.db import Database, new_id
from paydesk.gateway.types import EventSnapshot
from paydesk.ledger.models import LedgerEntry
from paydesk.orders.models import Order
from paydesk.payments.models import Payment
from paydesk.webhooks.inbox import InboxWriter, inbox_row
from paydesk.webhooks.models import EventStatus, InboxEvent
from tests import stripe_events as se

PAYMENTS, EVENTS_PER_PAYMENT, AMOUNT = 200, 10, 4000


def events_for(intent_id: str, start: int) -> list[dict[str, Any]]:
    refunds = [se.refund(intent_id, f"re_{intent_id}_{n}", 1000) for n in (1, 2)]
    intent = se.payment_intent
    return [
        se.event("payment_intent.created", intent(intent_id, "requires_payment_method", AMOUNT),
                 created=start),
        se.event("payment_intent.requires_action", intent(intent_id, "requires_action", AMOUNT),
                 created=start + 1),
        se.event("payment_intent.succeeded", intent(intent_id, "succeeded", AMOUNT),
                 created=start + 2),
        se.event("charge.succeeded", se.charge(intent_id, AMOUNT), created=start + 2),
        se.event("refund.created", {**refunds[0], "status": "pending"}, created=start + 3),
        se.event("refund.updated", refunds[0], created=start + 4),
        se.event("refund.created", refunds[1], created=start + 5),
        se.event("charge.refunded", se.charge(intent_id, AMOUNT, amount_refunded=2000),
                 created=start + 5),
        se.event("charge.dispute.created", se.dispute(intent_id, f"dp_{intent_id}", 2000,
                 "needs_response"), created=start + 6),
        se.event("charge.dispute.closed", se.dispute(intent_id, f"dp_{intent_id}", 2000, "won"),
                 created=start + 7),
    ]  # fmt: skip


async def seed(db: Database) -> None:
    async with db.transaction() as session:
        from paydesk.auth.repository import ApiKeyRepository

        _, key = await ApiKeyRepository(session).create("workers")
        for n in range(PAYMENTS):
            order = Order(id=new_id("ord"), currency="usd", amount=AMOUNT, customer_email="w@x.io",
                          checkout_token_hash=f"{n:064d}", api_key_id=key.id)  # fmt: skip
            session.add(order)
            intent_id = f"pi_w{n:05d}"
            session.add(Payment(id=new_id("pay"), order_id=order.id, amount=AMOUNT,
                                currency="usd", stripe_payment_intent_id=intent_id))  # fmt: skip
    writer = InboxWriter(db)
    start = int(time.time()) - 100
    rows = [
        inbox_row(
            EventSnapshot.from_stripe(event),
            se.dumps(event),
            source="webhook",
            headers="{}",
            livemode=False,
        )
        for n in range(PAYMENTS)
        for event in events_for(f"pi_w{n:05d}", start)
    ]
    await asyncio.gather(*[writer.store(row) for row in rows])
    await writer.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_three_workers_drain_two_thousand_events_exactly_once(
    database: Database, database_url: str
) -> None:
    await seed(database)
    env = {
        **os.environ,
        "PAYDESK_DATABASE_URL": database_url,
        "STRIPE_SECRET_KEY": "sk_test_workers",
        "STRIPE_API_BASE": "http://127.0.0.1:9",  # never called: --once only drains the inbox
    }
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "paydesk.cli",
            "worker",
            "--once",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    applied = []
    for worker in workers:
        out, err = await asyncio.wait_for(worker.communicate(), 240)
        assert worker.returncode == 0, err.decode()
        applied.append(int(out.split()[1]))
    total = PAYMENTS * EVENTS_PER_PAYMENT
    assert sum(applied) == total, applied
    async with database.sessions() as session:
        statuses = dict(
            (
                await session.execute(
                    select(InboxEvent.status, func.count()).group_by(InboxEvent.status)
                )
            ).all()
        )
        assert statuses == {EventStatus.PROCESSED: total}
        payments = dict(
            (
                await session.execute(select(Payment.status, func.count()).group_by(Payment.status))
            ).all()
        )
        assert payments == {"partially_refunded": PAYMENTS}
        totals = select(LedgerEntry.kind, func.count(), func.sum(LedgerEntry.amount))
        ledger = (await session.execute(totals.group_by(LedgerEntry.kind))).all()
        assert sorted(ledger) == [("charge", PAYMENTS, PAYMENTS * AMOUNT),
                                  ("refund", 2 * PAYMENTS, -2000 * PAYMENTS)]  # fmt: skip
