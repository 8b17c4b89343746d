"""Every query on payments, their facts, timeline and ledger entries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.ledger.models import LedgerEntry
from paydesk.payments.models import Payment, PaymentEvent, PaymentFact, PaymentStatus
from paydesk.payments.state import Clock, Fact, FactKind


async def open_payment_for_order(session: AsyncSession, order_id: str) -> Payment | None:
    return await session.scalar(
        select(Payment).where(
            Payment.order_id == order_id, Payment.status != PaymentStatus.CANCELED
        )
    )


async def get_payment(
    session: AsyncSession, payment_id: str, *, for_update: bool = False
) -> Payment | None:
    query = select(Payment).where(Payment.id == payment_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def get_payment_by_intent(
    session: AsyncSession, intent_id: str, *, for_update: bool = False
) -> Payment | None:
    query = select(Payment).where(Payment.stripe_payment_intent_id == intent_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def list_payments(
    session: AsyncSession,
    *,
    status: str | None,
    order_id: str | None,
    before_id: str | None,
    limit: int,
) -> Sequence[Payment]:
    """Newest first; ids sort by creation time, so the last id seen is the cursor."""
    query = select(Payment).order_by(Payment.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Payment.status == status)
    if order_id is not None:
        query = query.where(Payment.order_id == order_id)
    if before_id is not None:
        query = query.where(Payment.id < before_id)
    return (await session.scalars(query)).all()


async def timeline(session: AsyncSession, payment_ids: Sequence[str]) -> list[PaymentEvent]:
    if not payment_ids:
        return []
    rows = await session.scalars(
        select(PaymentEvent)
        .where(PaymentEvent.payment_id.in_(payment_ids))
        .order_by(PaymentEvent.id)
    )
    return list(rows)


def _insert(session: AsyncSession, table: type[PaymentFact] | type[LedgerEntry]):  # type: ignore[no-untyped-def]
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def add_facts(session: AsyncSession, facts: list[PaymentFact]) -> None:
    """Records the observations, skipping any already recorded (same fingerprint)."""
    await session.execute(
        _insert(session, PaymentFact).on_conflict_do_nothing(), [_values(f) for f in facts]
    )


async def facts(session: AsyncSession, payment_id: str) -> list[Fact]:
    rows = await session.execute(
        select(
            PaymentFact.kind,
            PaymentFact.stripe_object_id,
            PaymentFact.stripe_status,
            PaymentFact.observed_at,
            PaymentFact.amount,
            PaymentFact.currency,
            PaymentFact.amount_received,
            PaymentFact.amount_capturable,
            PaymentFact.amount_refunded,
            PaymentFact.error_code,
            PaymentFact.clock,
        ).where(PaymentFact.payment_id == payment_id)
    )
    return [
        Fact(
            kind=FactKind(row.kind),
            object_id=row.stripe_object_id,
            status=row.stripe_status,
            observed_at=row.observed_at,
            amount=row.amount,
            currency=row.currency,
            amount_received=row.amount_received,
            amount_capturable=row.amount_capturable,
            amount_refunded=row.amount_refunded,
            error_code=row.error_code,
            clock=Clock(row.clock),
        )
        for row in rows
    ]


async def add_ledger_entry(session: AsyncSession, entry: LedgerEntry) -> None:
    """Posts the movement once: a second post for the same Stripe object and kind is a no-op."""
    await session.execute(
        _insert(session, LedgerEntry).values(_values(entry)).on_conflict_do_nothing()
    )


def _values(row: PaymentFact | LedgerEntry) -> dict[str, object]:
    """The row's set columns; unset ones are left to their defaults."""
    columns = row.__table__.columns
    return {c.key: getattr(row, c.key) for c in columns if getattr(row, c.key) is not None}


async def has_ledger_entry(session: AsyncSession, stripe_object_id: str, kind: str) -> bool:
    found = await session.scalar(
        select(LedgerEntry.id).where(
            LedgerEntry.stripe_object_id == stripe_object_id, LedgerEntry.kind == kind
        )
    )
    return found is not None
