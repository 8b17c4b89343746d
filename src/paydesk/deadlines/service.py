"""Orders that expire unpaid, and authorizations that would lapse.

An unpaid order past its `expires_at` expires in two steps. First, in one unit of work, the
order becomes `expired` and the shop's `order.expired` is queued: from then on the checkout
refuses it. Then, outside any unit of work, its PaymentIntent is canceled at Stripe
(`cancellation_reason=abandoned`, a key per payment) and the answer applied. Should Stripe
say the payment succeeded after all (a confirmation raced the expiry), that answer is
applied instead: the payment is recorded, the order becomes paid and is flagged
`paid_after_expiry`, and the shop hears `order.paid_after_expiry`. A cancel Stripe cannot
answer is tried again on the next round, as the order is expired with its payment open.

A manual-capture payment still authorized `uncaptured_after` its authorization (six days by
default: Stripe releases it after seven) is released (`release`), captured (`capture`), or
left for Stripe to release (`none`), by the setting."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

from paydesk.db import Units, utcnow
from paydesk.deadlines.repository import DeadlineRepository
from paydesk.errors import Conflict, PaydeskError
from paydesk.gateway.base import Gateway
from paydesk.notifications.effects import ExpiredOrder, NotificationsWork, orders_expired
from paydesk.orders.models import OrderStatus
from paydesk.orders.service import has_expired
from paydesk.payments.changes import PaymentState
from paydesk.payments.models import Cause, Payment
from paydesk.payments.service import Observation, PaymentService, PaymentsWork, now_ms

log = logging.getLogger(__name__)

# How long before an authorization is acted on the dashboard warns of it.
WARNING_AHEAD = timedelta(days=1)
# Stripe releases a card authorization not captured within this.
STRIPE_RELEASES_AFTER = timedelta(days=7)


class DeadlinesWork(PaymentsWork, NotificationsWork, Protocol):
    @property
    def deadlines(self) -> DeadlineRepository: ...


Work = TypeVar("Work", bound=DeadlinesWork)


class Deadlines(Generic[Work]):
    def __init__(
        self,
        units: Units[Work],
        gateway: Gateway,
        payments: PaymentService[Work],
        *,
        uncaptured_after: timedelta,
        uncaptured_action: str,
    ) -> None:
        self.units = units
        self.gateway = gateway
        self.payments = payments
        self.uncaptured_after = uncaptured_after
        self.uncaptured_action = uncaptured_action

    async def expire_orders(self, *, now: datetime | None = None, limit: int = 100) -> int:
        """Expires unpaid orders past their time, then cancels the PaymentIntents of
        expired orders; returns how many orders expired."""
        now = now or utcnow()
        async with self.units.reading() as work:
            due = await work.orders.list_expiring(now, limit=limit)
        expired = 0
        for order_id in due:
            expired += await self._expire(order_id, now)
        async with self.units.reading() as work:
            to_cancel = await work.deadlines.list_to_cancel(limit=limit)
        for payment_id in to_cancel:
            await self._cancel_abandoned(payment_id)
        return expired

    async def _expire(self, order_id: str, now: datetime) -> int:
        async with self.units.writing() as work:
            order = await work.orders.get(order_id, for_update=True)
            if order is None or order.status == OrderStatus.EXPIRED:
                return 0
            if not has_expired(order, now):
                return 0  # paid, or given more time, meanwhile
            payment = await work.payments.get_open_for_order(order.id)
            order.status = OrderStatus.EXPIRED
            await orders_expired(
                work,
                [
                    ExpiredOrder(
                        order.id,
                        order.amount,
                        order.currency,
                        now,
                        PaymentState.of(payment) if payment else None,
                    )
                ],
            )
        log.info("order %s expired unpaid", order_id)
        return 1

    async def _cancel_abandoned(self, payment_id: str) -> None:
        try:
            await self.payments.cancel(payment_id, reason="abandoned", cause=Cause.DEADLINE)
        except Conflict:
            # Stripe (or the payment's own state) says it cannot be canceled: it went on,
            # perhaps to success. What Stripe says of it now is what is recorded.
            await self._apply_current(payment_id)
        except PaydeskError as exc:
            log.warning("canceling the payment of expired order waits: %s", exc.message)

    async def _apply_current(self, payment_id: str) -> None:
        async with self.units.reading() as work:
            payment = await work.payments.get(payment_id)
        if payment is None or payment.stripe_payment_intent_id is None:
            return
        try:
            intent = await self.gateway.retrieve_payment_intent(payment.stripe_payment_intent_id)
        except PaydeskError as exc:
            log.warning("payment %s of an expired order waits: %s", payment_id, exc.message)
            return
        await self.payments.apply(payment_id, Observation(intent, now_ms(), Cause.DEADLINE))

    async def lapse_authorizations(self, *, now: datetime | None = None, limit: int = 100) -> int:
        """Captures or releases, by the setting, each authorization left `uncaptured_after`;
        returns how many were acted on."""
        if self.uncaptured_action == "none":
            return 0
        moment = (now or utcnow()) - self.uncaptured_after
        async with self.units.reading() as work:
            lapsing = await work.deadlines.list_authorized_before(moment, limit=limit)
        acted = 0
        for payment in lapsing:
            try:
                if self.uncaptured_action == "capture":
                    await self.payments.capture(payment.id, amount=None, cause=Cause.DEADLINE)
                else:
                    await self.payments.cancel(payment.id, reason="abandoned", cause=Cause.DEADLINE)
            except PaydeskError as exc:
                log.warning("authorization of payment %s not settled: %s", payment.id, exc.message)
                continue
            acted += 1
        return acted

    async def lapsing(self, *, now: datetime | None = None, limit: int = 50) -> list[Payment]:
        """Authorizations that the worker will act on within a day, or, when it leaves them
        to Stripe (`none`), that Stripe will release within a day."""
        after = STRIPE_RELEASES_AFTER if self.uncaptured_action == "none" else self.uncaptured_after
        moment = (now or utcnow()) - after + WARNING_AHEAD
        async with self.units.reading() as work:
            return await work.deadlines.list_authorized_before(moment, limit=limit)
