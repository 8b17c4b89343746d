"""Recording what Stripe said of a payment: its facts, its status derived from all of them,
its timeline, and the typed changes that other packages follow (payments/changes.py).

Only the payment's own rows are written here (payment, facts, timeline). Everything else a
change causes is an effect, in paydesk/effects.py. The caller holds the payment's row lock,
which serializes every change of a payment."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import astuple, dataclass

from paydesk.db import utcnow
from paydesk.gateway.types import (
    BalanceTransactionSnapshot,
    ChargeOutcome,
    ChargeSnapshot,
    EarlyFraudWarningSnapshot,
    IntentSnapshot,
    MethodDetails,
)
from paydesk.orders.models import OrderStatus
from paydesk.payments.changes import (
    Change,
    FraudWarned,
    PaymentState,
    StatusChanged,
    TransactionsSeen,
    movements,
)
from paydesk.payments.models import (
    PAID_PAYMENT_STATUSES,
    Cause,
    Payment,
    PaymentEvent,
    PaymentFact,
    PaymentStatus,
)
from paydesk.payments.repository import PaymentRepository
from paydesk.payments.state import Clock, Derived, Fact, derive_status, order_status_for

# A PaymentIntent in these statuses has a charge that took (or holds) the money.
_CHARGED = ("succeeded", "requires_capture")


@dataclass(frozen=True, slots=True)
class News:
    """What one answer from Stripe, or one event, says of one payment: the facts it states
    and what else it changes that no fact states (`also`: a dispute's funds withdrawn).
    A PaymentIntent also says why its last attempt was declined. `operator` is the
    dashboard operator whose action it answers, if one did."""

    payment: Payment
    facts: list[Fact]
    cause: Cause
    intent: IntentSnapshot | None = None  # when the news is the PaymentIntent itself
    stripe_event_id: str | None = None
    operator: str | None = None
    also: Sequence[Change] = ()
    # The charge the news is about, when it is a charge: how it is paid, why it failed.
    charge: ChargeSnapshot | None = None
    # The balance transactions the news showed, which moved the payment's money.
    transactions: tuple[BalanceTransactionSnapshot, ...] = ()
    # The card issuer's early fraud warning, when the news is one.
    fraud_warning: EarlyFraudWarningSnapshot | None = None

    def also_changed(self) -> list[Change]:
        """What the news changes that no fact states, the transactions it showed last."""
        changes = list(self.also)
        if self.fraud_warning is not None:
            changes.append(FraudWarned(PaymentState.of(self.payment), self.fraud_warning))
        if self.transactions:
            changes.append(TransactionsSeen(PaymentState.of(self.payment), self.transactions))
        return changes


@dataclass(frozen=True, slots=True)
class Recorded:
    """The payment's status derived from every fact, and what the news changed."""

    derived: Derived
    changes: list[Change]


@dataclass(slots=True)
class _Pending:
    """A status change whose timeline entry is not written yet (its id names the change)."""

    payment: PaymentState
    entry: PaymentEvent
    order_status: OrderStatus
    was_held: bool


async def record_news(payments: PaymentRepository, news: Sequence[News]) -> list[Recorded]:
    """Records each piece of news in turn as facts, derives each payment's status from every
    fact, and gives a status that changed its timeline entry. A payment may have several
    pieces, in the order they happened; facts already known change nothing and cost no write.

    However many payments the news is about, their facts are read in one statement and the
    new facts, the timeline entries and the payments' new state written in one each."""
    known = await payments.facts_by_payment(list(dict.fromkeys(n.payment.id for n in news)))
    seen = {payment_id: set(facts) for payment_id, facts in known.items()}
    current: dict[str, Derived] = {}
    rows: list[PaymentFact] = []
    entries: list[PaymentEvent] = []
    slots: list[list[Change | _Pending]] = []
    derivations: list[Derived] = []
    for item in news:
        payment = item.payment
        if item.intent is not None:
            _note_decline(payment, item.intent)
            if item.intent.cancellation_reason:
                payment.cancellation_reason = item.intent.cancellation_reason[:32]
        if item.charge is not None:
            _note_charge_failure(payment, item.charge)
        if item.fraud_warning is not None:
            payment.fraud_warning = item.fraud_warning.fraud_type[:64]
        if item.intent is not None and item.intent.outcome is not None:
            _note_outcome(payment, item.intent.outcome, item.intent.status in _CHARGED)
        if item.charge is not None and item.charge.outcome is not None:
            _note_outcome(payment, item.charge.outcome, item.charge.status == "succeeded")
        charge_method = item.charge.method if item.charge else None
        for method in (item.intent.method if item.intent else None, charge_method):
            if method is not None:
                _note_method(payment, method)
        facts, facts_seen = known[payment.id], seen[payment.id]
        before = current.get(payment.id)
        if before is None:
            before = derive_status(facts, amount=payment.amount, currency=payment.currency)
        new = [fact for fact in dict.fromkeys(item.facts) if fact not in facts_seen]
        if not new:
            _forget_past_errors(payment, before)
            current[payment.id] = before
            derivations.append(before)
            slots.append([*item.also_changed()])
            continue
        rows.extend(_fact_row(item, fact) for fact in new)
        facts.extend(new)
        facts_seen.update(new)
        derived = derive_status(facts, amount=payment.amount, currency=payment.currency)
        current[payment.id] = derived
        derivations.append(derived)
        _forget_past_errors(payment, derived)
        changes: list[Change | _Pending] = []
        if derived.status != payment.status or derived.review_reason != payment.review_reason:
            was_held = payment.review_reason is not None
            entry = _change_status(payment, derived, item)
            entries.append(entry)
            changes.append(
                _Pending(PaymentState.of(payment), entry, order_status_for(derived), was_held)
            )
        changes.extend(movements(before, derived, PaymentState.of(payment)))
        changes.extend(item.also_changed())
        slots.append(changes)
    await payments.add_facts(rows)
    await payments.add_timeline_entries(entries)
    return [
        Recorded(derived, [_resolved(change) for change in changes])
        for derived, changes in zip(derivations, slots, strict=True)
    ]


def _note_decline(payment: Payment, intent: IntentSnapshot) -> None:
    """Keeps what the customer must be told of a declined attempt."""
    if intent.declined:
        payment.last_error_code = intent.decline_code or intent.error_code
        payment.last_error_message = intent.error_message


def _note_charge_failure(payment: Payment, charge: ChargeSnapshot) -> None:
    """Keeps why a charge failed (a bank debit returned), which may be told before the
    PaymentIntent's own failure is."""
    if charge.status == "failed":
        payment.last_error_code = charge.failure_code or "declined"
        payment.last_error_message = charge.failure_message


def _note_method(payment: Payment, method: MethodDetails) -> None:
    """Keeps how the payment is paid: the method of the charge that took the money, or of
    the latest attempt while none has. A charge that did not take it (an earlier attempt's,
    told late) never replaces the one that did."""
    if method.charge_status != "succeeded" and payment.status in PAID_PAYMENT_STATUSES:
        return
    payment.method_type = method.type[:32]
    payment.method_brand = _short(method.brand, 32)
    payment.method_bank = _short(method.bank, 100)
    payment.method_last4 = _short(method.last4, 4)
    payment.method_country = _short(method.country, 2)
    payment.method_mandate = _short(method.mandate, 255)


def _note_outcome(payment: Payment, outcome: ChargeOutcome, charge_succeeded: bool) -> None:
    """Keeps what Radar said of a charge: its risk, the outcome, and the rule; as with the
    method, a charge that did not take the money never replaces the one that did."""
    if not charge_succeeded and payment.status in PAID_PAYMENT_STATUSES:
        return
    payment.risk_level = _short(outcome.risk_level, 16)
    payment.risk_score = outcome.risk_score
    payment.outcome_type = _short(outcome.type, 32)
    payment.seller_message = outcome.seller_message
    payment.radar_rule = _short(outcome.rule, 255)


def _short(value: str | None, length: int) -> str | None:
    """Stripe's value, cut to its column (Stripe keeps these short; a longer one is cut
    rather than refused, since it only describes the payment)."""
    return value[:length] if value else None


def _fact_row(news: News, fact: Fact) -> PaymentFact:
    intent = news.intent
    return PaymentFact(
        payment_id=news.payment.id,
        fingerprint=fingerprint(fact),
        kind=fact.kind,
        stripe_object_id=fact.object_id,
        stripe_status=fact.status,
        observed_at=fact.observed_at,
        clock=fact.clock,
        amount=fact.amount,
        currency=fact.currency,
        amount_received=fact.amount_received,
        amount_capturable=fact.amount_capturable,
        amount_refunded=fact.amount_refunded,
        error_code=fact.error_code,
        decline_code=intent.decline_code if intent else None,
        latest_charge=intent.latest_charge if intent else None,
        cause=news.cause,
        stripe_event_id=news.stripe_event_id,
    )


def _change_status(payment: Payment, derived: Derived, news: News) -> PaymentEvent:
    """The payment takes its derived status; the timeline entry that says so."""
    from_status = payment.status
    payment.status = derived.status
    payment.review_reason = derived.review_reason
    if derived.status == PaymentStatus.REQUIRES_CAPTURE and payment.authorized_at is None:
        payment.authorized_at = utcnow()
    if derived.status != PaymentStatus.REQUIRES_ACTION:
        payment.next_action_url = None
    return PaymentEvent(
        payment_id=payment.id,
        from_status=from_status,
        to_status=derived.status,
        cause=news.cause,
        stripe_event_id=news.stripe_event_id,
        detail=_timeline_detail(derived, payment, news.operator),
    )


def _resolved(change: Change | _Pending) -> Change:
    if not isinstance(change, _Pending):
        return change
    entry = change.entry
    return StatusChanged(
        change.payment,
        from_status=entry.from_status,
        to_status=entry.to_status,
        order_status=change.order_status,
        timeline_id=entry.id,
        was_held=change.was_held,
    )


def _timeline_detail(derived: Derived, payment: Payment, operator: str | None) -> str | None:
    """Why a payment is held for review or failed, and which operator's action changed it."""
    failure = None
    if derived.status == PaymentStatus.FAILED and payment.last_error_code:
        failure = ": ".join(p for p in (payment.last_error_code, payment.last_error_message) if p)
    parts = [derived.review_reason, failure, f"by {operator}" if operator else None]
    return "; ".join(part for part in parts if part) or None


def _forget_past_errors(payment: Payment, derived: Derived) -> None:
    """A failed attempt's error is the payment's current state only while it stays failed:
    Stripe clears `last_payment_error` once a later attempt goes on, and so does paydesk.
    The timeline keeps it (the change to `failed` says why)."""
    if derived.status != PaymentStatus.FAILED:
        payment.last_error_code = None
        payment.last_error_message = None


def fingerprint(fact: Fact) -> str:
    """The same observation always has the same fingerprint, so it is stored once.

    A fact from an event hashes as it did before facts named their clock, so an event
    Stripe delivers again (it retries for days, and backfill reads events again) still
    meets the row its first delivery left. A fact on paydesk's clock hashes its clock too:
    paydesk stamps each of its observations anew, so none of them is ever recorded twice."""
    *fields, clock = astuple(fact)  # the clock is Fact's last field
    if clock != Clock.STRIPE:
        fields.append(clock)
    return hashlib.sha256("\x1f".join(map(str, fields)).encode()).hexdigest()
