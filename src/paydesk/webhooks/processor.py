"""Applying stored events: each in one transaction with its effects.

A worker takes the oldest due event (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so any
number of workers on any number of machines share the inbox; on SQLite one worker). The
handler's effects run in a savepoint: if they fail they are rolled back, and the event
keeps the error, the traceback and its attempt count, due again after an exponential
backoff, dead after `max_attempts`. A worker that dies mid-way commits nothing and its
lock goes with it, so the event is applied exactly once, by whoever takes it next."""

from __future__ import annotations

import logging
import random
import traceback
from dataclasses import dataclass
from datetime import timedelta

import orjson
from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.db import Database, utcnow
from paydesk.webhooks.handlers import (
    HANDLERS,
    NotOurs,
    PaymentNotFoundYet,
    StripeEvent,
    apply_event,
)
from paydesk.webhooks.models import EventStatus, InboxEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay_seconds: float = 2.0
    max_delay_seconds: float = 3600.0

    def delay(self, attempts: int) -> float:
        """Exponential, with jitter so that many failures do not come back together."""
        ceiling = min(self.max_delay_seconds, self.base_delay_seconds * 2.0 ** (attempts - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def _oldest_due() -> Select[InboxEvent]:
    """The oldest event that is new, or failed and has waited long enough."""
    return (
        select(InboxEvent)
        .where(
            or_(InboxEvent.status == EventStatus.PENDING, InboxEvent.status == EventStatus.FAILED),
            InboxEvent.next_attempt_at <= utcnow(),
        )
        .order_by(InboxEvent.stripe_created, InboxEvent.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


class InboxProcessor:
    def __init__(self, db: Database, retry: RetryPolicy | None = None) -> None:
        self.db = db
        self.retry = retry or RetryPolicy()

    async def process_next(self) -> bool:
        """Applies one due event; False when none is due."""
        claimed: str | None = None
        try:
            async with self.db.transaction() as session:
                row = await session.scalar(_oldest_due())
                if row is None:
                    return False
                claimed = row.id
                await self._apply(session, row)
                return True
        except Exception as exc:  # the transaction, and every effect in it, is rolled back
            if claimed is None:
                raise
            await self._failed(claimed, exc)
            return True

    async def _apply(self, session: AsyncSession, row: InboxEvent) -> None:
        handler = HANDLERS.get(row.type)
        row.processed_at = utcnow()
        if handler is None:
            row.status = EventStatus.IGNORED
            return
        event = StripeEvent(
            id=row.id,
            type=row.type,
            created=row.stripe_created,
            object=orjson.loads(row.body)["data"]["object"],
        )
        try:
            await apply_event(session, event, handler)
        except NotOurs as exc:
            row.status, row.last_error = EventStatus.IGNORED, str(exc)
        else:
            row.status, row.last_error = EventStatus.PROCESSED, None

    async def _failed(self, event_id: str, exc: Exception) -> None:
        async with self.db.transaction() as session:
            row = await session.get(InboxEvent, event_id, with_for_update=True)
            if row is None or row.status not in (EventStatus.PENDING, EventStatus.FAILED):
                return
            row.attempts += 1
            row.last_error = f"{type(exc).__name__}: {exc}"
            row.last_traceback = "".join(traceback.format_exception(exc))
            if row.attempts >= self.retry.max_attempts:
                row.status = EventStatus.DEAD
                if isinstance(exc, PaymentNotFoundYet):
                    row.flag = f"never resolved: {exc}"
                log.error(
                    "stripe event %s is dead after %d attempts: %s", row.id, row.attempts, exc
                )
            else:
                row.status = EventStatus.FAILED
                row.next_attempt_at = utcnow() + timedelta(seconds=self.retry.delay(row.attempts))
                log.warning("stripe event %s failed (attempt %d): %s", row.id, row.attempts, exc)

    async def drain(self) -> int:
        """Applies every due event; returns how many were taken."""
        count = 0
        while await self.process_next():
            count += 1
        return count
