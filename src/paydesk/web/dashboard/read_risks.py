"""What the overview reads about fraud and time running out, for "Needs attention": payments
Stripe's Radar rated risky that still hold the money, early fraud warnings left to the
operator, and orders paid after they had expired. Each is a count and the latest few, read
in the overview's unit of work that only reads. Authorizations about to lapse come from the
deadlines service (`Deadlines.lapsing`), which opens its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.fraud.models import FraudWarning, WarningAction
from paydesk.orders.models import Order
from paydesk.payments.models import PAID_PAYMENT_STATUSES, Payment, PaymentStatus

T = TypeVar("T")

RISKY_LEVELS = ("elevated", "highest")
# A payment in these still holds the customer's money (or an authorization for it): neither
# refunded in full nor disputed, so a risky one, or one warned of, is the operator's to judge.
HOLDING = (
    PaymentStatus.REQUIRES_CAPTURE,
    PaymentStatus.SUCCEEDED,
    PaymentStatus.PARTIALLY_REFUNDED,
)


@dataclass(frozen=True, slots=True)
class RiskyPayment:
    """A payment Radar rated `elevated` or `highest` that still holds the money."""

    id: str
    amount: int
    currency: str
    status: str
    risk_level: str
    risk_score: int | None
    outcome_type: str | None
    radar_rule: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OperatorWarning:
    """An early fraud warning the worker left to the operator, on a payment that still
    holds the money."""

    id: str
    payment_id: str
    amount: int
    currency: str
    status: str
    fraud_type: str
    actionable: bool
    outcome: str | None
    created: datetime


@dataclass(frozen=True, slots=True)
class PaidAfterExpiry:
    """An order paid although it had expired, and the payment that paid it."""

    order_id: str
    amount: int
    currency: str
    status: str
    expires_at: datetime | None
    payment_id: str | None
    updated_at: datetime


@dataclass(frozen=True)
class Capped(Generic[T]):
    """The latest few of `total`."""

    rows: list[T] = field(default_factory=list)
    total: int = 0

    @property
    def capped(self) -> bool:
        return self.total > len(self.rows)


async def risky_payments(
    session: AsyncSession, *, since: datetime, limit: int
) -> Capped[RiskyPayment]:
    """Payments created since `since`, rated `elevated` or `highest`, still holding the
    money; newest first."""
    where = (
        Payment.risk_level.in_(RISKY_LEVELS)
        & Payment.status.in_(HOLDING)
        & (Payment.created_at >= since)
    )
    rows = await session.execute(
        select(
            Payment.id,
            Payment.amount,
            Payment.currency,
            Payment.status,
            Payment.risk_level,
            Payment.risk_score,
            Payment.outcome_type,
            Payment.radar_rule,
            Payment.created_at,
        )
        .where(where)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(limit)
    )
    return Capped(
        [RiskyPayment(**row._mapping) for row in rows],
        await _count(session, select(func.count()).select_from(Payment).where(where)),
    )


async def operator_warnings(session: AsyncSession, *, limit: int) -> Capped[OperatorWarning]:
    """Early fraud warnings left to the operator whose payment still holds the money (once
    refunded or disputed, nothing is left to decide); newest first."""
    where = (FraudWarning.action == WarningAction.OPERATOR) & Payment.status.in_(
        [PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED]
    )
    joined = FraudWarning.payment_id == Payment.id
    rows = await session.execute(
        select(
            FraudWarning.id,
            FraudWarning.payment_id,
            Payment.amount,
            Payment.currency,
            Payment.status,
            FraudWarning.fraud_type,
            FraudWarning.actionable,
            FraudWarning.outcome,
            FraudWarning.created,
        )
        .join(Payment, joined)
        .where(where)
        .order_by(FraudWarning.created.desc(), FraudWarning.id)
        .limit(limit)
    )
    return Capped(
        [OperatorWarning(**row._mapping) for row in rows],
        await _count(
            session,
            select(func.count()).select_from(FraudWarning).join(Payment, joined).where(where),
        ),
    )


async def paid_after_expiry(
    session: AsyncSession, *, since: datetime, limit: int
) -> Capped[PaidAfterExpiry]:
    """Orders paid after they had expired, changed since `since`, with their paying payment
    (an order has at most one that is not canceled); newest first."""
    where = Order.paid_after_expiry.is_(True) & (Order.updated_at >= since)
    paying = (Payment.order_id == Order.id) & Payment.status.in_(sorted(PAID_PAYMENT_STATUSES))
    rows = await session.execute(
        select(
            Order.id.label("order_id"),
            Order.amount,
            Order.currency,
            Order.status,
            Order.expires_at,
            Payment.id.label("payment_id"),
            Order.updated_at,
        )
        .outerjoin(Payment, paying)
        .where(where)
        .order_by(Order.updated_at.desc(), Order.id)
        .limit(limit)
    )
    return Capped(
        [PaidAfterExpiry(**row._mapping) for row in rows],
        await _count(session, select(func.count()).select_from(Order).where(where)),
    )


async def _count(session: AsyncSession, query: Select[int]) -> int:
    return int(await session.scalar(query) or 0)
