from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel

from paydesk.notifications.models import DeliveryAttempt, Notification


class NotificationOut(BaseModel):
    id: str
    channel: str
    kind: str
    cause: str
    recipient: str  # an e-mail address, or a webhook endpoint id
    payment_id: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, row: Notification) -> NotificationOut:
        return cls(
            id=row.id,
            channel=row.channel,
            kind=row.kind,
            cause=row.cause,
            recipient=row.recipient,
            payment_id=row.payment_id,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
        )


class DeliveryAttemptOut(BaseModel):
    attempted_at: datetime
    succeeded: bool
    status_code: int | None
    smtp_reply: str | None
    error: str | None
    duration_ms: int

    @classmethod
    def of(cls, row: DeliveryAttempt) -> DeliveryAttemptOut:
        return cls(
            attempted_at=row.attempted_at,
            succeeded=row.succeeded,
            status_code=row.status_code,
            smtp_reply=row.smtp_reply,
            error=row.error,
            duration_ms=row.duration_ms,
        )


class NotificationDetail(NotificationOut):
    payload: dict[str, Any]
    delivery_attempts: list[DeliveryAttemptOut]

    @classmethod
    def with_attempts(
        cls, row: Notification, attempts: list[DeliveryAttempt]
    ) -> NotificationDetail:
        return cls(
            **NotificationOut.of(row).model_dump(),
            payload=orjson.loads(row.payload),
            delivery_attempts=[DeliveryAttemptOut.of(a) for a in attempts],
        )


class NotificationList(BaseModel):
    data: list[NotificationOut]
    next_cursor: str | None
