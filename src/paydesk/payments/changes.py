"""What recording a payment's facts changed, as typed values: the payment's status, money
captured, a refund or a dispute that moved, a dispute's funds withdrawn or reinstated, the
balance transactions that moved its money, an early fraud warning on its charge.

Recording facts (payments/recording.py) returns these; each kind maps, in one visible table
(paydesk/effects.py), to the effects other packages own: the order's status, ledger
postings, refund and dispute rows, messages in the outbox. Nothing here writes a row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from paydesk.gateway.types import (
    BalanceTransactionSnapshot,
    DisputeSnapshot,
    EarlyFraudWarningSnapshot,
)
from paydesk.orders.models import OrderStatus
from paydesk.payments.methods import describe_payment_method
from paydesk.payments.models import Payment
from paydesk.payments.state import Derived


@dataclass(frozen=True, slots=True)
class PaymentState:
    """The payment as the change left it, for the effects to read (never to write)."""

    id: str
    order_id: str
    status: str
    amount: int
    currency: str
    stripe_payment_intent_id: str | None
    review_reason: str | None
    last_error_message: str | None
    # How it is paid (Stripe's type, and in words), once Stripe has said.
    method_type: str | None = None
    method: str | None = None
    # Stripe's reason, once canceled (`abandoned` when its order expired, `automatic` when
    # Stripe let the authorization lapse).
    cancellation_reason: str | None = None

    @classmethod
    def of(cls, payment: Payment) -> PaymentState:
        return cls(
            id=payment.id,
            order_id=payment.order_id,
            status=payment.status,
            amount=payment.amount,
            currency=payment.currency,
            stripe_payment_intent_id=payment.stripe_payment_intent_id,
            review_reason=payment.review_reason,
            last_error_message=payment.last_error_message,
            method_type=payment.method_type,
            method=describe_payment_method(payment),
            cancellation_reason=payment.cancellation_reason,
        )


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """The payment's status (or its review) changed; `timeline_id` is the entry saying so,
    `order_status` what its order's status now is, and `was_held` whether the payment was
    held for review before (its amount or currency not the order's)."""

    payment: PaymentState
    from_status: str | None
    to_status: str
    order_status: OrderStatus
    timeline_id: int
    was_held: bool = False


@dataclass(frozen=True, slots=True)
class MoneyCaptured:
    """The payment's PaymentIntent took `amount` from the customer."""

    payment: PaymentState
    amount: int


@dataclass(frozen=True, slots=True)
class RefundMoved:
    """A refund (by Stripe's id) reached `status`; `previous` is the status it had, if any."""

    payment: PaymentState
    refund_id: str
    status: str
    previous: str | None
    amount: int


@dataclass(frozen=True, slots=True)
class DisputeMoved:
    """A dispute (Stripe's id) reached `status`; `previous` is the status it had, if any."""

    payment: PaymentState
    dispute_id: str
    status: str
    previous: str | None
    amount: int


@dataclass(frozen=True, slots=True)
class DisputeFundsMoved:
    """Stripe took a dispute's amount (and its fee) from the balance, or gave it back."""

    payment: PaymentState
    dispute: DisputeSnapshot
    withdrawn: bool


@dataclass(frozen=True, slots=True)
class TransactionsSeen:
    """Stripe showed the balance transactions that moved the payment's money (a charge's,
    expanded in the PaymentIntent; a dispute's, which it always carries)."""

    payment: PaymentState
    transactions: tuple[BalanceTransactionSnapshot, ...]


@dataclass(frozen=True, slots=True)
class FraudWarned:
    """A card issuer warned (early fraud warning) that the payment's charge was fraudulent,
    or Stripe told such a warning again, changed (no longer actionable) or not."""

    payment: PaymentState
    warning: EarlyFraudWarningSnapshot


Change = (
    StatusChanged
    | MoneyCaptured
    | RefundMoved
    | DisputeMoved
    | DisputeFundsMoved
    | TransactionsSeen
    | FraudWarned
)


def movements(before: Derived, after: Derived, payment: PaymentState) -> list[Change]:
    """Money captured, and refunds and disputes that moved, between two derivations of the
    same payment's facts. (The status change is recorded with its timeline entry.)"""
    changes: list[Change] = []
    if (
        after.capture_seen
        and after.captured > 0
        and (after.captured, after.capture_seen) != (before.captured, before.capture_seen)
    ):
        changes.append(MoneyCaptured(payment, after.captured))
    refunds = _moved(before.refunds, after.refunds)
    changes.extend(
        RefundMoved(payment, i, status, was, amount) for i, status, was, amount in refunds
    )
    disputes = _moved(before.disputes, after.disputes)
    changes.extend(
        DisputeMoved(payment, i, status, was, amount) for i, status, was, amount in disputes
    )
    return changes


def _moved(
    before: Sequence[tuple[str, str, int]], after: Sequence[tuple[str, str, int]]
) -> list[tuple[str, str, str | None, int]]:
    """(id, status, previous status, amount) of each object whose status or amount moved."""
    known = {object_id: (status, amount) for object_id, status, amount in before}
    return [
        (object_id, status, known[object_id][0] if object_id in known else None, amount)
        for object_id, status, amount in after
        if known.get(object_id) != (status, amount)
    ]
