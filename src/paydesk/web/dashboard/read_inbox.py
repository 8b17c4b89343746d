"""The inbox's read model: a page of stored Stripe events with the count in each status, and
one event as its page shows it (its payment, the headers kept, its body with secrets hidden).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from paydesk.db import Units
from paydesk.unit_of_work import UnitOfWork
from paydesk.webhooks.models import EventStatus, InboxEvent

# The receiver keeps only these; showing nothing else means a header added there later
# (an Authorization, a cookie) can never appear on a page by accident.
SHOWN_HEADERS = ("content-type", "stripe-signature", "user-agent")
# Shown to the customer's browser only: an operator reading an event has no use for it.
_MASKED_FIELDS = frozenset({"client_secret"})
MASK = "•••• (hidden)"


@dataclass(frozen=True, slots=True)
class InboxPage:
    """A page of events, newest first, and how many events the inbox holds per status."""

    events: Sequence[InboxEvent]
    older: str | None  # the last event shown, when older ones match: the next page's cursor
    counts: dict[EventStatus, int]


@dataclass(frozen=True, slots=True)
class EventDetail:
    """One stored event as its page shows it."""

    event: InboxEvent
    stripe_created_at: datetime
    payment_id: str | None  # paydesk's payment its object belongs to, if any
    headers: list[tuple[str, str]]  # the shown ones, by name
    body: str  # indented JSON, client secrets hidden


class InboxReadModel:
    """The webhook inbox as the dashboard shows it."""

    def __init__(self, units: Units[UnitOfWork]) -> None:
        self.units = units

    async def page(
        self, *, status: EventStatus | None, type_prefix: str, before: str | None, limit: int
    ) -> InboxPage:
        """Up to `limit` events with this status and type prefix (None, "": any), older than
        the event `before` (see InboxRepository.list_events)."""
        async with self.units.reading() as work:
            events = await work.inbox.list_events(
                status=status, type_prefix=type_prefix, before=before, limit=limit + 1
            )
            counts = await work.inbox.count_by_status()
        older = events[limit - 1].id if len(events) > limit else None
        return InboxPage(events[:limit], older, counts)

    async def event(self, event_id: str) -> EventDetail | None:
        """The event with its payment; None when the inbox holds no such event."""
        async with self.units.reading() as work:
            event = await work.inbox.get(event_id)
            if event is None:
                return None
            payment = (
                None
                if event.payment_intent_id is None
                else await work.payments.get_by_intent(event.payment_intent_id)
            )
        return EventDetail(
            event=event,
            stripe_created_at=datetime.fromtimestamp(event.stripe_created, UTC),
            payment_id=None if payment is None else payment.id,
            headers=_shown_headers(event),
            body=_shown_body(event),
        )


def masked(value: Any) -> Any:
    """A Stripe object with its client secrets hidden, at any depth."""
    if isinstance(value, dict):
        return {
            k: MASK if k in _MASKED_FIELDS and isinstance(v, str) else masked(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def _shown_body(event: InboxEvent) -> str:
    return orjson.dumps(masked(orjson.loads(event.body)), option=orjson.OPT_INDENT_2).decode()


def _shown_headers(event: InboxEvent) -> list[tuple[str, str]]:
    stored: dict[str, str] = orjson.loads(event.headers)
    return [(name, value) for name, value in sorted(stored.items()) if name in SHOWN_HEADERS]
