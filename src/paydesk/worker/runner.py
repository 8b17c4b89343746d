"""`paydesk worker` (and the in-process worker of `paydesk serve` on SQLite): applies the
inbox as events arrive, reads Stripe's event list for missed deliveries, reconciles
payments that have waited too long, reads the balance transactions and payout contents the
ledger still lacks, acts on early fraud warnings, expires unpaid orders and settles lapsing
authorizations, and forgets idempotency keys past their 24 hours."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from paydesk.deadlines.service import Deadlines
from paydesk.fraud.service import FraudDesk
from paydesk.gateway.base import Gateway
from paydesk.idempotency.service import IdempotencyStore
from paydesk.ledger.settlement import Settler
from paydesk.notifications.delivery import NotificationDelivery
from paydesk.payments.service import PaymentService
from paydesk.payouts.service import PayoutService
from paydesk.refunds.service import RefundService
from paydesk.unit_of_work import DatabaseUnits, UnitOfWork
from paydesk.webhooks.backfill import backfill
from paydesk.webhooks.processor import InboxProcessor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerSchedule:
    poll_seconds: float = 1.0
    backfill_every_seconds: float | None = 60.0  # None: never (left to `paydesk events backfill`)
    reconcile_every_seconds: float | None = 300.0  # None: never (left to `paydesk reconcile`)
    reconcile_older_than: timedelta = timedelta(minutes=15)
    settle_every_seconds: float | None = 5.0  # None: never (left to `paydesk payouts sync`)
    # Early fraud warnings decided (and refunded under the threshold); None: never.
    fraud_every_seconds: float | None = 5.0
    # Orders expired and lapsing authorizations settled; None: never.
    deadlines_every_seconds: float | None = 60.0
    purge_every_seconds: float | None = 3600.0  # None: idempotency keys are kept


class Worker:
    def __init__(
        self,
        processor: InboxProcessor[UnitOfWork],
        *,
        payments: PaymentService[UnitOfWork],
        refunds: RefundService[UnitOfWork],
        settler: Settler[UnitOfWork],
        payouts: PayoutService[UnitOfWork],
        fraud: FraudDesk[UnitOfWork],
        deadlines: Deadlines[UnitOfWork],
        units: DatabaseUnits,
        idempotency: IdempotencyStore,
        gateway: Gateway,
        livemode: bool,
        schedule: WorkerSchedule | None = None,
        wakeup: asyncio.Event | None = None,
        notifications: NotificationDelivery | None = None,
    ) -> None:
        self.processor = processor
        self.payments = payments
        self.refunds = refunds
        self.settler = settler
        self.payouts = payouts
        self.fraud = fraud
        self.deadlines = deadlines
        self.units = units
        self.idempotency = idempotency
        self.gateway = gateway
        self.livemode = livemode
        self.schedule = schedule or WorkerSchedule()
        self.wakeup = wakeup or asyncio.Event()
        self.notifications = notifications

    async def run(self, stop: asyncio.Event) -> None:
        # The outbox is sent beside the inbox, never in its way: a slow mail server or shop
        # endpoint delays only its own messages.
        outbox = None
        if self.notifications is not None:
            outbox = asyncio.create_task(
                self.notifications.run(stop, poll_seconds=self.schedule.poll_seconds)
            )
        try:
            await self._apply_inbox(stop)
        finally:
            if outbox is not None:
                await outbox

    async def _apply_inbox(self, stop: asyncio.Event) -> None:
        next_backfill = next_reconcile = next_settle = next_purge = 0.0
        next_fraud = next_deadlines = 0.0
        while not stop.is_set():
            self.wakeup.clear()
            try:
                await self.processor.drain()
                now = time.monotonic()
                backfill_every = self.schedule.backfill_every_seconds
                if backfill_every is not None and now >= next_backfill:
                    next_backfill = now + backfill_every
                    await backfill(self.units, self.gateway, livemode=self.livemode)
                    await self.processor.drain()
                reconcile_every = self.schedule.reconcile_every_seconds
                if reconcile_every is not None and now >= next_reconcile:
                    next_reconcile = now + reconcile_every
                    older_than = self.schedule.reconcile_older_than
                    await self.payments.reconcile(older_than=older_than)
                    await self.refunds.settle_unanswered(older_than=older_than)
                settle_every = self.schedule.settle_every_seconds
                if settle_every is not None and now >= next_settle:
                    next_settle = now + settle_every
                    await self.settler.settle()
                    await self.payouts.read_contents()
                fraud_every = self.schedule.fraud_every_seconds
                if fraud_every is not None and now >= next_fraud:
                    next_fraud = now + fraud_every
                    await self.fraud.act()
                deadlines_every = self.schedule.deadlines_every_seconds
                if deadlines_every is not None and now >= next_deadlines:
                    next_deadlines = now + deadlines_every
                    await self.deadlines.expire_orders()
                    await self.deadlines.lapse_authorizations()
                purge_every = self.schedule.purge_every_seconds
                if purge_every is not None and now >= next_purge:
                    next_purge = now + purge_every
                    await self.idempotency.purge_expired()
            except Exception:
                # A database or Stripe outage must not end the worker: log it and go on.
                log.exception("worker cycle failed; next try in %.1fs", self.schedule.poll_seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken(stop), self.schedule.poll_seconds)

    async def _woken(self, stop: asyncio.Event) -> None:
        stopping = asyncio.create_task(stop.wait())
        woken = asyncio.create_task(self.wakeup.wait())
        try:
            await asyncio.wait({stopping, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            woken.cancel()
