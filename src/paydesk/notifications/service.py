"""The outbox for operators: what was sent to whom, every attempt, and sending again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from paydesk.db import Units, utcnow
from paydesk.errors import Conflict, NotFound
from paydesk.notifications.models import DeliveryAttempt, Notification, NotificationStatus
from paydesk.notifications.repository import OutboxRepository


class OutboxWork(Protocol):
    @property
    def outbox(self) -> OutboxRepository: ...


@dataclass(frozen=True, slots=True)
class Attempts:
    """A notification and every attempt at delivering it, oldest first."""

    notification: Notification
    attempts: list[DeliveryAttempt]


class NotificationService:
    def __init__(self, units: Units[OutboxWork], *, lease: timedelta) -> None:
        self.units = units
        self.lease = lease

    async def list_notifications(
        self,
        *,
        status: str | None = None,
        payment_id: str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> Sequence[Notification]:
        """Newest first; `after` is the last id of the previous page (ids sort by time)."""
        async with self.units.reading() as work:
            return await work.outbox.list_notifications(
                status=status, payment_id=payment_id, after=after, limit=limit
            )

    async def get(self, notification_id: str) -> Attempts:
        async with self.units.reading() as work:
            row = await work.outbox.get(notification_id)
            if row is None:
                raise NotFound(f"No notification {notification_id!r}.", param="notification_id")
            return Attempts(row, list(await work.outbox.attempts([row.id])))

    async def for_payment(self, payment_id: str) -> list[Attempts]:
        """The payment's notifications with their attempts, oldest first."""
        async with self.units.reading() as work:
            rows = await work.outbox.list_for_payment(payment_id)
            attempts = await work.outbox.attempts([n.id for n in rows])
        by_notification: dict[str, list[DeliveryAttempt]] = {n.id: [] for n in rows}
        for attempt in attempts:
            by_notification[attempt.notification_id].append(attempt)
        return [Attempts(n, by_notification[n.id]) for n in rows]

    async def retry(self, notification_id: str) -> Notification:
        """A dead notification gets a fresh round of attempts, a pending one is due now.
        Refused while a worker is sending it, and once it is delivered."""
        async with self.units.writing() as work:
            row = await work.outbox.get(notification_id, for_update=True)
            if row is None:
                raise NotFound(f"No notification {notification_id!r}.", param="notification_id")
            if row.status == NotificationStatus.DELIVERED:
                raise Conflict(
                    f"Notification {row.id} was delivered already.", code="notification_delivered"
                )
            now = utcnow()
            if (
                row.status == NotificationStatus.PENDING
                and row.next_attempt_at > now
                and await work.outbox.is_sending(row.id, since=now - self.lease)
            ):
                raise Conflict(
                    f"Notification {row.id} is being sent right now.", code="notification_sending"
                )
            if row.status == NotificationStatus.DEAD:
                row.attempts = 0
            row.status = NotificationStatus.PENDING
            row.next_attempt_at = now
            return row
