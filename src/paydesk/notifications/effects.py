"""Who hears of a payment's changes: the customer by e-mail, the shop by signed webhooks.

Each message is queued in the outbox in the transaction that records the change, unique per
(cause, recipient, kind), so a replayed event or a verify racing a webhook queues nothing
new. The rows are written in a savepoint: a problem here is logged and loses the message,
never the payment's change it follows."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.db import utcnow
from paydesk.notifications.models import Channel
from paydesk.notifications.outbox import (
    DISPUTE_CLOSED_STATUSES,
    EmailKind,
    EventType,
    email_payload,
    order_webhook_payload,
    webhook_payload,
)
from paydesk.notifications.repository import Message, OutboxRepository
from paydesk.notifications.shop_webhooks import subscribed
from paydesk.orders.models import OrderStatus
from paydesk.orders.repository import OrderRepository
from paydesk.payments.changes import (
    DisputeMoved,
    FraudWarned,
    PaymentState,
    RefundMoved,
    StatusChanged,
)
from paydesk.payments.models import PaymentStatus

log = logging.getLogger(__name__)

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


@dataclass(frozen=True, slots=True)
class _Notice:
    """One change's news: an e-mail to the customer, if any, and the shop's events."""

    payment: PaymentState
    order_status: str
    cause: str
    email: EmailKind | None
    events: Sequence[EventType]
    extra: dict[str, Any]


async def payment_status_changed(work: NotificationsWork, changes: Sequence[StatusChanged]) -> None:
    """A receipt, a debit under way, a failure or a cancellation for the customer; the same
    news for the shop."""
    notices = []
    for change in changes:
        email, events = _news(change)
        if events:
            extra = {
                "previous_status": change.from_status,
                "review_reason": change.payment.review_reason,
            }
            cause = f"timeline:{change.timeline_id}"
            notices.append(
                _Notice(change.payment, change.order_status, cause, email, events, extra)
            )
    await _queue(work, notices)


def _news(change: StatusChanged) -> tuple[EmailKind | None, list[EventType]]:
    """What the change of status is news of: the e-mail to send, and the shop's events."""
    to_status, from_status = change.to_status, change.from_status
    paid = [EventType.ORDER_PAID] if change.order_status == OrderStatus.PAID else []
    if to_status == PaymentStatus.SUCCEEDED and from_status in _BEFORE_SUCCESS:
        # A payment held for review (its amount or currency differs from the order's)
        # is news for the shop, but no receipt for the order's amount.
        email = None if change.payment.review_reason else EmailKind.RECEIPT
        return email, [EventType.PAYMENT_SUCCEEDED, *paid]
    if to_status == PaymentStatus.SUCCEEDED and change.was_held and paid:
        # Released from review (the order changed to the amount paid): it pays the order now.
        return EmailKind.RECEIPT, paid
    if to_status == PaymentStatus.PROCESSING and from_status != PaymentStatus.PROCESSING:
        # A bank debit on its way: the customer hears it is, the shop that the order waits.
        return EmailKind.PAYMENT_PROCESSING, [EventType.PAYMENT_PROCESSING]
    if to_status == PaymentStatus.FAILED and from_status != PaymentStatus.FAILED:
        return EmailKind.PAYMENT_FAILED, [EventType.PAYMENT_FAILED]
    if to_status == PaymentStatus.CANCELED and from_status != PaymentStatus.CANCELED:
        # An abandoned checkout's payment is canceled as its order expires: the shop hears
        # (`order.expired` too), the customer who walked away gets no e-mail of it.
        abandoned = change.payment.cancellation_reason == "abandoned"
        return None if abandoned else EmailKind.PAYMENT_CANCELED, [EventType.PAYMENT_CANCELED]
    return None, []


async def orders_paid_after_expiry(
    work: NotificationsWork, changes: Sequence[StatusChanged]
) -> None:
    """Orders paid although they had expired (a confirmation raced the expiry): the shop
    hears, once per order, so it can take back what it released."""
    notices = [
        _Notice(
            change.payment,
            change.order_status,
            f"paid_after_expiry:{change.payment.order_id}",
            None,
            [EventType.ORDER_PAID_AFTER_EXPIRY],
            {"paid_after_expiry": True},
        )
        for change in changes
    ]
    await _queue(work, notices)


@dataclass(frozen=True, slots=True)
class ExpiredOrder:
    """An order that expired unpaid, and its payment, if one was started."""

    order_id: str
    amount: int
    currency: str
    expired_at: datetime
    payment: PaymentState | None


