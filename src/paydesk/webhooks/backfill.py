"""Missed deliveries: read Stripe's event list from where we stopped into the same inbox.

Stripe keeps events for 30 days and lists them newest first. The cursor is the newest event
id stored so far; `ending_before` walks forward from it, page by page. The first run reads
back a few days and sets the cursor only once it has read them all."""

from __future__ import annotations

import time
from typing import Any, Protocol

import orjson

from paydesk.db import Units
from paydesk.gateway.base import Gateway
from paydesk.gateway.types import EventSnapshot
from paydesk.webhooks.inbox import inbox_row
from paydesk.webhooks.repository import InboxRepository

CURSOR = "stripe_events"
FIRST_LOOKBACK_SECONDS = 3 * 24 * 3600


class BackfillWork(Protocol):
    @property
    def inbox(self) -> InboxRepository: ...


async def backfill(units: Units[BackfillWork], gateway: Gateway, *, livemode: bool) -> int:
    """Stores every listed event not stored yet; returns how many events were read."""
    async with units.reading() as work:
        cursor = await work.inbox.cursor(CURSOR)
    read = 0
    if cursor is None:
        newest, after = None, None
        since = int(time.time()) - FIRST_LOOKBACK_SECONDS
        while True:
            page = await gateway.list_events(starting_after=after, created_gte=since)
            await _store(units, page.events, livemode, cursor=None)
            read += len(page.events)
            if page.events:
                newest = newest or page.events[0]["id"]
                after = page.events[-1]["id"]
            if not page.has_more or not page.events:
                break
        await _store(units, [], livemode, cursor=newest)
        return read
    while True:
        page = await gateway.list_events(ending_before=cursor)
        if not page.events:
            return read
        cursor = page.events[0]["id"]
        await _store(units, page.events, livemode, cursor=cursor)
        read += len(page.events)
        if not page.has_more:
            return read


async def _store(
    units: Units[BackfillWork], events: list[dict[str, Any]], livemode: bool, *, cursor: str | None
) -> None:
    """The events, as Stripe's list gave them, and the cursor after them, in one unit of work."""
    rows = [
        inbox_row(
            EventSnapshot.from_stripe(e),
            orjson.dumps(e),
            source="backfill",
            headers="{}",
            livemode=livemode,
        )
        for e in events
    ]
    async with units.writing() as work:
        await work.inbox.store(rows)
        if cursor is not None:
            await work.inbox.set_cursor(CURSOR, cursor)
