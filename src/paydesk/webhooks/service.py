"""Operator work on the inbox: list events, look at one, bring failed and dead ones back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from paydesk.db import Units
from paydesk.payments.repository import PaymentRepository
from paydesk.webhooks.models import EventStatus, InboxEvent
from paydesk.webhooks.repository import InboxRepository


class InboxAdminWork(Protocol):
    @property
    def inbox(self) -> InboxRepository: ...

    @property
    def payments(self) -> PaymentRepository: ...


class InboxService:
    def __init__(self, units: Units[InboxAdminWork]) -> None:
        self.units = units

    async def list_events(
        self,
        *,
        status: EventStatus | None = None,
        type_prefix: str | None = None,
        before: str | None = None,
        limit: int = 50,
    ) -> Sequence[InboxEvent]:
        """Newest first, paged by the last event seen (see InboxRepository.list_events)."""
        async with self.units.reading() as work:
            return await work.inbox.list_events(
                status=status, type_prefix=type_prefix, before=before, limit=limit
            )

    async def count_by_status(self) -> dict[EventStatus, int]:
        async with self.units.reading() as work:
            return await work.inbox.count_by_status()

    async def get(self, event_id: str) -> InboxEvent | None:
        async with self.units.reading() as work:
            return await work.inbox.get(event_id)

    async def payment_id_of(self, event: InboxEvent) -> str | None:
        """paydesk's payment for the PaymentIntent the event's object belongs to, if any."""
        if event.payment_intent_id is None:
            return None
        async with self.units.reading() as work:
            payment = await work.payments.get_by_intent(event.payment_intent_id)
        return None if payment is None else payment.id

    async def replay(self, *, event_ids: Sequence[str] = (), failed: bool = False) -> int:
        """Makes the named events (or every failed and dead one) due now, with a fresh count
        of attempts. Applying an event twice changes nothing, so replaying one is safe."""
        async with self.units.writing() as work:
            return await work.inbox.make_due(event_ids=event_ids, failed=failed)
