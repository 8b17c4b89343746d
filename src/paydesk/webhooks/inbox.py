"""Storing webhook events: many requests, few commits.

Each request hands its event to one writer task and waits; the writer inserts everything
waiting in one transaction (keyed by Stripe's event id, a duplicate is a no-op) and only
after the commit lets the requests answer. A request is never answered 2xx for an event
that is not durably stored; a failed commit fails every request in it (503)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from paydesk.db import Database, insert_new
from paydesk.gateway.types import EventSnapshot, intent_id_of
from paydesk.webhooks.models import EventStatus, InboxEvent

log = logging.getLogger(__name__)

MAX_BATCH = 500
LINGER_SECONDS = 0.002

_Pending = tuple[dict[str, Any], asyncio.Future[None]]


class InboxWriter:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.stored = asyncio.Event()  # set after each commit, for an in-process worker
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task[None] | None = None
        self._statement = insert_new(db.engine.dialect.name, InboxEvent, "id")

    async def store(self, row: dict[str, Any]) -> None:
        """Returns once the event is committed (or was already stored); raises if not, and
        TimeoutError when the commit takes longer than the database's timeout (Stripe then
        retries; if the commit lands after all, the retry is a duplicate, and a no-op)."""
        if self._queue is None or self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._write_forever(self._queue))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((row, done))
        try:
            await asyncio.wait_for(asyncio.shield(done), self.db.timeout_seconds)
        except TimeoutError:
            # The writer settles it later; nobody is left to hear how.
            done.add_done_callback(_outcome_unheard)
            raise

    async def _write_forever(self, queue: asyncio.Queue[_Pending]) -> None:
        while True:
            batch = [await queue.get()]
            if queue.empty():
                # A moment's wait lets the requests arriving together share one commit.
                await asyncio.sleep(LINGER_SECONDS)
            while len(batch) < MAX_BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                await self._insert([row for row, _ in batch])
            except Exception as exc:
                log.error("inbox commit of %d events failed: %s", len(batch), type(exc).__name__)
                if len(batch) == 1:
                    _settle(batch, exc)
                    continue
                # One bad row must not sink the others: each alone, each answered alone.
                for pending in batch:
                    try:
                        await self._insert([pending[0]])
                    except Exception as alone:
                        _settle([pending], alone)
                    else:
                        _settle([pending], None)
                self.stored.set()
                continue
            _settle(batch, None)
            self.stored.set()

    async def _insert(self, rows: list[dict[str, Any]]) -> None:
        async with self.db.writing(), self.db.engine.begin() as connection:
            await connection.execute(self._statement, rows)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def _outcome_unheard(done: asyncio.Future[None]) -> None:
    if not done.cancelled():
        done.exception()


def _settle(batch: list[_Pending], error: Exception | None) -> None:
    """Lets the waiting requests answer: 200 when stored, 503 with the error when not."""
    for _, done in batch:
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)


LIVEMODE_FLAG = "livemode differs from the configured Stripe key: stored, never applied"


def inbox_row(
    event: EventSnapshot, body: bytes, *, source: str, headers: str, livemode: bool
) -> dict[str, Any]:
    """An inbox row for a Stripe event; one from the other mode is stored but never applied."""
    other_mode = event.livemode is not livemode
    return {
        "id": event.id,
        "type": event.type,
        "livemode": event.livemode,
        "stripe_created": event.created,
        "source": source,
        "object_id": event.object.id or None,
        "payment_intent_id": intent_id_of(event.object),
        "body": body,
        "headers": headers,
        "status": EventStatus.IGNORED if other_mode else EventStatus.PENDING,
        "flag": LIVEMODE_FLAG if other_mode else None,
    }
