from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from paydesk.auth.service import require_shop
from paydesk.deps import PrincipalDep, ServicesDep
from paydesk.webhooks.models import EventStatus, InboxEvent
from paydesk.webhooks.operations import list_events

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])


class InboxEventOut(BaseModel):
    id: str
    type: str
    status: str
    source: str
    attempts: int
    stripe_created: int
    received_at: datetime
    processed_at: datetime | None
    last_error: str | None
    flag: str | None

    @classmethod
    def of(cls, event: InboxEvent) -> InboxEventOut:
        return cls(
            id=event.id,
            type=event.type,
            status=event.status,
            source=event.source,
            attempts=event.attempts,
            stripe_created=event.stripe_created,
            received_at=event.received_at,
            processed_at=event.processed_at,
            last_error=event.last_error,
            flag=event.flag,
        )


class InboxEventList(BaseModel):
    data: list[InboxEventOut]


@router.get("/events", response_model=InboxEventList)
async def list_inbox_events(
    principal: PrincipalDep,
    services: ServicesDep,
    status: EventStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> InboxEventList:
    """Stripe events as received, newest first, with what became of each (shop key)."""
    require_shop(principal)
    events = await list_events(services.db, status=status, limit=limit)
    return InboxEventList(data=[InboxEventOut.of(e) for e in events])
