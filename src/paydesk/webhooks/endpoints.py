from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from paydesk.deps import AuthorizedRoute, ServicesDep, ShopKey
from paydesk.webhooks.models import EventStatus

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"], route_class=AuthorizedRoute)


class InboxEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

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


class InboxEventList(BaseModel):
    data: list[InboxEventOut]


@router.get("/events", response_model=InboxEventList)
async def list_inbox_events(
    _shop: ShopKey,
    services: ServicesDep,
    status: EventStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> InboxEventList:
    """Stripe events as received, newest first, with what became of each (shop key)."""
    events = await services.events.list_events(status=status, limit=limit)
    return InboxEventList(data=[InboxEventOut.model_validate(e) for e in events])
