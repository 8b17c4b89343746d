"""Recording what Stripe said of a payment: its facts, its status derived from all of them,
its timeline, and the typed changes that other packages follow (payments/changes.py).

Only the payment's own rows are written here (payment, facts, timeline). Everything else a
change causes is an effect, in paydesk/effects.py. The caller holds the payment's row lock,
which serializes every change of a payment."""

from __future__ import annotations

import hashlib
from dataclasses import astuple, dataclass

from paydesk.payments.changes import Change, PaymentState, StatusChanged, movements
from paydesk.payments.models import Cause, Payment, PaymentEvent, PaymentFact, PaymentStatus
from paydesk.payments.repository import PaymentRepository
from paydesk.payments.state import Clock, Derived, Fact, derive_status, order_status_for


@dataclass(frozen=True, slots=True)
class Recorded:
    """The payment's status derived from every fact, and what the new facts changed."""

    derived: Derived
    changes: list[Change]


async def record_facts(
    payments: PaymentRepository,
    payment: Payment,
    facts: list[Fact],
    *,
    cause: Cause,
    stripe_event_id: str | None = None,
    decline_code: str | None = None,
    latest_charge: str | None = None,
    operator: str | None = None,
) -> Recorded:
    """Records what Stripe said as facts and derives the status from every fact; a status
    that changed gets its timeline entry (naming the `operator` who asked, if one did).
    Facts already known change nothing and cost no write."""
    known = await payments.facts(payment.id)
    seen = set(known)
    new = [fact for fact in dict.fromkeys(facts) if fact not in seen]
    before = derive_status(known, amount=payment.amount, currency=payment.currency)
    if not new:
        _forget_past_errors(payment, before)
        return Recorded(before, [])
    await payments.add_facts(
        [
            PaymentFact(
                payment_id=payment.id,
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
                decline_code=decline_code,
                latest_charge=latest_charge,
                cause=cause,
                stripe_event_id=stripe_event_id,
            )
            for fact in new
        ]
    )
    derived = derive_status(known + new, amount=payment.amount, currency=payment.currency)
    _forget_past_errors(payment, derived)
    changes: list[Change] = []
    if derived.status != payment.status or derived.review_reason != payment.review_reason:
        from_status = payment.status
        payment.status = derived.status
        payment.review_reason = derived.review_reason
        if derived.status != PaymentStatus.REQUIRES_ACTION:
            payment.next_action_url = None
        timeline_id = await payments.add_timeline_entry(
            PaymentEvent(
                payment_id=payment.id,
                from_status=from_status,
                to_status=derived.status,
                cause=cause,
                stripe_event_id=stripe_event_id,
                detail=_timeline_detail(derived, payment, operator),
            )
        )
        changes.append(
            StatusChanged(
                PaymentState.of(payment),
                from_status=from_status,
                to_status=derived.status,
                order_status=order_status_for(derived),
                timeline_id=timeline_id,
            )
        )
    changes.extend(movements(before, derived, PaymentState.of(payment)))
    return Recorded(derived, changes)


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
