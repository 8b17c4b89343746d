"""Facts in, status out: a payment's status is a pure function of what Stripe has said.

Stripe's objects only move forward, but what it tells us can arrive late, twice, or out of
order. So every observation is kept as a fact (the PaymentIntent's status as of a time,
each refund and each dispute by id with its status) and the status is derived from the
whole set: any order and any repetition of the same facts give the same status, and a stale
snapshot can never move a payment backwards.

A fact's time is only as exact as the clock that stamped it: an event's is Stripe's whole
second, an API answer's paydesk's millisecond, and the two clocks may differ a little. Where
two times cannot say which fact came last, Stripe's own progression of statuses does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from paydesk.orders.models import OrderStatus
from paydesk.payments.models import PaymentStatus


class FactKind(StrEnum):
    PAYMENT_INTENT = "payment_intent"
    REFUND = "refund"
    DISPUTE = "dispute"


class Clock(StrEnum):
    """Whose clock stamped a fact's time, which says how exactly that time is known."""

    # paydesk's own, read to the millisecond when Stripe's answer arrives.
    PAYDESK = "paydesk"
    # Stripe's, as an event's `created`: whole seconds, so the fact was true at some moment
    # of the second it names.
    STRIPE = "stripe"


# How many milliseconds one stamp of each clock spans.
_RESOLUTION_MS = {Clock.PAYDESK: 1, Clock.STRIPE: 1000}

# How far apart paydesk's and Stripe's clocks may be, in milliseconds. A host that keeps its
# clock by NTP stays well within this; the rest covers the time an API answer takes to reach
# paydesk, which stamps it on arrival, after Stripe last saw the object.
CLOCK_SKEW_MS = 2000


@dataclass(frozen=True, slots=True)
class Fact:
    """One Stripe object's status as of `observed_at` (unix milliseconds, read on `clock`),
    with its amounts.

    For a PaymentIntent `amount_received` is what was captured; for a refund or a dispute
    `amount` is what it takes back."""

    kind: FactKind
    object_id: str
    status: str
    observed_at: int
    amount: int
    currency: str
    amount_received: int = 0
    amount_capturable: int = 0
    # What the charge says has been refunded, when the fact comes from a charge.
    amount_refunded: int = 0
    error_code: str = ""
    clock: Clock = Clock.PAYDESK


@dataclass(frozen=True, slots=True)
class Derived:
    status: PaymentStatus
    # Why the payment must not pay its order (amount or currency differs), if it must not.
    review_reason: str | None = None
    captured: int = 0
    # False while `captured` is only inferred from a refund or dispute that came first.
    capture_seen: bool = False
    refunded: int = 0
    # Each refund's and each dispute's own status, by Stripe id, sorted by id.
    refunds: tuple[tuple[str, str, int], ...] = ()
    disputes: tuple[tuple[str, str, int], ...] = ()


# Stripe's open PaymentIntent statuses in the order one attempt to pay moves through them;
# its failure, `requires_payment_method` with the attempt's error, comes after them all.
_STAGE = {
    "requires_payment_method": 0,
    "requires_confirmation": 1,
    "requires_action": 2,
    "processing": 3,
}
_FAILED_STAGE = 4

# Statuses no later snapshot can undo, strongest first: succeeded is final, canceled can
# only follow an unpaid or uncaptured intent, an authorization ends in one of those two.
_SETTLED = ("succeeded", "canceled", "requires_capture")

_OPEN_STATUS = {
    "requires_confirmation": PaymentStatus.PENDING,
    "requires_action": PaymentStatus.REQUIRES_ACTION,
    "processing": PaymentStatus.PROCESSING,
}

# A refund moves pending → succeeded → (rarely) failed, or ends failed or canceled.
_REFUND_RANK = {"pending": 0, "requires_action": 1, "succeeded": 2, "failed": 3, "canceled": 3}
# A dispute (or an inquiry, `warning_…`) ends won, lost, or closed as a warning.
_DISPUTE_RANK = {
    "warning_needs_response": 0,
    "warning_under_review": 1,
    "needs_response": 2,
    "under_review": 3,
    "warning_closed": 4,
    "won": 4,
    "lost": 4,
}
DISPUTE_OPEN = frozenset(
    {"warning_needs_response", "warning_under_review", "needs_response", "under_review"}
)


def _stage(fact: Fact) -> int:
    """How far along its attempt the PaymentIntent was; -1 for a status not in `_STAGE`."""
    if fact.status == "requires_payment_method" and fact.error_code:
        return _FAILED_STAGE
    return _STAGE.get(fact.status, -1)


def _recency(fact: Fact) -> tuple[int, int, str, int, int, int, int, str, str, str]:
    """A total order on facts: further along in the attempt first, then the later stamp;
    the rest only breaks ties."""
    return (
        _stage(fact),
        fact.observed_at,
        fact.error_code,
        fact.amount_received,
        fact.amount_capturable,
        fact.amount_refunded,
        fact.amount,
        fact.currency,
        fact.status,
        fact.clock,
    )


