"""The unit of work over the database: one transaction, and the repositories inside it.

Services open one (`async with units.writing() as work`) and use `work.payments`,
`work.orders`, …; the block's end commits it, an exception rolls it back. Nothing else in
paydesk opens a transaction. Each service asks, in a Protocol of its own package, for just
the repositories it uses, which this unit of work has; tests may hand services a unit of
work of their own that keeps rows in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.auth.repository import ApiKeyRepository
from paydesk.db import Database
from paydesk.deadlines.repository import DeadlineRepository
from paydesk.disputes.repository import DisputeRepository
from paydesk.fraud.repository import FraudWarningRepository
from paydesk.idempotency.repository import IdempotencyRepository
from paydesk.ledger.repository import LedgerRepository
from paydesk.notifications.repository import OutboxRepository
from paydesk.operators.repository import OperatorRepository
from paydesk.orders.repository import OrderRepository
from paydesk.payments.repository import PaymentRepository
from paydesk.payouts.repository import PayoutRepository
from paydesk.refunds.repository import RefundRepository
from paydesk.webhooks.repository import InboxRepository


class UnitOfWork:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def session(self) -> AsyncSession:
        """The transaction's session, for a repository's own queries and savepoints."""
        return self._session

    @cached_property
    def orders(self) -> OrderRepository:
        return OrderRepository(self._session)

    @cached_property
    def payments(self) -> PaymentRepository:
        return PaymentRepository(self._session)

    @cached_property
    def refunds(self) -> RefundRepository:
        return RefundRepository(self._session)

    @cached_property
    def disputes(self) -> DisputeRepository:
        return DisputeRepository(self._session)

    @cached_property
    def ledger(self) -> LedgerRepository:
        return LedgerRepository(self._session)

    @cached_property
    def payouts(self) -> PayoutRepository:
        return PayoutRepository(self._session)

    @cached_property
    def deadlines(self) -> DeadlineRepository:
        return DeadlineRepository(self._session)

    @cached_property
    def fraud_warnings(self) -> FraudWarningRepository:
        return FraudWarningRepository(self._session)

    @cached_property
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self._session)

    @cached_property
    def inbox(self) -> InboxRepository:
        return InboxRepository(self._session)

    @cached_property
    def api_keys(self) -> ApiKeyRepository:
        return ApiKeyRepository(self._session)

    @cached_property
    def idempotency(self) -> IdempotencyRepository:
        return IdempotencyRepository(self._session)

    @cached_property
    def operators(self) -> OperatorRepository:
        return OperatorRepository(self._session)


class DatabaseUnits:
    """Units of work over `db`: `writing()` in one transaction that writes (on SQLite this
    process's turn at the one writer), `reading()` in one that only reads."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[UnitOfWork]:
        async with self.db.transaction() as session:
            yield UnitOfWork(session)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[UnitOfWork]:
        async with self.db.sessions() as session:
            yield UnitOfWork(session)
