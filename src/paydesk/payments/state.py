"""Facts in, status out: a payment's status is a pure function of what Stripe has said.

Stripe's objects only move forward, but what it tells us can arrive late, twice, or out of
order. So every observation of the PaymentIntent is kept as a fact, and the status is
derived from the whole set: any order and any repetition of the same facts give the same
status, and a stale snapshot can never move a payment backwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from paydesk.orders.models import OrderStatus
from paydesk.payments.models import PaymentStatus


@dataclass(frozen=True, slots=True)
class IntentFact:
    """The PaymentIntent's status as of `observed_at` (unix milliseconds), with its amounts."""

    status: str
    observed_at: int
    amount: int
    currency: str
    amount_received: int = 0
    amount_capturable: int = 0
    error_code: str = ""


@dataclass(frozen=True, slots=True)
class Derived:
    status: PaymentStatus
    # Why the payment must not pay its order (amount or currency differs), if it must not.
    review_reason: str | None = None
    amount_received: int = 0


# Stripe's PaymentIntent statuses in the order a payment moves through them.
_STAGE = {
    "requires_payment_method": 0,
    "requires_confirmation": 1,
    "requires_action": 2,
    "processing": 3,
}

# Statuses no later snapshot can undo, strongest first: succeeded is final, canceled can
# only follow an unpaid or uncaptured intent, an authorization ends in one of those two.
_SETTLED = ("succeeded", "canceled", "requires_capture")

_OPEN_STATUS = {
    "requires_confirmation": PaymentStatus.PENDING,
    "requires_action": PaymentStatus.REQUIRES_ACTION,
    "processing": PaymentStatus.PROCESSING,
}


def _recency(fact: IntentFact) -> tuple[int, int, str, int, int, int, str]:
    """A total order on facts: later first, then further along; the rest only breaks ties."""
    return (
        fact.observed_at,
        _STAGE.get(fact.status, -1),
        fact.error_code,
        fact.amount_received,
        fact.amount_capturable,
        fact.amount,
        fact.currency,
    )


def derive_status(facts: Iterable[IntentFact], *, amount: int, currency: str) -> Derived:
    """The payment's status from every fact seen, for an order of `amount` `currency`."""
    facts = list(facts)
    if not facts:
        return Derived(PaymentStatus.PENDING)
    for settled in _SETTLED:
        matching = [f for f in facts if f.status == settled]
        if matching:
            decisive = max(matching, key=_recency)
            return Derived(
                PaymentStatus(settled),
                _mismatch(decisive, amount, currency) if settled != "canceled" else None,
                decisive.amount_received if settled == "succeeded" else 0,
            )
    latest = max(facts, key=_recency)
    if latest.status == "requires_payment_method":
        status = PaymentStatus.FAILED if latest.error_code else PaymentStatus.PENDING
    else:
        status = _OPEN_STATUS.get(latest.status, PaymentStatus.PENDING)
    return Derived(status)


def _mismatch(fact: IntentFact, amount: int, currency: str) -> str | None:
    if fact.currency.lower() != currency.lower():
        return f"PaymentIntent currency {fact.currency} differs from the order's {currency}"
    if fact.amount != amount:
        return f"PaymentIntent amount {fact.amount} differs from the order's {amount}"
    return None


_ORDER_STATUS = {
    PaymentStatus.PENDING: OrderStatus.PENDING_PAYMENT,
    PaymentStatus.REQUIRES_ACTION: OrderStatus.PENDING_PAYMENT,
    PaymentStatus.PROCESSING: OrderStatus.PENDING_PAYMENT,
    PaymentStatus.REQUIRES_CAPTURE: OrderStatus.AUTHORIZED,
    PaymentStatus.SUCCEEDED: OrderStatus.PAID,
    PaymentStatus.PARTIALLY_REFUNDED: OrderStatus.PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED: OrderStatus.REFUNDED,
    PaymentStatus.FAILED: OrderStatus.PAYMENT_FAILED,
    PaymentStatus.CANCELED: OrderStatus.CANCELED,
    PaymentStatus.DISPUTED: OrderStatus.DISPUTED,
}


def order_status_for(derived: Derived) -> OrderStatus:
    """The order follows its payment, except that a mismatched payment never pays it."""
    if derived.review_reason is not None:
        return OrderStatus.PENDING_PAYMENT
    return _ORDER_STATUS[derived.status]


# Payments in these statuses keep their order from taking another payment.
PAID_ORDER_STATUSES = frozenset(
    {
        OrderStatus.AUTHORIZED,
        OrderStatus.PAID,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.REFUNDED,
        OrderStatus.DISPUTED,
    }
)
