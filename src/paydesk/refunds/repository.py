"""Every query on refunds, and the one place a refund row is made."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.db import new_id
from paydesk.refunds.models import HOLDING, Refund, RefundStatus


class RefundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(
        self,
        *,
        payment_id: str,
        amount: int,
        currency: str,
        status: str,
        stripe_refund_id: str | None = None,
        reason: str | None = None,
        client_key: str | None = None,
        requested_by: str | None = None,
    ) -> Refund:
        """A new refund: a reservation paydesk makes before asking Stripe, or one made
        outside paydesk (no `requested_by`), found in Stripe's news."""
        refund = Refund(
            id=new_id("rf"),
            payment_id=payment_id,
            stripe_refund_id=stripe_refund_id,
            amount=amount,
            currency=currency,
            reason=reason,
            status=status,
            client_key=client_key,
            requested_by=requested_by,
        )
        self.session.add(refund)
        return refund

    async def get(self, refund_id: str) -> Refund | None:
        return await self.session.get(Refund, refund_id)

    async def get_by_stripe_id(self, stripe_refund_id: str) -> Refund | None:
        return await self.session.scalar(
            select(Refund).where(Refund.stripe_refund_id == stripe_refund_id)
        )

    async def get_by_client_key(self, payment_id: str, key: str) -> Refund | None:
        return await self.session.scalar(
            select(Refund).where(Refund.payment_id == payment_id, Refund.client_key == key)
        )

    async def list_for_payment(self, payment_id: str) -> Sequence[Refund]:
        query = select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.created_at)
        return (await self.session.scalars(query)).all()

    async def held_amount(self, payment_id: str) -> int:
        """What the payment's refunds hold: succeeded ones, and those still under way."""
        total = await self.session.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(
                Refund.payment_id == payment_id, Refund.status.in_(HOLDING)
            )
        )
        return int(total or 0)

    async def link(self, refund_id: str, stripe_refund_id: str) -> None:
        """Ties a reservation to the refund Stripe made for it, once."""
        await self.session.execute(
            update(Refund)
            .where(Refund.id == refund_id, Refund.stripe_refund_id.is_(None))
            .values(stripe_refund_id=stripe_refund_id)
        )

    async def list_unanswered(self, *, before: datetime) -> Sequence[Refund]:
        """Reservations made before `before` that Stripe never answered for."""
        query = select(Refund).where(
            Refund.stripe_refund_id.is_(None),
            Refund.status == RefundStatus.PENDING,
            Refund.created_at < before,
        )
        return (await self.session.scalars(query)).all()
