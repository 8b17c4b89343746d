"""Operator work on the inbox: list events, bring failed and dead ones back."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update

from paydesk.db import Database, utcnow
from paydesk.webhooks.models import EventStatus, InboxEvent


async def list_events(
    db: Database, *, status: EventStatus | None = None, limit: int = 50
) -> Sequence[InboxEvent]:
    query = select(InboxEvent).order_by(InboxEvent.received_at.desc()).limit(limit)
    if status is not None:
        query = query.where(InboxEvent.status == status)
    async with db.sessions() as session:
        return (await session.scalars(query)).all()


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
