"""The queries of deadlines: across orders and their payments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.orders.models import Order, OrderStatus
from paydesk.payments.models import Payment, PaymentStatus

# An expired order's payment in one of these still has a PaymentIntent to cancel.
_OPEN_UNPAID = (PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION, PaymentStatus.FAILED)


class DeadlineRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_to_cancel(self, *, limit: int) -> list[str]:
        """Payments of expired orders whose PaymentIntent is still open, oldest first."""
        rows = await self.session.scalars(
            select(Payment.id)
            .join(Order, Order.id == Payment.order_id)
            .where(
                Order.status == OrderStatus.EXPIRED,
                Payment.status.in_(_OPEN_UNPAID),
                Payment.stripe_payment_intent_id.is_not(None),
            )
            .order_by(Payment.created_at)
            .limit(limit)
        )
        return list(rows)

    async def list_authorized_before(self, moment: datetime, *, limit: int) -> list[Payment]:
        """Authorizations (manual capture) not captured since before `moment`, oldest first."""
        rows = await self.session.scalars(
            select(Payment)
            .where(
                Payment.status == PaymentStatus.REQUIRES_CAPTURE,
                Payment.authorized_at <= moment,
            )
            .order_by(Payment.authorized_at)
            .limit(limit)
        )
        return list(rows)
