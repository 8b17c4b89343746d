"""Queueing notifications in the transaction that changes the payment.

Each function writes outbox rows with `INSERT … ON CONFLICT DO NOTHING` on (cause, recipient,
kind): the same change applied twice, by a replayed event or a verify racing a webhook,
queues nothing the second time. The rows are written in a savepoint, so a problem here is
logged and loses the notification, never the payment change it follows."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.db import new_id, utcnow
from paydesk.errors import Conflict, NotFound
from paydesk.notifications.models import (
    Channel,
    DeliveryAttempt,
    Notification,
    NotificationStatus,
)
from paydesk.notifications.shop_webhooks import enabled_endpoints, subscribed
from paydesk.orders.models import Order, OrderItem, OrderStatus
from paydesk.payments.models import Payment, PaymentStatus

log = logging.getLogger(__name__)

# A delivery attempt's error while its message is on the wire; it stays if the worker stopped.
SENDING = "sending; no outcome recorded"

# A shop webhook's body stays well under this; the e-mail's item list is cut to fit.
MAX_PAYLOAD_BYTES = 20_000
_MAX_ITEMS = 100


class EmailKind(StrEnum):
    RECEIPT = "receipt"
    PAYMENT_FAILED = "payment_failed"
    REFUND_ISSUED = "refund_issued"
    PAYMENT_CANCELED = "payment_canceled"


class EventType(StrEnum):
    """What paydesk tells the shop's endpoints."""

    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_REFUNDED = "payment.refunded"
    PAYMENT_PARTIALLY_REFUNDED = "payment.partially_refunded"
    PAYMENT_CANCELED = "payment.canceled"
    DISPUTE_OPENED = "dispute.opened"
    DISPUTE_CLOSED = "dispute.closed"
    ORDER_PAID = "order.paid"


# A payment enters `succeeded` from one of these only once: Stripe never un-succeeds a
# PaymentIntent. Coming back to it from a refund or a dispute is not a new payment.
_BEFORE_SUCCESS = frozenset(
    {
        None,
        PaymentStatus.PENDING,
        PaymentStatus.REQUIRES_ACTION,
        PaymentStatus.PROCESSING,
        PaymentStatus.REQUIRES_CAPTURE,
        PaymentStatus.FAILED,
    }
)

# Stripe's dispute statuses that end it (an inquiry ends as `warning_closed`).
DISPUTE_CLOSED_STATUSES = frozenset({"won", "lost", "warning_closed"})


async def notify_payment_change(
    session: AsyncSession,
    payment: Payment,
    order: Order,
    *,
    from_status: str | None,
    to_status: str,
    cause: str,
) -> None:
    """The messages a change of the payment's status sends; call it after the payment's
    and the order's new statuses are set."""
    email: EmailKind | None = None
    events: list[EventType] = []
    if to_status == PaymentStatus.SUCCEEDED and from_status in _BEFORE_SUCCESS:
        # A payment held for review (its amount or currency differs from the order's)
        # is news for the shop, but no receipt for the order's amount.
        email = None if payment.review_reason else EmailKind.RECEIPT
        events.append(EventType.PAYMENT_SUCCEEDED)
        if order.status == OrderStatus.PAID:
            events.append(EventType.ORDER_PAID)
    elif to_status == PaymentStatus.FAILED and from_status != PaymentStatus.FAILED:
        email = EmailKind.PAYMENT_FAILED
        events.append(EventType.PAYMENT_FAILED)
    elif to_status == PaymentStatus.CANCELED and from_status != PaymentStatus.CANCELED:
        email = EmailKind.PAYMENT_CANCELED
        events.append(EventType.PAYMENT_CANCELED)
    if not events:
        return
    extra = {"previous_status": from_status, "review_reason": payment.review_reason}
    await _queue(session, payment, order, cause=cause, email=email, events=events, extra=extra)


async def notify_refund(
    session: AsyncSession, payment: Payment, order: Order, *, refund_id: str, amount: int
) -> None:
    """A refund succeeded (`refund_id` is Stripe's); call it after the payment's status is
    set, which tells a full refund from a partial one."""
    full = payment.status == PaymentStatus.REFUNDED
    event = EventType.PAYMENT_REFUNDED if full else EventType.PAYMENT_PARTIALLY_REFUNDED
    await _queue(
        session,
        payment,
        order,
        cause=f"refund:{refund_id}",
        email=EmailKind.REFUND_ISSUED,
        events=[event],
        extra={"refund": {"id": refund_id, "amount": amount, "full": full}},
    )


async def notify_dispute(
    session: AsyncSession, payment: Payment, order: Order, *, dispute_id: str, status: str
) -> None:
    """A dispute was opened or closed (`status` as Stripe names it); the shop hears, the
    customer (who opened it with their bank) does not."""
    closed = status in DISPUTE_CLOSED_STATUSES
    event = EventType.DISPUTE_CLOSED if closed else EventType.DISPUTE_OPENED
    await _queue(
        session,
        payment,
        order,
        cause=f"dispute:{dispute_id}:{'closed' if closed else 'opened'}",
        email=None,
        events=[event],
        extra={"dispute": {"id": dispute_id, "status": status}},
    )


