"""Who hears of a payment's changes: the customer by e-mail, the shop by signed webhooks.

Each message is queued in the outbox in the transaction that records the change, unique per
(cause, recipient, kind), so a replayed event or a verify racing a webhook queues nothing
new. The rows are written in a savepoint: a problem here is logged and loses the message,
never the payment's change it follows."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.db import utcnow
from paydesk.notifications.models import Channel
from paydesk.notifications.outbox import (
    DISPUTE_CLOSED_STATUSES,
    EmailKind,
    EventType,
    email_payload,
    webhook_payload,
)
from paydesk.notifications.repository import Message, OutboxRepository
from paydesk.notifications.shop_webhooks import subscribed
from paydesk.orders.models import OrderStatus
from paydesk.orders.repository import OrderRepository
from paydesk.payments.changes import DisputeMoved, PaymentState, RefundMoved, StatusChanged
from paydesk.payments.models import PaymentStatus

log = logging.getLogger(__name__)

# An e-mail lists at most this many of the order's items.
_MAX_ITEMS = 100

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


class NotificationsWork(Protocol):
    @property
    def session(self) -> AsyncSession: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def orders(self) -> OrderRepository: ...


async def payment_status_changed(work: NotificationsWork, changes: Sequence[StatusChanged]) -> None:
    """A receipt, a failure or a cancellation for the customer; the same news for the shop."""
    for change in changes:
        email, events = _news(change)
        if not events:
            continue
        extra = {
            "previous_status": change.from_status,
            "review_reason": change.payment.review_reason,
        }
        await _queue(
            work,
            change.payment,
            change.order_status,
            cause=f"timeline:{change.timeline_id}",
            email=email,
            events=events,
            extra=extra,
        )


def _news(change: StatusChanged) -> tuple[EmailKind | None, list[EventType]]:
    """What the change of status is news of: the e-mail to send, and the shop's events."""
    to_status, from_status = change.to_status, change.from_status
    if to_status == PaymentStatus.SUCCEEDED and from_status in _BEFORE_SUCCESS:
        # A payment held for review (its amount or currency differs from the order's)
        # is news for the shop, but no receipt for the order's amount.
        email = None if change.payment.review_reason else EmailKind.RECEIPT
        paid = [EventType.ORDER_PAID] if change.order_status == OrderStatus.PAID else []
        return email, [EventType.PAYMENT_SUCCEEDED, *paid]
    if to_status == PaymentStatus.FAILED and from_status != PaymentStatus.FAILED:
        return EmailKind.PAYMENT_FAILED, [EventType.PAYMENT_FAILED]
    if to_status == PaymentStatus.CANCELED and from_status != PaymentStatus.CANCELED:
        return EmailKind.PAYMENT_CANCELED, [EventType.PAYMENT_CANCELED]
    return None, []


async def refund_moved(work: NotificationsWork, changes: Sequence[RefundMoved]) -> None:
    """A refund that has just succeeded: the customer hears it is on its way, the shop
    whether the payment is now refunded in full or in part."""
    for change in changes:
        if change.status != "succeeded" or change.previous == "succeeded":
            continue
        full = change.payment.status == PaymentStatus.REFUNDED
        event = EventType.PAYMENT_REFUNDED if full else EventType.PAYMENT_PARTIALLY_REFUNDED
        await _queue(
            work,
            change.payment,
            await _order_status(work, change.payment),
            cause=f"refund:{change.refund_id}",
            email=EmailKind.REFUND_ISSUED,
            events=[event],
            extra={"refund": {"id": change.refund_id, "amount": change.amount, "full": full}},
        )


async def dispute_moved(work: NotificationsWork, changes: Sequence[DisputeMoved]) -> None:
    """A dispute was opened or closed: the shop hears, the customer (who opened it with
    their bank) does not; each once, as the cause names the dispute and which it was."""
    for change in changes:
        closed = change.status in DISPUTE_CLOSED_STATUSES
        event = EventType.DISPUTE_CLOSED if closed else EventType.DISPUTE_OPENED
        await _queue(
            work,
            change.payment,
            await _order_status(work, change.payment),
            cause=f"dispute:{change.dispute_id}:{'closed' if closed else 'opened'}",
            email=None,
            events=[event],
            extra={"dispute": {"id": change.dispute_id, "status": change.status}},
        )


async def _order_status(work: NotificationsWork, payment: PaymentState) -> str:
    order = await work.orders.get(payment.order_id)
    assert order is not None  # a payment's order is never deleted
    return order.status


async def _queue(
    work: NotificationsWork,
    payment: PaymentState,
    order_status: str,
    *,
    cause: str,
    email: EmailKind | None,
    events: Sequence[EventType],
    extra: dict[str, Any],
) -> None:
    try:
        async with work.session.begin_nested():
            now = utcnow()
            messages: list[Message] = []
            if email is not None:
                order = await work.orders.get(payment.order_id)
                assert order is not None
                items = [
                    {
                        "name": i.name,
                        "sku": i.sku,
                        "quantity": i.quantity,
                        "unit_amount": i.unit_amount,
                    }
                    for i in await work.orders.items(order.id, limit=_MAX_ITEMS)
                ]
                head = {"id": order.id, "amount": order.amount, "currency": order.currency}
                body = email_payload(email, payment, head, items, extra, now)
                messages.append(
                    Message(Channel.EMAIL, email, cause, order.customer_email, payment.id, body)
                )
            endpoints = await work.outbox.enabled_endpoints()
            for event in events:
                body = webhook_payload(event, payment, order_status, extra, now)
                messages.extend(
                    Message(Channel.WEBHOOK, event, cause, endpoint.id, payment.id, body)
                    for endpoint in subscribed(endpoints, event)
                )
            await work.outbox.queue(messages)
    except Exception:
        # The payment's change stands; this notification is lost, and said so loudly.
        log.exception("could not queue notifications for payment %s (cause %s)", payment.id, cause)