def _latest(facts: list[Fact]) -> list[Fact]:
    """The facts that no other fact surely follows.

    One fact surely precedes another when the last moment its stamp can stand for is before
    the first moment of the other's, by more than `CLOCK_SKEW_MS` when the two stamps were
    read on different clocks. Among the facts left, the stamps cannot tell which came last:
    an event stamped with the whole second in which paydesk read an API answer may have
    happened after that answer."""
    latest_start = {
        clock: max(f.observed_at for f in facts if f.clock == clock)
        for clock in {f.clock for f in facts}
    }

    def surely_followed(fact: Fact) -> bool:
        end = fact.observed_at + _RESOLUTION_MS[fact.clock] - 1
        return any(
            start > end + (0 if clock == fact.clock else CLOCK_SKEW_MS)
            for clock, start in latest_start.items()
        )

    return [fact for fact in facts if not surely_followed(fact)]


def _current(facts: Iterable[Fact], ranks: dict[str, int]) -> dict[str, Fact]:
    """Each object's status: the furthest along it has been seen. Refunds and disputes only
    move forward, so this needs no clock, and Stripe's clock and ours never have to agree."""

    def strength(fact: Fact) -> tuple[int, int, int, str, str]:
        return (
            ranks.get(fact.status, -1),
            fact.observed_at,
            fact.amount,
            fact.status,
            fact.currency,
        )

    current: dict[str, Fact] = {}
    for fact in sorted(facts, key=strength):
        current[fact.object_id] = fact
    return current


def derive_status(facts: Iterable[Fact], *, amount: int, currency: str) -> Derived:
    """The payment's status from every fact seen, for an order of `amount` `currency`."""
    facts = list(facts)
    intents = [f for f in facts if f.kind == FactKind.PAYMENT_INTENT]
    intent = _intent_status(intents, amount, currency)
    refunds = _current([f for f in facts if f.kind == FactKind.REFUND], _REFUND_RANK)
    disputes = _current([f for f in facts if f.kind == FactKind.DISPUTE], _DISPUTE_RANK)
    # The charge's own count of refunds stands in until the refunds' own news arrives; after
    # that the refunds decide, since a refund that fails later leaves the charge's count
    # raised in every snapshot Stripe sent of it.
    charge_refunded = max((f.amount_refunded for f in intents), default=0)
    if not refunds and not disputes and not charge_refunded:
        return intent
    if intent.status != PaymentStatus.SUCCEEDED:
        # A refund or a dispute proves the charge succeeded, even if its news is not here yet.
        intent = Derived(PaymentStatus.SUCCEEDED, intent.review_reason, captured=amount)
    refunded = (
        sum(r.amount for r in refunds.values() if r.status == "succeeded")
        if refunds
        else charge_refunded
    )
    statuses = {d.status for d in disputes.values()}
    if statuses & DISPUTE_OPEN or "lost" in statuses:
        status = PaymentStatus.DISPUTED
    elif refunded >= intent.captured:
        status = PaymentStatus.REFUNDED
    elif refunded > 0:
        status = PaymentStatus.PARTIALLY_REFUNDED
    else:
        status = PaymentStatus.SUCCEEDED
    return Derived(
        status,
        intent.review_reason,
        captured=intent.captured,
        capture_seen=intent.capture_seen,
        refunded=refunded,
        refunds=tuple(sorted((i, f.status, f.amount) for i, f in refunds.items())),
        disputes=tuple(sorted((i, f.status, f.amount) for i, f in disputes.items())),
    )


def _intent_status(facts: list[Fact], amount: int, currency: str) -> Derived:
    if not facts:
        return Derived(PaymentStatus.PENDING)
    for settled in _SETTLED:
        matching = [f for f in facts if f.status == settled]
        if matching:
            decisive = max(matching, key=_recency)
            return Derived(
                PaymentStatus(settled),
                _mismatch(decisive, amount, currency) if settled != "canceled" else None,
                captured=decisive.amount_received if settled == "succeeded" else 0,
                capture_seen=settled == "succeeded",
            )
    # Of the facts that may be the last, the one furthest along in its attempt: within one
    # attempt Stripe only moves forward and its failure is its last word. The next attempt
    # takes over once one of its facts is surely later than that failure.
    latest = max(_latest(facts), key=_recency)
    if _stage(latest) == _FAILED_STAGE:
        return Derived(PaymentStatus.FAILED)
    return Derived(_OPEN_STATUS.get(latest.status, PaymentStatus.PENDING))


def _mismatch(fact: Fact, amount: int, currency: str) -> str | None:
    if fact.currency.lower() != currency.lower():
        return f"PaymentIntent currency {fact.currency} differs from the order's {currency}"
    if fact.amount != amount:
        return f"PaymentIntent amount {fact.amount} differs from the order's {amount}"
    return None


_ORDER_STATUS = {
    PaymentStatus.PENDING: OrderStatus.PENDING_PAYMENT,
    PaymentStatus.REQUIRES_ACTION: OrderStatus.PENDING_PAYMENT,
    PaymentStatus.PROCESSING: OrderStatus.AWAITING_FUNDS,
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
