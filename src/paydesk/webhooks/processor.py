"""Applying stored events: many at a time, each batch in one unit of work with everything
its events cause.

A worker takes the oldest due events (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, and the
payments they are about likewise, so any number of workers on any number of machines share
the inbox and never hold the same payment's events; on SQLite one worker) and applies them
in the transaction that marks them processed: each payment's events in the order Stripe
made them, their facts, timelines, orders, ledger and outbox written set by set. An event
whose payment another worker holds, or which an older event of its PaymentIntent outside the
batch must precede, is left due for the next batch.

If the batch fails, its transaction and every effect in it roll back, and its events are
applied again one by one, so a failing event fails alone: it keeps the error, the traceback
and its attempt count, due again after an exponential backoff, dead after `max_attempts`.
A worker that dies mid-way commits nothing and its locks go with it, so each event is
applied exactly once, by whoever takes it next."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from datetime import timedelta
from typing import Generic, Protocol, TypeVar

from paydesk.db import Units, utcnow
from paydesk.gateway.types import EventSnapshot, PayoutSnapshot
from paydesk.payments.service import FactRecorder
from paydesk.payouts.service import PayoutsWork, record_payouts
from paydesk.retry import RetryPolicy
from paydesk.webhooks.handlers import (
    HANDLERS,
    PAYOUT_EVENTS,
    EventsWork,
    NotOurs,
    PaymentBusy,
    PaymentNotFoundYet,
    apply_events,
)
from paydesk.webhooks.models import EventStatus, InboxEvent
from paydesk.webhooks.repository import InboxRepository

log = logging.getLogger(__name__)

# Events applied in one unit of work: enough that a batch's statements cost little per
# event, few enough that its transaction (on SQLite, the one writer's turn) stays short.
BATCH_SIZE = 200


class InboxWork(EventsWork, PayoutsWork, Protocol):
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

    async def process_batch(self, limit: int = BATCH_SIZE) -> int:
        """Applies up to `limit` due events; returns how many were settled (applied,
        ignored or failed): 0 when none is due but those other workers hold."""
        claimed: list[str] = []
        try:
            async with self.units.writing() as work:
                rows = await work.inbox.claim_due(limit)
                claimed = [row.id for row in rows]
                return await self._apply(work, rows)
        except Exception as exc:  # the transaction, and every effect in it, is rolled back
            if not claimed:
                raise
            if len(claimed) == 1:
                await self._failed(claimed[0], exc)
                return 1
        # Some event of the batch failed: each again alone, so that it fails alone.
        return sum([await self._process_one(event_id) for event_id in claimed])

    async def _process_one(self, event_id: str) -> int:
        try:
            async with self.units.writing() as work:
                return await self._apply(work, await work.inbox.claim_due(1, event_ids=[event_id]))
        except Exception as exc:
            await self._failed(event_id, exc)
            return 1

    async def _apply(self, work: Work, rows: Sequence[InboxEvent]) -> int:
        if not rows:
            return 0
        now = utcnow()
        waiting = await work.inbox.behind_others(rows)
        known = []
        payouts: list[PayoutSnapshot] = []
        for row in rows:
            handler = HANDLERS.get(row.type)
            if row.id in waiting:
                continue
            payout = EventSnapshot.parse(row.body).object if row.type in PAYOUT_EVENTS else None
            if isinstance(payout, PayoutSnapshot):
                payouts.append(payout)
                row.status, row.processed_at = EventStatus.PROCESSED, now
            elif handler is None:
                row.status, row.processed_at = EventStatus.IGNORED, now
            else:
                known.append((row, EventSnapshot.parse(row.body), handler))
        await record_payouts(work, payouts)
        unapplied = await apply_events(
            work, self.recorder, [(event, handler) for _, event, handler in known]
        )
        settled = len(rows) - len(waiting)
        for row, _, _ in known:
            why = unapplied.get(row.id)
            if isinstance(why, PaymentBusy):
                settled -= 1
            elif isinstance(why, PaymentNotFoundYet):
                self._note_failure(row, why)
            else:
                row.processed_at = now
                ignored = isinstance(why, NotOurs)
                row.status = EventStatus.IGNORED if ignored else EventStatus.PROCESSED
                row.last_error = str(why) if ignored else None
        return settled

    async def _failed(self, event_id: str, exc: Exception) -> None:
        async with self.units.writing() as work:
            row = await work.inbox.get(event_id, for_update=True)
            if row is not None and row.status in (EventStatus.PENDING, EventStatus.FAILED):
                self._note_failure(row, exc)

    def _note_failure(self, row: InboxEvent, exc: Exception) -> None:
        """One more failed attempt: due again after the backoff, or dead after the last."""
        row.attempts += 1
        row.last_error = f"{type(exc).__name__}: {exc}"
        # An error raised while applying has its traceback; a payment not found has none.
        raised = exc.__traceback__ is not None
        row.last_traceback = "".join(traceback.format_exception(exc)) if raised else None
        if row.attempts >= self.retry.max_attempts:
            row.status = EventStatus.DEAD
            if isinstance(exc, PaymentNotFoundYet):
                row.flag = f"never resolved: {exc}"
            log.error("stripe event %s is dead after %d attempts: %s", row.id, row.attempts, exc)
        else:
            row.status = EventStatus.FAILED
            row.next_attempt_at = utcnow() + timedelta(seconds=self.retry.delay(row.attempts))
            log.warning("stripe event %s failed (attempt %d): %s", row.id, row.attempts, exc)

    async def drain(self) -> int:
        """Applies every due event; returns how many were settled."""
        count = 0
        while settled := await self.process_batch():
            count += settled
        return count
