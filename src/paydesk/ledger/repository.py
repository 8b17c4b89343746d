"""Every query on the ledger (one payment's entries, entries in a time window), and the one
place an entry is posted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.db import insert_new
from paydesk.ledger.models import LedgerEntry, LedgerKind
from paydesk.payments.models import Payment

_Ts = TypeVarTuple("_Ts")


@dataclass(frozen=True, slots=True)
class Row:
    """A ledger entry with the order its payment is for."""

    id: int
    payment_id: str
    order_id: str
    kind: str
    amount: int
    currency: str
    stripe_object_id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Window:
    """Which entries: created in [start, end), in one currency, of one kind (None: any)."""

    start: datetime | None = None
    end: datetime | None = None
    currency: str | None = None
    kind: str | None = None

    def where(self, query: Select[*_Ts]) -> Select[*_Ts]:
        if self.start is not None:
            query = query.where(LedgerEntry.created_at >= self.start)
        if self.end is not None:
            query = query.where(LedgerEntry.created_at < self.end)
        if self.currency is not None:
            query = query.where(LedgerEntry.currency == self.currency)
        if self.kind is not None:
            query = query.where(LedgerEntry.kind == self.kind)
        return query


@dataclass(frozen=True, slots=True)
class Total:
    currency: str
    kind: str
    count: int
    amount: int


_ROW = select(
    LedgerEntry.id,
    LedgerEntry.payment_id,
    Payment.order_id,
    LedgerEntry.kind,
    LedgerEntry.amount,
    LedgerEntry.currency,
    LedgerEntry.stripe_object_id,
    LedgerEntry.created_at,
).join(Payment, Payment.id == LedgerEntry.payment_id)


class LedgerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def post(self, entries: list[LedgerEntry]) -> None:
        """Posts each movement once: a second post for the same Stripe object and kind is a
        no-op, so a replayed event can never post twice."""
        if not entries:
            return
        await self.session.execute(
            insert_new(self.session.get_bind().dialect.name, LedgerEntry),
            [
                {
                    "payment_id": e.payment_id,
                    "kind": e.kind,
                    "amount": e.amount,
                    "currency": e.currency,
                    "stripe_object_id": e.stripe_object_id,
                }
                for e in entries
            ],
        )

    async def has_entry(self, stripe_object_id: str, kind: LedgerKind) -> bool:
        found = await self.session.scalar(
            select(LedgerEntry.id).where(
                LedgerEntry.stripe_object_id == stripe_object_id, LedgerEntry.kind == kind
            )
        )
        return found is not None

    async def for_payment(self, payment_id: str) -> list[Row]:
        """The payment's entries, oldest first."""
        rows = await self.session.execute(
            _ROW.where(LedgerEntry.payment_id == payment_id).order_by(LedgerEntry.id)
        )
        return [Row(*r) for r in rows]

    async def entries(
        self,
        window: Window,
        *,
        after_id: int | None = None,
        up_to_id: int | None = None,
        limit: int,
    ) -> list[Row]:
        """Entries in the window, oldest first by id; the last id seen is the next cursor."""
        query = window.where(_ROW).order_by(LedgerEntry.id).limit(limit)
        if after_id is not None:
            query = query.where(LedgerEntry.id > after_id)
        if up_to_id is not None:
            query = query.where(LedgerEntry.id <= up_to_id)
        return [Row(*r) for r in await self.session.execute(query)]

    async def extent(self, window: Window) -> tuple[int, int | None]:
        """How many entries the window holds, and the highest id among them."""
        query = window.where(
            select(func.count(), func.max(LedgerEntry.id)).select_from(LedgerEntry)
        )
        count, last_id = (await self.session.execute(query)).one()
        return int(count), last_id

    async def totals(self, window: Window) -> Sequence[Total]:
        """Per currency and kind over the whole window: how many entries and their sum."""
        query = window.where(
            select(
                LedgerEntry.currency,
                LedgerEntry.kind,
                func.count(),
                func.coalesce(func.sum(LedgerEntry.amount), 0),
            )
            .group_by(LedgerEntry.currency, LedgerEntry.kind)
            .order_by(LedgerEntry.currency, LedgerEntry.kind)
        )
        return [
            Total(currency, kind, int(count), int(amount))
            for currency, kind, count, amount in await self.session.execute(query)
        ]