async def _queue(
    session: AsyncSession,
    payment: Payment,
    order: Order,
    *,
    cause: str,
    email: EmailKind | None,
    events: Sequence[EventType],
    extra: dict[str, Any],
) -> None:
    try:
        async with session.begin_nested():
            now = utcnow()
            rows: list[dict[str, Any]] = []
            if email is not None:
                items = await _items(session, order.id)
                body = email_payload(email, payment, order, items, extra, now)
                rows.append(_row(Channel.EMAIL, email, cause, order.customer_email, payment, body))
            endpoints = await enabled_endpoints(session) if events else []
            for event in events:
                body = webhook_payload(event, payment, order, extra, now)
                for endpoint in subscribed(endpoints, event):
                    rows.append(_row(Channel.WEBHOOK, event, cause, endpoint.id, payment, body))
            if rows:
                await session.execute(_insert(session), rows)
    except Exception:
        # The payment's change stands; this notification is lost, and said so loudly.
        log.exception("could not queue notifications for payment %s (cause %s)", payment.id, cause)


def _row(
    channel: Channel, kind: str, cause: str, recipient: str, payment: Payment, payload: bytes
) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": new_id("ntf"),
        "channel": channel,
        "kind": kind,
        "cause": cause,
        "recipient": recipient,
        "payment_id": payment.id,
        "payload": payload.decode(),
        "status": NotificationStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def _insert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(Notification).on_conflict_do_nothing(
        index_elements=["cause", "recipient", "kind"]
    )


async def _items(session: AsyncSession, order_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(OrderItem.name, OrderItem.sku, OrderItem.quantity, OrderItem.unit_amount)
        .where(OrderItem.order_id == order_id)
        .order_by(OrderItem.position)
        .limit(_MAX_ITEMS)
    )
    return [
        {"name": name, "sku": sku, "quantity": quantity, "unit_amount": unit_amount}
        for name, sku, quantity, unit_amount in rows
    ]


def email_payload(
    kind: EmailKind,
    payment: Payment,
    order: Order,
    items: list[dict[str, Any]],
    extra: dict[str, Any],
    at: datetime,
) -> bytes:
    """What the e-mail says, as of the change; rendered when it is sent."""
    body: dict[str, Any] = {
        "template": kind,
        "at": at.isoformat(),
        "order": {"id": order.id, "amount": order.amount, "currency": order.currency},
        "payment": {
            "id": payment.id,
            "status": payment.status,
            "amount": payment.amount,
            "currency": payment.currency,
            "error_message": payment.last_error_message,
        },
        "items": items,
        **extra,
    }
    encoded = orjson.dumps(body)
    while len(encoded) > MAX_PAYLOAD_BYTES and body["items"]:
        body["items"] = body["items"][: len(body["items"]) // 2]
        body["items_truncated"] = True
        encoded = orjson.dumps(body)
    return encoded


def webhook_payload(
    event: EventType, payment: Payment, order: Order, extra: dict[str, Any], at: datetime
) -> bytes:
    """A Standard Webhooks body: `type`, `timestamp` and `data` with ids and the new state."""
    data: dict[str, Any] = {
        "payment": {
            "id": payment.id,
            "status": payment.status,
            "amount": payment.amount,
            "currency": payment.currency,
            "order_id": order.id,
            "stripe_payment_intent_id": payment.stripe_payment_intent_id,
        },
        "order": {"id": order.id, "status": order.status},
        **extra,
    }
    stamp = at.isoformat().replace("+00:00", "Z")
    encoded = orjson.dumps({"type": event, "timestamp": stamp, "data": data})
    assert len(encoded) < MAX_PAYLOAD_BYTES
    return encoded


# --- Operators ---------------------------------------------------------------------------


async def list_notifications(
    session: AsyncSession,
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
    return (await session.scalars(query)).all()


async def get_notification(session: AsyncSession, notification_id: str) -> Notification:
    row = await session.get(Notification, notification_id)
    if row is None:
        raise NotFound(f"No notification {notification_id!r}.", param="notification_id")
    return row


async def attempts_of(session: AsyncSession, notification_id: str) -> Sequence[DeliveryAttempt]:
    return (
        await session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.notification_id == notification_id)
            .order_by(DeliveryAttempt.id)
        )
    ).all()


async def retry_notification(
    session: AsyncSession, notification_id: str, *, lease: timedelta
) -> Notification:
    """A dead notification gets a fresh round of attempts, a pending one is due now.
    Refused while a worker is sending it, and once it is delivered."""
    row = await session.get(Notification, notification_id, with_for_update=True)
    if row is None:
        raise NotFound(f"No notification {notification_id!r}.", param="notification_id")
    if row.status == NotificationStatus.DELIVERED:
        raise Conflict(
            f"Notification {row.id} was delivered already.", code="notification_delivered"
        )
    now = utcnow()
    if row.status == NotificationStatus.PENDING and row.next_attempt_at > now:
        sending = await session.scalar(
            select(DeliveryAttempt.id).where(
                DeliveryAttempt.notification_id == row.id,
                DeliveryAttempt.error == SENDING,
                DeliveryAttempt.attempted_at > now - lease,
            )
        )
        if sending is not None:
            raise Conflict(
                f"Notification {row.id} is being sent right now.", code="notification_sending"
            )
    if row.status == NotificationStatus.DEAD:
        row.attempts = 0
    row.status = NotificationStatus.PENDING
    row.next_attempt_at = now
    return row
