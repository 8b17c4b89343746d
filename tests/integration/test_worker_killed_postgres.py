"""A `paydesk worker` process killed (SIGKILL) after it claimed an event and before it
committed: PostgreSQL rolls its transaction back, and the next worker applies the event
exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import pytest
from sqlalchemy import func, select, text

from paydesk.ledger.models import LedgerEntry
from paydesk.webhooks.models import EventStatus, InboxEvent
from tests import stripe_events as se
from tests.integration.conftest import Api


async def wait_for_lock_waiter(api: Api, worker: asyncio.subprocess.Process) -> None:
    """Until some other session waits on a row lock: the worker, stuck mid-transaction."""
    deadline = time.monotonic() + 30
    async with api.db.engine.connect() as probe:
        while time.monotonic() < deadline:
            waiting = await probe.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            )
            await probe.commit()  # the statistics are a snapshot per transaction
            if waiting:
                return
            if worker.returncode is not None:
                out, err = await worker.communicate()
                raise AssertionError(f"the worker ended first: {out!r} {err!r}")
            await asyncio.sleep(0.1)
    raise AssertionError("the worker never reached the payment's row lock")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_worker_killed_mid_transaction_leaves_the_event_to_the_next(
    api: Api, database_url: str
) -> None:
    order, payment = await api.paid_order()
    pi, amount = payment["stripe_payment_intent_id"], order["amount"]
    event = se.event("payment_intent.succeeded", se.payment_intent(pi, "succeeded", amount))
    assert (await api.post_event(event)).status_code == 200
    env = {
        **os.environ,
        "PAYDESK_DATABASE_URL": database_url,
        "STRIPE_SECRET_KEY": "sk_test_killed",
        "STRIPE_API_BASE": "http://127.0.0.1:9",  # never called: --once only drains the inbox
    }
    command = (sys.executable, "-m", "paydesk.cli", "worker", "--once")
    # Hold the order's row, so that the worker claims the event, locks the payment, records
    # its facts and then waits to mark the order paid, mid-way. (A locked payment is skipped,
    # not waited for: its events stay due for the next pass.)
    async with api.db.engine.connect() as holder:
        await holder.execute(
            text("SELECT id FROM orders WHERE id = :id FOR UPDATE"), {"id": order["id"]}
        )
        doomed = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        await wait_for_lock_waiter(api, doomed)
        async with api.db.engine.connect() as other:
            claimed = await other.scalar(
                text("SELECT id FROM inbox_events WHERE id = :id FOR UPDATE SKIP LOCKED"),
                {"id": event["id"]},
            )
        assert claimed is None  # the doomed worker holds the event
        doomed.send_signal(signal.SIGKILL)
        await doomed.communicate()
        assert doomed.returncode == -signal.SIGKILL
        await holder.rollback()
    survivor = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(survivor.communicate(), 60)
    assert survivor.returncode == 0, err.decode()
    assert out.decode().strip() == "applied 1 event(s)"
    async with api.db.sessions() as session:
        row = await session.get(InboxEvent, event["id"])
        assert row is not None
        assert (row.status, row.attempts) == (EventStatus.PROCESSED, 0)
        charges = await session.scalar(
            select(func.count()).where(LedgerEntry.payment_id == payment["id"])
        )
    assert charges == 1
    status = (await api.client.get(f"/api/payments/{payment['id']}")).json()["status"]
    assert status == "succeeded"
