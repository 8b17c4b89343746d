"""What paydesk's messages say: the e-mails to customers and the webhooks to the shop, as
payloads fixed when the change that causes them is recorded (notifications/effects.py
queues them in the same transaction) and rendered or signed when they are sent."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from paydesk.payments.changes import PaymentState

# A delivery attempt's error while its message is on the wire; it stays if the worker stopped.
SENDING = "sending; no outcome recorded"

# A shop webhook's body stays well under this.
MAX_PAYLOAD_BYTES = 20_000


class EmailKind(StrEnum):
    RECEIPT = "receipt"
    PAYMENT_PROCESSING = "payment_processing"
    PAYMENT_FAILED = "payment_failed"
    REFUND_ISSUED = "refund_issued"
    PAYMENT_CANCELED = "payment_canceled"


class EventType(StrEnum):
    """What paydesk tells the shop's endpoints."""

    PAYMENT_PROCESSING = "payment.processing"
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_REFUNDED = "payment.refunded"
    PAYMENT_PARTIALLY_REFUNDED = "payment.partially_refunded"
    PAYMENT_CANCELED = "payment.canceled"
    DISPUTE_OPENED = "dispute.opened"
    DISPUTE_CLOSED = "dispute.closed"
    ORDER_PAID = "order.paid"
    ORDER_EXPIRED = "order.expired"
    ORDER_PAID_AFTER_EXPIRY = "order.paid_after_expiry"
    PAYMENT_FRAUD_WARNING = "payment.fraud_warning"


# Stripe's dispute statuses that end it (an inquiry ends as `warning_closed`).
DISPUTE_CLOSED_STATUSES = frozenset({"won", "lost", "warning_closed"})


def email_payload(
    kind: EmailKind, payment: PaymentState, extra: dict[str, Any], at: datetime
) -> bytes:
    """What the e-mail says, as of the change; rendered when it is sent, with the order's
    items as they are then (an order's items never change)."""
    body: dict[str, Any] = {
        "template": kind,
        "at": at.isoformat(),
        "order": {"id": payment.order_id, "amount": payment.amount, "currency": payment.currency},
        "payment": {
            "id": payment.id,
            "status": payment.status,
            "amount": payment.amount,
            "currency": payment.currency,
            "error_message": payment.last_error_message,
            "method_type": payment.method_type,
            "method": payment.method,
        },
        **extra,
    }
    return orjson.dumps(body)


def webhook_payload(
    event: EventType, payment: PaymentState, order_status: str, extra: dict[str, Any], at: datetime
) -> bytes:
    """A Standard Webhooks body: `type`, `timestamp` and `data` with ids and the new state."""
    data: dict[str, Any] = {
        "payment": {
            "id": payment.id,
            "status": payment.status,
            "amount": payment.amount,
            "currency": payment.currency,
            "order_id": payment.order_id,
            "stripe_payment_intent_id": payment.stripe_payment_intent_id,
            "payment_method": (
                {"type": payment.method_type, "description": payment.method}
                if payment.method_type
                else None
            ),
            "cancellation_reason": payment.cancellation_reason,
        },
        "order": {"id": payment.order_id, "status": order_status},
        **extra,
    }
    return _event_body(event, data, at)


def order_webhook_payload(
    event: EventType, order: dict[str, Any], payment: PaymentState | None, at: datetime
) -> bytes:
    """An event about an order as a whole (`order.expired`): the order, and its payment
    when it has one."""
    data: dict[str, Any] = {"order": order}
    if payment is not None:
        data["payment"] = {
            "id": payment.id,
            "status": payment.status,
            "amount": payment.amount,
            "currency": payment.currency,
            "stripe_payment_intent_id": payment.stripe_payment_intent_id,
        }
    return _event_body(event, data, at)


def _event_body(event: EventType, data: dict[str, Any], at: datetime) -> bytes:
    stamp = at.isoformat().replace("+00:00", "Z")
    encoded = orjson.dumps({"type": event, "timestamp": stamp, "data": data})
    assert len(encoded) < MAX_PAYLOAD_BYTES
    return encoded
