"""Every query on refunds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.refunds.models import HOLDING, Refund, RefundStatus


async def for_payment(session: AsyncSession, payment_id: str) -> Sequence[Refund]:
    query = select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.created_at)
    return (await session.scalars(query)).all()


async def by_client_key(session: AsyncSession, payment_id: str, key: str) -> Refund | None:
    return await session.scalar(
        select(Refund).where(Refund.payment_id == payment_id, Refund.client_key == key)
    )


async def held_amount(session: AsyncSession, payment_id: str) -> int:
    """What the payment's refunds hold: succeeded ones, and those still under way."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.payment_id == payment_id, Refund.status.in_(HOLDING)
        )
    )
    return int(total or 0)


async def link(session: AsyncSession, refund: dict[str, Any]) -> None:
    """Ties a refund paydesk made to Stripe's id, from the id paydesk put in its metadata."""
    ours = (refund.get("metadata") or {}).get("paydesk_refund_id")
    if ours:
        await session.execute(
            update(Refund)
            .where(Refund.id == ours, Refund.stripe_refund_id.is_(None))
            .values(stripe_refund_id=refund["id"])
        )


async def by_stripe_id(session: AsyncSession, stripe_refund_id: str) -> Refund | None:
    return await session.scalar(select(Refund).where(Refund.stripe_refund_id == stripe_refund_id))


async def unanswered(session: AsyncSession, *, before: datetime) -> Sequence[Refund]:
    """Reservations made before `before` that Stripe never answered for."""
    query = select(Refund).where(
        Refund.stripe_refund_id.is_(None),
        Refund.status == RefundStatus.PENDING,
        Refund.created_at < before,
    )
    return (await session.scalars(query)).all()
