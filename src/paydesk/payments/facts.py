"""What a Stripe object says about a payment, as facts (payments/state.py): pure functions
from the gateway's snapshots, the same for an API answer and a webhook event."""

from __future__ import annotations

from paydesk.gateway.types import (
    ChargeSnapshot,
    DisputeSnapshot,
    EarlyFraudWarningSnapshot,
    IntentSnapshot,
    OtherObject,
    PayoutSnapshot,
    RefundSnapshot,
    Snapshot,
)
from paydesk.payments.state import Clock, Fact, FactKind


def intent_fact(intent: IntentSnapshot, observed_at: int, clock: Clock = Clock.PAYDESK) -> Fact:
    """What the PaymentIntent says of itself, true at `observed_at` on `clock`."""
    return Fact(
        kind=FactKind.PAYMENT_INTENT,
        object_id=intent.id,
        status=intent.status,
        observed_at=observed_at,
        amount=intent.amount,
        currency=intent.currency,
        amount_received=intent.amount_received,
        amount_capturable=intent.amount_capturable,
        error_code=intent.error_code if intent.status == "requires_payment_method" else "",
        clock=clock,
    )


def charge_fact(
    charge: ChargeSnapshot, observed_at: int, clock: Clock = Clock.PAYDESK
) -> Fact | None:
    """What a Charge says of its PaymentIntent: taken, held, refused, and how much of it has
    been refunded, as of `observed_at` on `clock`; a pending charge (a bank debit on its
    way) says its PaymentIntent is processing. None for a charge of no PaymentIntent."""
    if not charge.payment_intent:
        return None
    status, error = charge.status, ""
    if status == "succeeded":
        status = "succeeded" if charge.captured else "requires_capture"
    elif status == "failed":
        status, error = "requires_payment_method", charge.failure_code or "declined"
    elif status == "pending":  # a debit on its way (SEPA): its PaymentIntent is processing
        status = "processing"
    else:
        return None
    # Stripe counts an authorization it releases (by a cancel, or the rest of a partial
    # capture) in `amount_refunded`; only what goes back out of captured money is a refund.
    released = charge.amount - charge.amount_captured if status == "succeeded" else charge.amount
    return Fact(
        kind=FactKind.PAYMENT_INTENT,
        object_id=charge.payment_intent,
        status=status,
        observed_at=observed_at,
        amount=charge.amount,
        currency=charge.currency,
        amount_received=charge.amount_captured if status == "succeeded" else 0,
        amount_capturable=charge.amount if status == "requires_capture" else 0,
        amount_refunded=max(0, charge.amount_refunded - released),
        error_code=error,
        clock=clock,
    )


def refund_fact(refund: RefundSnapshot, observed_at: int, clock: Clock = Clock.PAYDESK) -> Fact:
    return Fact(
        kind=FactKind.REFUND,
        object_id=refund.id,
        status=refund.status,
        observed_at=observed_at,
        amount=refund.amount,
        currency=refund.currency,
        clock=clock,
    )


def dispute_fact(dispute: DisputeSnapshot, observed_at: int, clock: Clock = Clock.PAYDESK) -> Fact:
    return Fact(
        kind=FactKind.DISPUTE,
        object_id=dispute.id,
        status=dispute.status,
        observed_at=observed_at,
        amount=dispute.amount,
        currency=dispute.currency,
        clock=clock,
    )


def facts_of(snapshot: Snapshot, observed_at: int, clock: Clock) -> list[Fact]:
    """Every fact a Stripe object states: a charge states its own and its refunds'."""
    if isinstance(snapshot, IntentSnapshot):
        return [intent_fact(snapshot, observed_at, clock)]
    if isinstance(snapshot, ChargeSnapshot):
        refunds = [refund_fact(r, observed_at, clock) for r in snapshot.refunds]
        fact = charge_fact(snapshot, observed_at, clock)
        return refunds if fact is None else [fact, *refunds]
    if isinstance(snapshot, RefundSnapshot):
        return [refund_fact(snapshot, observed_at, clock)]
    if isinstance(snapshot, DisputeSnapshot):
        return [dispute_fact(snapshot, observed_at, clock)]
    assert isinstance(snapshot, OtherObject | PayoutSnapshot | EarlyFraudWarningSnapshot)
    return []