async def orders_expired(work: NotificationsWork, orders: Sequence[ExpiredOrder]) -> None:
    """The shop hears each expiry once (`order.expired`), to release the order's stock."""
    if not orders:
        return
    try:
        async with work.session.begin_nested():
            now = utcnow()
            endpoints = subscribed(await work.outbox.enabled_endpoints(), EventType.ORDER_EXPIRED)
            messages: list[Message] = []
            for order in orders:
                body = order_webhook_payload(
                    EventType.ORDER_EXPIRED,
                    {
                        "id": order.order_id,
                        "status": OrderStatus.EXPIRED,
                        "amount": order.amount,
                        "currency": order.currency,
                        "expired_at": order.expired_at.isoformat(),
                    },
                    order.payment,
                    now,
                )
                payment_id = order.payment.id if order.payment else None
                messages.extend(
                    Message(
                        Channel.WEBHOOK,
                        EventType.ORDER_EXPIRED,
                        f"expired:{order.order_id}",
                        endpoint.id,
                        payment_id,
                        body,
                    )
                    for endpoint in endpoints
                )
            await work.outbox.queue(messages)
    except Exception:
        log.exception("could not queue order.expired for %s", [o.order_id for o in orders])


async def fraud_warned(work: NotificationsWork, changes: Sequence[FraudWarned]) -> None:
    """The shop hears of each early fraud warning once (`payment.fraud_warning`), however
    often Stripe tells it."""
    orders = await work.orders.statuses({c.payment.order_id for c in changes})
    notices = [
        _Notice(
            c.payment,
            orders[c.payment.order_id],
            f"efw:{c.warning.id}",
            None,
            [EventType.PAYMENT_FRAUD_WARNING],
            {
                "fraud_warning": {
                    "id": c.warning.id,
                    "charge": c.warning.charge,
                    "fraud_type": c.warning.fraud_type,
                    "actionable": c.warning.actionable,
                }
            },
        )
        for c in changes
    ]
    await _queue(work, notices)


async def refund_moved(work: NotificationsWork, changes: Sequence[RefundMoved]) -> None:
    """A refund that has just succeeded: the customer hears it is on its way, the shop
    whether the payment is now refunded in full or in part."""
    succeeded = [c for c in changes if c.status == "succeeded" and c.previous != "succeeded"]
    orders = await work.orders.statuses({c.payment.order_id for c in succeeded})
    notices = []
    for change in succeeded:
        full = change.payment.status == PaymentStatus.REFUNDED
        event = EventType.PAYMENT_REFUNDED if full else EventType.PAYMENT_PARTIALLY_REFUNDED
        refund = {"id": change.refund_id, "amount": change.amount, "full": full}
        notices.append(
            _Notice(
                change.payment,
                orders[change.payment.order_id],
                f"refund:{change.refund_id}",
                EmailKind.REFUND_ISSUED,
                [event],
                {"refund": refund},
            )
        )
    await _queue(work, notices)


async def dispute_moved(work: NotificationsWork, changes: Sequence[DisputeMoved]) -> None:
    """A dispute was opened or closed: the shop hears, the customer (who opened it with
    their bank) does not; each once, as the cause names the dispute and which it was."""
    orders = await work.orders.statuses({c.payment.order_id for c in changes})
    notices = []
    for change in changes:
        closed = change.status in DISPUTE_CLOSED_STATUSES
        event = EventType.DISPUTE_CLOSED if closed else EventType.DISPUTE_OPENED
        notices.append(
            _Notice(
                change.payment,
                orders[change.payment.order_id],
                f"dispute:{change.dispute_id}:{'closed' if closed else 'opened'}",
                None,
                [event],
                {"dispute": {"id": change.dispute_id, "status": change.status}},
            )
        )
    await _queue(work, notices)


async def _queue(work: NotificationsWork, notices: Sequence[_Notice]) -> None:
    """Queues every notice's messages in one statement; if that fails, each notice alone,
    so that a problem loses only its own messages."""
    if not notices:
        return
    try:
        await _queue_in_savepoint(work, notices)
    except Exception:
        if len(notices) == 1:
            _lost(notices[0])
            return
        for notice in notices:
            try:
                await _queue_in_savepoint(work, [notice])
            except Exception:
                _lost(notice)


def _lost(notice: _Notice) -> None:
    # The payment's change stands; this notification is lost, and said so loudly.
    log.exception(
        "could not queue notifications for payment %s (cause %s)", notice.payment.id, notice.cause
    )


async def _queue_in_savepoint(work: NotificationsWork, notices: Sequence[_Notice]) -> None:
    async with work.session.begin_nested():
        now = utcnow()
        endpoints = await work.outbox.enabled_endpoints()
        customers = await work.orders.customer_emails(
            {n.payment.order_id for n in notices if n.email is not None}
        )
        messages: list[Message] = []
        for notice in notices:
            payment = notice.payment
            if notice.email is not None:
                body = email_payload(notice.email, payment, notice.extra, now)
                customer = customers[payment.order_id]
                messages.append(
                    Message(Channel.EMAIL, notice.email, notice.cause, customer, payment.id, body)
                )
            for event in notice.events:
                body = webhook_payload(event, payment, notice.order_status, notice.extra, now)
                messages.extend(
                    Message(Channel.WEBHOOK, event, notice.cause, endpoint.id, payment.id, body)
                    for endpoint in subscribed(endpoints, event)
                )
        await work.outbox.queue(messages)
