"""Every query on the webhook inbox and the sync cursors, and the one place inbox rows are
written (in bulk, keyed by Stripe's event id: an event stored twice is one row)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.db import insert_new, utcnow
from paydesk.webhooks.models import EventStatus, InboxEvent, SyncCursor


class InboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def store(self, rows: list[dict[str, Any]]) -> None:
        """Stores inbox rows (webhooks/inbox.py makes them); those already stored are kept."""
        if rows:
            dialect = self.session.get_bind().dialect.name
            await self.session.execute(insert_new(dialect, InboxEvent, "id"), rows)

    async def claim_due(
        self, limit: int, *, event_ids: Collection[str] | None = None
    ) -> Sequence[InboxEvent]:
        """The oldest `limit` events that are new, or failed and have waited long enough
        (of `event_ids` only, when given), oldest first, locked for this worker; on
        PostgreSQL those other workers hold are skipped."""
        query = (
            select(InboxEvent)
            .where(
                or_(
                    InboxEvent.status == EventStatus.PENDING,
                    InboxEvent.status == EventStatus.FAILED,
                ),
                InboxEvent.next_attempt_at <= utcnow(),
            )
            .order_by(InboxEvent.stripe_created, InboxEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if event_ids is not None:
            query = query.where(InboxEvent.id.in_(event_ids))
        return (await self.session.scalars(query)).all()

    async def behind_others(self, rows: Sequence[InboxEvent]) -> set[str]:
        """Which of these claimed events have an older pending event of the same
        PaymentIntent outside the claim (another worker holds it, or it arrived since):
        they wait for it, so that a payment's events are applied in the order Stripe made
        them."""
        intents = {row.payment_intent_id for row in rows if row.payment_intent_id}
        if not intents:
            return set()
        query = select(
            InboxEvent.payment_intent_id, InboxEvent.stripe_created, InboxEvent.id
        ).where(
            InboxEvent.payment_intent_id.in_(intents),
            InboxEvent.status == EventStatus.PENDING,
            InboxEvent.stripe_created <= max(row.stripe_created for row in rows),
            InboxEvent.id.not_in([row.id for row in rows]),
        )
        oldest: dict[str, tuple[int, str]] = {}
        for intent_id, created, event_id in await self.session.execute(query):
            first = oldest.setdefault(str(intent_id), (created, event_id))
            oldest[str(intent_id)] = min(first, (created, event_id))
        return {
            row.id
            for row in rows
            if row.payment_intent_id in oldest
            and oldest[row.payment_intent_id] < (row.stripe_created, row.id)
        }

    async def get(self, event_id: str, *, for_update: bool = False) -> InboxEvent | None:
        return await self.session.get(InboxEvent, event_id, with_for_update=for_update)

    async def list_events(
        self,
        *,
        status: EventStatus | None = None,
        type_prefix: str | None = None,
        before: str | None = None,
        limit: int = 50,
    ) -> Sequence[InboxEvent]:
        """Newest first. `before` is the id of the last event of the previous page: the
        page goes on from there, by arrival then id, so events stored together are never
        skipped."""
        query = (
            select(InboxEvent)
            .order_by(InboxEvent.received_at.desc(), InboxEvent.id.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(InboxEvent.status == status)
        if type_prefix:
            query = query.where(InboxEvent.type.startswith(type_prefix, autoescape=True))
        if before is not None:
            cursor = select(InboxEvent.received_at).where(InboxEvent.id == before).scalar_subquery()
            query = query.where(
                or_(
                    InboxEvent.received_at < cursor,
                    (InboxEvent.received_at == cursor) & (InboxEvent.id < before),
                )
            )
        return (await self.session.scalars(query)).all()

    async def list_for_intent(self, intent_id: str) -> Sequence[InboxEvent]:
        """Every event about the PaymentIntent's objects, in the order they arrived."""
        query = (
            select(InboxEvent)
            .where(InboxEvent.payment_intent_id == intent_id)
            .order_by(InboxEvent.received_at, InboxEvent.id)
        )
        return (await self.session.scalars(query)).all()

    async def count_by_status(self) -> dict[EventStatus, int]:
        """How many events the inbox holds in each status, every status named (0 if none)."""
        query = select(InboxEvent.status, func.count()).group_by(InboxEvent.status)
        counted = {status: count for status, count in (await self.session.execute(query)).all()}
        return {status: counted.get(status, 0) for status in EventStatus}

    async def make_due(self, *, event_ids: Sequence[str] = (), failed: bool = False) -> int:
        """Makes the named events (or every failed and dead one) due now, with a fresh count
        of attempts; returns how many."""
        query = update(InboxEvent).values(
            status=EventStatus.PENDING, attempts=0, next_attempt_at=utcnow()
        )
        if failed:
            query = query.where(InboxEvent.status.in_([EventStatus.FAILED, EventStatus.DEAD]))
        else:
            query = query.where(InboxEvent.id.in_(list(event_ids)))
        result = await self.session.execute(query)
        return int(getattr(result, "rowcount", 0) or 0)

    async def cursor(self, name: str) -> str | None:
        return await self.session.scalar(select(SyncCursor.value).where(SyncCursor.name == name))

    async def set_cursor(self, name: str, value: str) -> None:
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        await self.session.execute(
            insert(SyncCursor)
            .values(name=name, value=value)
            .on_conflict_do_update(index_elements=["name"], set_={"value": value})
        )
