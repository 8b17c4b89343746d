"""Operator work on the inbox: list events, bring failed and dead ones back."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from sqlalchemy import func, or_, select, update

from paydesk.db import Database, utcnow
from paydesk.gateway.types import intent_id_of
from paydesk.payments import repository as payments_repository
from paydesk.webhooks.models import EventStatus, InboxEvent


async def list_events(
    db: Database,
    *,
    status: EventStatus | None = None,
    type_prefix: str | None = None,
    before: str | None = None,
    limit: int = 50,
) -> Sequence[InboxEvent]:
    """Newest first. `before` is the id of the last event of the previous page: the page
    goes on from there, by arrival then id, so events stored together are never skipped."""
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
    async with db.sessions() as session:
        return (await session.scalars(query)).all()


async def count_by_status(db: Database) -> dict[EventStatus, int]:
    """How many events the inbox holds in each status, every status named (0 when none)."""
    query = select(InboxEvent.status, func.count()).group_by(InboxEvent.status)
    async with db.sessions() as session:
        counted = {status: count for status, count in (await session.execute(query)).all()}
    return {status: counted.get(status, 0) for status in EventStatus}


async def get_event(db: Database, event_id: str) -> InboxEvent | None:
    async with db.sessions() as session:
        return await session.get(InboxEvent, event_id)


async def payment_id_of(db: Database, event: InboxEvent) -> str | None:
    """paydesk's payment for the PaymentIntent the event's object belongs to, if it has one."""
    intent_id = intent_id_of(orjson.loads(event.body)["data"]["object"])
    if intent_id is None:
        return None
    async with db.sessions() as session:
        payment = await payments_repository.get_payment_by_intent(session, intent_id)
    return None if payment is None else payment.id


async def replay(db: Database, *, event_ids: Sequence[str] = (), failed: bool = False) -> int:
    """Makes the named events (or every failed and dead one) due now, with a fresh count of
    attempts. Applying an event twice changes nothing, so replaying a processed one is safe."""
    query = update(InboxEvent).values(
        status=EventStatus.PENDING, attempts=0, next_attempt_at=utcnow()
    )
    if failed:
        query = query.where(InboxEvent.status.in_([EventStatus.FAILED, EventStatus.DEAD]))
    else:
        query = query.where(InboxEvent.id.in_(list(event_ids)))
    async with db.transaction() as session:
        result = await session.execute(query)
    return int(result.rowcount)  # type: ignore[attr-defined]
