"""The outbox for operators (shop key): what was sent to whom, every attempt, and resends."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from paydesk.deps import AuthorizedRoute, IdQuery, ServicesDep, ShopKey
from paydesk.notifications.models import NotificationStatus
from paydesk.notifications.schemas import NotificationDetail, NotificationList, NotificationOut

router = APIRouter(prefix="/api/notifications", tags=["notifications"], route_class=AuthorizedRoute)


@router.get("", response_model=NotificationList)
async def list_notifications(
    _shop: ShopKey,
    services: ServicesDep,
    status: NotificationStatus | None = None,
    payment_id: IdQuery = None,
    cursor: IdQuery = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> NotificationList:
    """E-mails and shop webhooks, newest first; `status` is pending, delivered or dead."""
    rows = await services.notifications.list_notifications(
        status=status, payment_id=payment_id, after=cursor, limit=limit + 1
    )
    page = list(rows[:limit])
    return NotificationList(
        data=[NotificationOut.of(n) for n in page],
        next_cursor=page[-1].id if len(rows) > limit else None,
    )


@router.get("/{notification_id}", response_model=NotificationDetail)
async def get_notification(
    notification_id: str, _shop: ShopKey, services: ServicesDep
) -> NotificationDetail:
    """One notification, what it says, and every attempt at delivering it."""
    found = await services.notifications.get(notification_id)
    return NotificationDetail.with_attempts(found.notification, found.attempts)


@router.post("/{notification_id}/retry", response_model=NotificationOut)
async def retry_notification(
    notification_id: str, _shop: ShopKey, services: ServicesDep
) -> NotificationOut:
    """A dead notification gets a fresh round of attempts; a pending one is due now."""
    return NotificationOut.of(await services.notifications.retry(notification_id))
