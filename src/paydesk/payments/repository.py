"""Every query on payments, their facts and their timeline."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.db import insert_new
from paydesk.payments.models import Payment, PaymentEvent, PaymentFact, PaymentStatus
from paydesk.payments.state import Clock, Fact, FactKind

# The statements of the payment path, built once (building them anew showed in its
# profile); bound parameters named after what they take.
_BY_ID = select(Payment).where(Payment.id == bindparam("payment_id"))
_BY_ID_FOR_UPDATE = _BY_ID.with_for_update()
_OPEN_OF_ORDER = select(Payment).where(
    Payment.order_id == bindparam("order_id"), Payment.status != PaymentStatus.CANCELED
)
_TIMELINES = (
    select(PaymentEvent)
    .where(PaymentEvent.payment_id.in_(bindparam("payment_ids", expanding=True)))
    .order_by(PaymentEvent.id)
)
_FACTS = select(
    PaymentFact.payment_id,
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
).where(PaymentFact.payment_id.in_(bindparam("payment_ids", expanding=True)))


class PaymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, payment_id: str, *, for_update: bool = False) -> Payment | None:
        query = _BY_ID_FOR_UPDATE if for_update else _BY_ID
        return await self.session.scalar(query, {"payment_id": payment_id})

    async def get_by_intent(self, intent_id: str, *, for_update: bool = False) -> Payment | None:
        query = select(Payment).where(Payment.stripe_payment_intent_id == intent_id)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def lock_by_intents(self, intent_ids: Collection[str]) -> dict[str, Payment]:
        """The payments of these PaymentIntents, by PaymentIntent id, locked for this unit of
        work; on PostgreSQL those another holds are left out (`intents_known` tells them from
        absent ones), so that workers never wait on one another."""
        if not intent_ids:
            return {}
        rows = await self.session.scalars(
            select(Payment)
            .where(Payment.stripe_payment_intent_id.in_(intent_ids))
            .with_for_update(skip_locked=True)
        )
        return {str(p.stripe_payment_intent_id): p for p in rows}

    async def lock(self, payment_ids: Collection[str]) -> dict[str, Payment]:
        """The payments by id, locked as `lock_by_intents` locks them."""
        if not payment_ids:
            return {}
        rows = await self.session.scalars(
            select(Payment).where(Payment.id.in_(payment_ids)).with_for_update(skip_locked=True)
        )
        return {p.id: p for p in rows}

    async def intents_known(self, intent_ids: Collection[str]) -> set[str]:
        """Which of these PaymentIntents have a payment."""
        if not intent_ids:
            return set()
        rows = await self.session.scalars(
            select(Payment.stripe_payment_intent_id).where(
                Payment.stripe_payment_intent_id.in_(intent_ids)
            )
        )
        return {str(intent_id) for intent_id in rows}

    async def ids_by_intents(self, intent_ids: Collection[str]) -> dict[str, str]:
        """The payment of each of these PaymentIntents that has one, by PaymentIntent id."""
        if not intent_ids:
            return {}
        rows = await self.session.execute(
            select(Payment.stripe_payment_intent_id, Payment.id).where(
                Payment.stripe_payment_intent_id.in_(intent_ids)
            )
        )
        return {str(intent_id): payment_id for intent_id, payment_id in rows}

    async def ids_known(self, payment_ids: Collection[str]) -> set[str]:
        """Which of these payments exist."""
        if not payment_ids:
            return set()
        return set(
            await self.session.scalars(select(Payment.id).where(Payment.id.in_(payment_ids)))
        )

    async def get_open_for_order(self, order_id: str) -> Payment | None:
        """The order's payment that is not canceled; an order has at most one."""
        return await self.session.scalar(_OPEN_OF_ORDER, {"order_id": order_id})

    async def list_payments(
        self,
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
        return (await self.session.scalars(query)).all()

    async def list_waiting(
        self, statuses: Sequence[str], *, updated_before: datetime, limit: int
    ) -> list[tuple[str, str]]:
        """(payment id, PaymentIntent id) of payments in `statuses` untouched since then,
        the longest waiting first."""
        rows = await self.session.execute(
            select(Payment.id, Payment.stripe_payment_intent_id)
            .where(
                Payment.status.in_(statuses),
                Payment.stripe_payment_intent_id.is_not(None),
                Payment.updated_at < updated_before,
            )
            .order_by(Payment.updated_at)
            .limit(limit)
        )
        return [(payment_id, str(intent_id)) for payment_id, intent_id in rows]

    def add(self, payment: Payment) -> None:
        self.session.add(payment)

    async def add_timeline_entries(self, entries: Sequence[PaymentEvent]) -> None:
        """Writes the entries at once, in one statement, and gives each its id
        (notifications are named after it)."""
        if entries:
            self.session.add_all(entries)
            await self.session.flush()

    async def timeline(self, payment_ids: Sequence[str]) -> list[PaymentEvent]:
        if not payment_ids:
            return []
        return list(await self.session.scalars(_TIMELINES, {"payment_ids": list(payment_ids)}))

    async def facts(self, payment_id: str) -> list[Fact]:
        return (await self.facts_by_payment([payment_id]))[payment_id]

    async def facts_by_payment(self, payment_ids: Sequence[str]) -> dict[str, list[Fact]]:
        """Each payment's facts (an empty list for one without). Read without flushing:
        changes made to the payments meanwhile are written once, with their new status."""
        found: dict[str, list[Fact]] = {payment_id: [] for payment_id in payment_ids}
        if not payment_ids:
            return found
        with self.session.no_autoflush:
            rows = await self.session.execute(_FACTS, {"payment_ids": list(payment_ids)})
        for row in rows:
            found[row.payment_id].append(
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
            )
        return found

    async def fact_rows(self, payment_id: str) -> list[PaymentFact]:
        """The recorded facts with what was recorded beside them, in the order recorded."""
        rows = await self.session.scalars(
            select(PaymentFact).where(PaymentFact.payment_id == payment_id).order_by(PaymentFact.id)
        )
        return list(rows)

    async def add_facts(self, facts: list[PaymentFact]) -> None:
        """Records the observations in one statement, skipping any already recorded (same
        fingerprint); without flushing, as `facts_by_payment` reads."""
        if not facts:
            return
        insert = insert_new(self.session.get_bind().dialect.name, PaymentFact)
        with self.session.no_autoflush:
            await self.session.execute(insert, [_values(f) for f in facts])


def _values(row: PaymentFact) -> dict[str, object]:
    """The row's set columns; unset ones are left to their defaults."""
    columns = row.__table__.columns
    return {c.key: getattr(row, c.key) for c in columns if getattr(row, c.key) is not None}
