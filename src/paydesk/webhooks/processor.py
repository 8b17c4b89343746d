"""Applying stored events: each in one unit of work with everything it causes.

A worker takes the oldest due event (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so any
number of workers on any number of machines share the inbox; on SQLite one worker) and
applies it in the same transaction that marks it processed. If applying fails, that
transaction and every effect in it roll back, and the event keeps the error, the traceback
and its attempt count, due again after an exponential backoff, dead after `max_attempts`.
A worker that dies mid-way commits nothing and its lock goes with it, so the event is
applied exactly once, by whoever takes it next."""

from __future__ import annotations

import logging
import traceback
from datetime import timedelta
from typing import Generic, Protocol, TypeVar

from paydesk.db import Units, utcnow
from paydesk.gateway.types import EventSnapshot
from paydesk.payments.service import FactRecorder
from paydesk.retry import RetryPolicy
from paydesk.webhooks.handlers import (
    HANDLERS,
    EventsWork,
    NotOurs,
    PaymentNotFoundYet,
    apply_event,
)
from paydesk.webhooks.models import EventStatus, InboxEvent
from paydesk.webhooks.repository import InboxRepository

log = logging.getLogger(__name__)


class InboxWork(EventsWork, Protocol):
    """What the processor needs of a unit of work."""

    @property
    def inbox(self) -> InboxRepository: ...


Work = TypeVar("Work", bound=InboxWork)


class InboxProcessor(Generic[Work]):
    def __init__(
        self, units: Units[Work], recorder: FactRecorder[Work], retry: RetryPolicy | None = None
    ) -> None:
        self.units = units
        self.recorder = recorder
        self.retry = retry or RetryPolicy()

    def with_retry(self, retry: RetryPolicy) -> InboxProcessor[Work]:
        """The same processor, retrying failures by `retry` instead."""
        return InboxProcessor(self.units, self.recorder, retry)

    async def process_next(self) -> bool:
        """Applies one due event; False when none is due."""
        claimed: str | None = None
        try:
            async with self.units.writing() as work:
                row = await work.inbox.claim_oldest_due()
                if row is None:
                    return False
                claimed = row.id
                await self._apply(work, row)
                return True
        except Exception as exc:  # the transaction, and every effect in it, is rolled back
            if claimed is None:
                raise
            await self._failed(claimed, exc)
            return True

    async def _apply(self, work: Work, row: InboxEvent) -> None:
        handler = HANDLERS.get(row.type)
        row.processed_at = utcnow()
        if handler is None:
            row.status = EventStatus.IGNORED
            return
        try:
            await apply_event(work, self.recorder, EventSnapshot.parse(row.body), handler)
        except NotOurs as exc:
            row.status, row.last_error = EventStatus.IGNORED, str(exc)
        else:
            row.status, row.last_error = EventStatus.PROCESSED, None

    async def _failed(self, event_id: str, exc: Exception) -> None:
        async with self.units.writing() as work:
            row = await work.inbox.get(event_id, for_update=True)
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
