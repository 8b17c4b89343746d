"""Every query on the outbox, and the one place its rows are made."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.db import insert_new, new_id, utcnow
from paydesk.notifications.models import (
    Channel,
    DeliveryAttempt,
    EndpointStatus,
    Notification,
    NotificationStatus,
    ShopWebhookEndpoint,
)
from paydesk.notifications.outbox import SENDING
from paydesk.notifications.shop_webhooks import enabled_endpoints


@dataclass(frozen=True, slots=True)
class Message:
    """A row for the outbox: what to send, to whom, and the change that causes it."""

    channel: Channel
    kind: str
    cause: str
    recipient: str
    payment_id: str | None
    payload: bytes


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def queue(self, messages: Sequence[Message]) -> None:
        """Queues the messages with `INSERT … ON CONFLICT DO NOTHING` on (cause, recipient,
        kind): the same change applied twice queues nothing the second time."""
        if not messages:
            return
        now = utcnow()
        dialect = self.session.get_bind().dialect.name
        await self.session.execute(
            insert_new(dialect, Notification, "cause", "recipient", "kind"),
            [
                {
                    "id": new_id("ntf"),
                    "channel": m.channel,
                    "kind": m.kind,
                    "cause": m.cause,
                    "recipient": m.recipient,
                    "payment_id": m.payment_id,
                    "payload": m.payload.decode(),
                    "status": NotificationStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for m in messages
            ],
        )

    async def enabled_endpoints(self) -> list[ShopWebhookEndpoint]:
        return await enabled_endpoints(self.session)

    async def list_notifications(
        self,
        *,
        status: str | None = None,
        payment_id: str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> Sequence[Notification]:
        """Newest first; `after` is the last id of the previous page (ids sort by time)."""
        query = select(Notification).order_by(Notification.id.desc()).limit(limit)
        if status is not None:
            query = query.where(Notification.status == status)
        if payment_id is not None:
            query = query.where(Notification.payment_id == payment_id)
        if after is not None:
            query = query.where(Notification.id < after)
        return (await self.session.scalars(query)).all()

    async def list_for_payment(self, payment_id: str) -> Sequence[Notification]:
        """The payment's notifications, oldest first."""
        query = (
            select(Notification)
            .where(Notification.payment_id == payment_id)
            .order_by(Notification.created_at, Notification.id)
        )
        return (await self.session.scalars(query)).all()

    async def get(self, notification_id: str, *, for_update: bool = False) -> Notification | None:
        return await self.session.get(Notification, notification_id, with_for_update=for_update)

    async def attempts(self, notification_ids: Sequence[str]) -> Sequence[DeliveryAttempt]:
        """The delivery attempts of these notifications, oldest first."""
        if not notification_ids:
            return []
        query = (
            select(DeliveryAttempt)
            .where(DeliveryAttempt.notification_id.in_(notification_ids))
            .order_by(DeliveryAttempt.id)
        )
        return (await self.session.scalars(query)).all()

    async def is_sending(self, notification_id: str, *, since: datetime) -> bool:
        """Whether a worker began sending it after `since` and has not said how it went."""
        found = await self.session.scalar(
            select(DeliveryAttempt.id).where(
                DeliveryAttempt.notification_id == notification_id,
                DeliveryAttempt.error == SENDING,
                DeliveryAttempt.attempted_at > since,
            )
        )
        return found is not None

    async def list_due(self, now: datetime, *, limit: int) -> Sequence[Notification]:
        """Up to `limit` pending notifications due by `now`, the longest due first, locked
        for this unit of work; rows that other units of work hold locked are skipped (on
        PostgreSQL, `FOR UPDATE SKIP LOCKED`)."""
        query = (
            select(Notification)
            .where(
                Notification.status == NotificationStatus.PENDING,
                Notification.next_attempt_at <= now,
            )
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(query)).all()

    async def start_attempts(
        self, notifications: Sequence[Notification], *, at: datetime
    ) -> list[DeliveryAttempt]:
        """A delivery attempt for each notification, begun `at` and marked as sending until
        its outcome is recorded; written at once (with every change to the notifications),
        so each has its id."""
        attempts = [
            DeliveryAttempt(notification_id=n.id, attempted_at=at, succeeded=False, error=SENDING)
            for n in notifications
        ]
        self.session.add_all(attempts)
        await self.session.flush()
        return attempts

    async def record_attempt(
        self,
        attempt_id: int,
        *,
        succeeded: bool,
        status_code: int | None,
        smtp_reply: str | None,
        error: str | None,
        duration_ms: int,
    ) -> None:
        """How an attempt went."""
        await self.session.execute(
            update(DeliveryAttempt)
            .where(DeliveryAttempt.id == attempt_id)
            .values(
                succeeded=succeeded,
                status_code=status_code,
                smtp_reply=smtp_reply,
                error=error,
                duration_ms=duration_ms,
            )
        )

    async def mark_delivered(self, notification_id: str, *, at: datetime) -> None:
        """Delivered is final, whoever holds the claim now: one UPDATE, no read."""
        await self.session.execute(
            update(Notification)
            .where(
                Notification.id == notification_id,
                Notification.status != NotificationStatus.DELIVERED,
            )
            .values(status=NotificationStatus.DELIVERED, delivered_at=at, last_error=None)
        )

    async def get_endpoint(self, endpoint_id: str) -> ShopWebhookEndpoint | None:
        return await self.session.get(ShopWebhookEndpoint, endpoint_id)

    async def clear_endpoint_failing(self, endpoint_id: str) -> None:
        """The endpoint took a delivery: it is failing no longer."""
        await self.session.execute(
            update(ShopWebhookEndpoint)
            .where(
                ShopWebhookEndpoint.id == endpoint_id,
                ShopWebhookEndpoint.failing_since.is_not(None),
            )
            .values(failing_since=None)
        )

    async def mark_endpoint_failing(self, endpoint_id: str, *, at: datetime) -> datetime | None:
        """The endpoint refused a delivery: failing since `at`, unless it was already.
        Returns since when it is failing (None once the endpoint is removed)."""
        await self.session.execute(
            update(ShopWebhookEndpoint)
            .where(
                ShopWebhookEndpoint.id == endpoint_id,
                ShopWebhookEndpoint.failing_since.is_(None),
            )
            .values(failing_since=at)
        )
        endpoint = await self.session.get(ShopWebhookEndpoint, endpoint_id)
        return endpoint.failing_since if endpoint is not None else None

    async def disable_endpoint(self, endpoint_id: str, reason: str) -> None:
        """Disables the endpoint, saying why, unless it is disabled already."""
        await self.session.execute(
            update(ShopWebhookEndpoint)
            .where(
                ShopWebhookEndpoint.id == endpoint_id,
                ShopWebhookEndpoint.status == EndpointStatus.ENABLED,
            )
            .values(status=EndpointStatus.DISABLED, disabled_reason=reason)
        )
