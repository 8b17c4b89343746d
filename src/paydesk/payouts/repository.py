"""Every query on payouts and on what they paid out, and the one place a payout is saved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.db import insert_new, utcnow
from paydesk.gateway.types import PayoutSnapshot
from paydesk.ledger.models import BalanceTransaction
from paydesk.payments.models import Payment
from paydesk.payouts.models import STATUS_RANK, Payout


@dataclass(frozen=True, slots=True)
class PaidOut:
    """A balance transaction a payout paid out, with the order its payment is for."""

    id: str
    type: str
    reporting_category: str
    source: str | None
    payment_id: str | None
    order_id: str | None
    amount: int
    fee: int
    net: int
    currency: str
    exchange_rate: str | None
    status: str
    description: str | None
    created: datetime
    available_on: datetime


@dataclass(frozen=True, slots=True)
class PayoutFilter:
    """Which payouts: in one status, arriving at the bank in [start, end) (None: any)."""

    status: str | None = None
    start: datetime | None = None
    end: datetime | None = None


def _later(snapshot: PayoutSnapshot, payout: Payout) -> bool:
    """Whether `snapshot` says more than the payout already knows: a later status, or (in
    the same status) its reconciliation completed."""
    new, old = STATUS_RANK.get(snapshot.status, 0), STATUS_RANK.get(payout.status, 0)
    if new != old:
        return new > old
    return snapshot.reconciliation_status == "completed" != payout.reconciliation_status


def _values(snapshot: PayoutSnapshot) -> dict[str, object]:
    return {
        "id": snapshot.id,
        "amount": snapshot.amount,
        "currency": snapshot.currency,
        "status": snapshot.status,
        "automatic": snapshot.automatic,
        "created": datetime.fromtimestamp(snapshot.created, UTC),
        "arrival_date": datetime.fromtimestamp(snapshot.arrival_date, UTC),
        "balance_transaction_id": snapshot.balance_transaction,
        "failure_balance_transaction_id": snapshot.failure_balance_transaction,
        "failure_code": snapshot.failure_code,
        "failure_message": snapshot.failure_message,
        "reconciliation_status": snapshot.reconciliation_status,
        "description": snapshot.description,
    }


_PAID_OUT = select(
    BalanceTransaction.id,
    BalanceTransaction.type,
    BalanceTransaction.reporting_category,
    BalanceTransaction.source,
    BalanceTransaction.payment_id,
    Payment.order_id,
    BalanceTransaction.amount,
    BalanceTransaction.fee,
    BalanceTransaction.net,
    BalanceTransaction.currency,
    BalanceTransaction.exchange_rate,
    BalanceTransaction.status,
    BalanceTransaction.description,
    BalanceTransaction.created,
    BalanceTransaction.available_on,
).outerjoin(Payment, Payment.id == BalanceTransaction.payment_id)


class PayoutRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save(self, snapshots: Sequence[PayoutSnapshot]) -> list[Payout]:
        """Each payout as Stripe told it, unless paydesk already knows a later state of it
        (events come late, twice, and out of order); returns the payouts as they now are."""
        if not snapshots:
            return []
        dialect = self.session.get_bind().dialect.name
        latest = {s.id: s for s in snapshots}
        await self.session.execute(
            insert_new(dialect, Payout), [_values(s) for s in latest.values()]
        )
        rows = await self.session.scalars(
            select(Payout).where(Payout.id.in_(latest)).with_for_update()
        )
        payouts = {p.id: p for p in rows}
        for snapshot in snapshots:
            payout = payouts[snapshot.id]
            if _later(snapshot, payout):
                for name, value in _values(snapshot).items():
                    setattr(payout, name, value)
        return list(payouts.values())

    async def get(self, payout_id: str) -> Payout | None:
        return await self.session.get(Payout, payout_id)

    async def list_payouts(
        self, which: PayoutFilter, *, after: Payout | None, limit: int
    ) -> list[Payout]:
        """Newest first (by creation); `after`: the last payout of the previous page."""
        query = select(Payout).order_by(Payout.created.desc(), Payout.id.desc()).limit(limit)
        if which.status is not None:
            query = query.where(Payout.status == which.status)
        if which.start is not None:
            query = query.where(Payout.arrival_date >= which.start)
        if which.end is not None:
            query = query.where(Payout.arrival_date < which.end)
        if after is not None:
            query = query.where(tuple_(Payout.created, Payout.id) < (after.created, after.id))
        return list(await self.session.scalars(query))

    async def list_unread(self, limit: int) -> list[Payout]:
        """Payouts whose contents paydesk has not read yet and Stripe can now list: a
        manual payout's are only itself; an automatic one's once its reconciliation is done."""
        query = (
            select(Payout)
            .where(Payout.contents_read_at.is_(None))
            .where((~Payout.automatic) | (Payout.reconciliation_status == "completed"))
            .order_by(Payout.created)
            .limit(limit)
        )
        return list(await self.session.scalars(query))

    async def mark_read(self, payout_id: str) -> None:
        payout = await self.session.get(Payout, payout_id, with_for_update=True)
        if payout is not None:
            payout.contents_read_at = utcnow()

    async def paid_out(self, payout_id: str) -> list[PaidOut]:
        """What the payout paid out, oldest first, without its own transaction."""
        payout = await self.get(payout_id)
        query = _PAID_OUT.where(BalanceTransaction.payout_id == payout_id)
        if payout is not None and payout.balance_transaction_id is not None:
            query = query.where(BalanceTransaction.id != payout.balance_transaction_id)
        rows = await self.session.execute(
            query.order_by(BalanceTransaction.created, BalanceTransaction.id)
        )
        return [PaidOut(**row._asdict()) for row in rows]

    async def contents_net(self, payouts: Sequence[Payout]) -> dict[str, int]:
        """The net of what each payout paid out (its own transaction left out)."""
        if not payouts:
            return {}
        own = [p.balance_transaction_id for p in payouts if p.balance_transaction_id]
        query = (
            select(BalanceTransaction.payout_id, func.sum(BalanceTransaction.net))
            .where(BalanceTransaction.payout_id.in_([p.id for p in payouts]))
            .group_by(BalanceTransaction.payout_id)
        )
        if own:
            query = query.where(BalanceTransaction.id.not_in(own))
        return {str(po): int(net) for po, net in await self.session.execute(query)}
