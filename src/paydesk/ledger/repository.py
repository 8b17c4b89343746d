"""Every query on the ledger (one payment's entries, entries in a time window), and the one
place an entry is posted and a balance transaction recorded."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVarTuple, cast

from sqlalchemy import Select, Table, bindparam, case, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.db import insert_new
from paydesk.ledger.models import (
    SETTLED_KINDS,
    BalanceTransaction,
    LedgerEntry,
    LedgerKind,
    TransactionStatus,
)
from paydesk.payments.models import Payment

_Ts = TypeVarTuple("_Ts")


@dataclass(frozen=True, slots=True)
class Row:
    """A ledger entry with the order its payment is for (none for a payout), and the money
    it moved in the settlement currency once its balance transaction is known."""

    id: int
    payment_id: str | None
    order_id: str | None
    kind: str
    amount: int
    currency: str
    stripe_object_id: str
    created_at: datetime
    balance_transaction_id: str | None = None
    settlement_amount: int | None = None
    fee: int | None = None
    net: int | None = None
    settlement_currency: str | None = None
    exchange_rate: str | None = None
    payout_id: str | None = None


@dataclass(frozen=True, slots=True)
class Unsettled:
    """An entry whose balance transaction paydesk has not read yet: the Stripe object to
    ask for it (a charge's PaymentIntent, a refund, a dispute, a payout)."""

    id: int
    kind: str
    stripe_object_id: str


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


@dataclass(frozen=True, slots=True)
class SettlementTotal:
    """Per settlement currency: what moved through the balance, Stripe's fees, the net."""

    currency: str
    count: int
    amount: int
    fee: int
    net: int


_ROW = (
    select(
        LedgerEntry.id,
        LedgerEntry.payment_id,
        Payment.order_id,
        LedgerEntry.kind,
        LedgerEntry.amount,
        LedgerEntry.currency,
        LedgerEntry.stripe_object_id,
        LedgerEntry.created_at,
        LedgerEntry.balance_transaction_id,
        BalanceTransaction.amount,
        BalanceTransaction.fee,
        BalanceTransaction.net,
        BalanceTransaction.currency,
        BalanceTransaction.exchange_rate,
        BalanceTransaction.payout_id,
    )
    .outerjoin(Payment, Payment.id == LedgerEntry.payment_id)
    .outerjoin(BalanceTransaction, BalanceTransaction.id == LedgerEntry.balance_transaction_id)
)

# A Core statement over the table, run once per row of parameters (executemany).
_ENTRY_TABLE = cast(Table, LedgerEntry.__table__)
_ENTRIES, _TRANSACTIONS = _ENTRY_TABLE.c, cast(Table, BalanceTransaction.__table__).c
_LINK = (
    update(_ENTRY_TABLE)
    .where(
        _ENTRIES.kind == bindparam("entry_kind"),
        _ENTRIES.stripe_object_id == bindparam("entry_object_id"),
        _ENTRIES.balance_transaction_id.is_(None),
    )
    .values(balance_transaction_id=bindparam("txn_id"))
)


@functools.cache
def _record_transactions(dialect: str) -> Any:
    """`INSERT … ON CONFLICT (id) DO UPDATE` for this database, built once per process: a
    transaction already recorded learns only what Stripe tells later, that it became
    available and which payout paid it out; nothing else of it ever changes."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(BalanceTransaction)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["id"],
        set_={
            "status": case(
                (new.status == TransactionStatus.AVAILABLE, new.status),
                else_=_TRANSACTIONS.status,
            ),
            "payout_id": func.coalesce(_TRANSACTIONS.payout_id, new.payout_id),
        },
    )


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
                    "balance_transaction_id": e.balance_transaction_id,
                }
                for e in entries
            ],
        )

    async def record_transactions(self, transactions: Sequence[dict[str, Any]]) -> None:
        """Each balance transaction once, unique per `txn_` id; one already recorded only
        learns what Stripe tells later: that it is available, the payout that paid it out."""
        if transactions:
            dialect = self.session.get_bind().dialect.name
            await self.session.execute(_record_transactions(dialect), transactions)

    async def link(self, links: Sequence[tuple[str, str, str]]) -> None:
        """Each (kind, Stripe object, transaction): the entry of that kind for that object
        learns the transaction that moved its money, unless it knows it already."""
        if links:
            await self.session.execute(
                _LINK,
                [{"entry_kind": k, "entry_object_id": o, "txn_id": t} for k, o, t in links],
            )

    async def transactions_for(
        self, keys: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """The recorded transaction of each (kind, Stripe object) entry key that has one."""
        if not keys:
            return {}
        rows = await self.session.execute(
            select(
                BalanceTransaction.entry_kind,
                BalanceTransaction.entry_object_id,
                BalanceTransaction.id,
            ).where(
                tuple_(BalanceTransaction.entry_kind, BalanceTransaction.entry_object_id).in_(
                    list(keys)
                )
            )
        )
        return {(kind, object_id): txn_id for kind, object_id, txn_id in rows}

    async def unsettled(self, *, after_id: int, limit: int) -> list[Unsettled]:
        """Entries whose money moves in a transaction of its own that paydesk has not read
        yet, by id after `after_id`."""
        rows = await self.session.execute(
            select(LedgerEntry.id, LedgerEntry.kind, LedgerEntry.stripe_object_id)
            .where(
                LedgerEntry.balance_transaction_id.is_(None),
                LedgerEntry.kind.in_(SETTLED_KINDS),
                LedgerEntry.id > after_id,
            )
            .order_by(LedgerEntry.id)
            .limit(limit)
        )
        return [Unsettled(*row) for row in rows]

    async def settlement_totals(self, window: Window) -> Sequence[SettlementTotal]:
        """Per settlement currency over the window's entries whose transaction is known."""
        query = window.where(
            select(
                BalanceTransaction.currency,
                func.count(),
                func.coalesce(func.sum(BalanceTransaction.amount), 0),
                func.coalesce(func.sum(BalanceTransaction.fee), 0),
                func.coalesce(func.sum(BalanceTransaction.net), 0),
            )
            .select_from(LedgerEntry)
            .join(
                BalanceTransaction,
                BalanceTransaction.id == LedgerEntry.balance_transaction_id,
            )
            .group_by(BalanceTransaction.currency)
            .order_by(BalanceTransaction.currency)
        )
        return [
            SettlementTotal(currency, int(count), int(amount), int(fee), int(net))
            for currency, count, amount, fee, net in await self.session.execute(query)
        ]

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

    async def balance(self, now: datetime) -> dict[str, tuple[int, int]]:
        """Per settlement currency, the (available, pending) nets of every transaction
        paydesk has recorded: one is available once Stripe said so, once a payout paid it
        out, or once its `available_on` has passed."""
        available = (
            (BalanceTransaction.status == TransactionStatus.AVAILABLE)
            | BalanceTransaction.payout_id.is_not(None)
            | (BalanceTransaction.available_on <= now)
        )
        rows = await self.session.execute(
            select(
                BalanceTransaction.currency,
                func.coalesce(func.sum(case((available, BalanceTransaction.net), else_=0)), 0),
                func.coalesce(func.sum(case((available, 0), else_=BalanceTransaction.net)), 0),
            ).group_by(BalanceTransaction.currency)
        )
        return {currency: (int(a), int(p)) for currency, a, p in rows}

    async def fees(self, since: datetime) -> dict[str, int]:
        """Per settlement currency, Stripe's fees on the transactions made since `since`."""
        rows = await self.session.execute(
            select(BalanceTransaction.currency, func.sum(BalanceTransaction.fee))
            .where(BalanceTransaction.created >= since)
            .group_by(BalanceTransaction.currency)
        )
        return {currency: int(fee) for currency, fee in rows}

    async def never_paid_out(self, available_before: datetime, limit: int) -> list[str]:
        """Charges available before `available_before` that no payout has paid out yet."""
        rows = await self.session.scalars(
            select(BalanceTransaction.id)
            .where(
                BalanceTransaction.payout_id.is_(None),
                BalanceTransaction.entry_kind == LedgerKind.CHARGE,
                BalanceTransaction.available_on < available_before,
            )
            .order_by(BalanceTransaction.available_on)
            .limit(limit)
        )
        return list(rows)
