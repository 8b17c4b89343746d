"""Missed deliveries: read Stripe's event list from where we stopped into the same inbox.

Stripe keeps events for 30 days and lists them newest first. The cursor is the newest event
id stored so far; `ending_before` walks forward from it, page by page. The first run reads
back a few days and sets the cursor only once it has read them all."""

from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from paydesk.db import Database
from paydesk.gateway.base import Gateway
from paydesk.webhooks.inbox import inbox_row
from paydesk.webhooks.models import InboxEvent, SyncCursor

CURSOR = "stripe_events"
FIRST_LOOKBACK_SECONDS = 3 * 24 * 3600


async def backfill(db: Database, gateway: Gateway, *, livemode: bool) -> int:
    """Stores every listed event not stored yet; returns how many events were read."""
    async with db.sessions() as session:
        cursor = await session.scalar(select(SyncCursor.value).where(SyncCursor.name == CURSOR))
    read = 0
    if cursor is None:
        newest, after = None, None
        since = int(time.time()) - FIRST_LOOKBACK_SECONDS
        while True:
            page = await gateway.list_events(starting_after=after, created_gte=since)
            await _store(db, page.events, livemode, cursor=None)
            read += len(page.events)
            if page.events:
                newest = newest or page.events[0]["id"]
                after = page.events[-1]["id"]
            if not page.has_more or not page.events:
                break
        await _store(db, [], livemode, cursor=newest)
        return read
    while True:
        page = await gateway.list_events(ending_before=cursor)
        if not page.events:
            return read
        cursor = page.events[0]["id"]
        await _store(db, page.events, livemode, cursor=cursor)
        read += len(page.events)
        if not page.has_more:
            return read


async def _store(
    db: Database, events: list[dict[str, Any]], livemode: bool, *, cursor: str | None
) -> None:
    """The events, and the cursor after them, in one transaction."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    async with db.transaction() as session:
        if events:
            rows = [
                inbox_row(e, orjson.dumps(e), source="backfill", headers="{}", livemode=livemode)
                for e in events
            ]
            await session.execute(
                dialect.insert(InboxEvent).on_conflict_do_nothing(index_elements=["id"]), rows
            )
        if cursor is not None:
            await session.execute(
                dialect.insert(SyncCursor)
                .values(name=CURSOR, value=cursor)
                .on_conflict_do_update(index_elements=["name"], set_={"value": cursor})
            )
