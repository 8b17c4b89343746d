"""What paydesk knows of Stripe's objects: plain data parsed from Stripe's JSON, so that
the API client and the webhook parser share one shape and neither needs the SDK."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paydesk.payments.state import Clock, Fact, FactKind


@dataclass(frozen=True, slots=True)
class IntentSnapshot:
    id: str
    status: str
    amount: int
    currency: str
    created: int
    amount_received: int = 0
    amount_capturable: int = 0
    client_secret: str | None = None
    latest_charge: str | None = None
    error_code: str = ""
    decline_code: str | None = None
    error_message: str | None = None
    next_action_url: str | None = None
    metadata: dict[str, str] | None = None

    @classmethod
    def from_stripe(cls, obj: dict[str, Any]) -> IntentSnapshot:
        error = obj.get("last_payment_error") or {}
        next_action = obj.get("next_action") or {}
        # A confirm with a return_url is sent to a page; one without it is left to Stripe.js,
        # whose challenge page the sandbox names in `use_stripe_sdk.stripe_js`.
        redirect = next_action.get("redirect_to_url") or {}
        sdk = next_action.get("use_stripe_sdk") or {}
        charge = obj.get("latest_charge")
        if isinstance(charge, dict):
            charge = charge.get("id")
        return cls(
            id=obj["id"],
            status=obj["status"],
            amount=int(obj["amount"]),
            currency=str(obj["currency"]).lower(),
            created=int(obj.get("created") or 0),
            amount_received=int(obj.get("amount_received") or 0),
            amount_capturable=int(obj.get("amount_capturable") or 0),
            client_secret=obj.get("client_secret"),
            latest_charge=charge,
            error_code=str(error.get("code") or ""),
            decline_code=error.get("decline_code"),
            error_message=error.get("message"),
            next_action_url=redirect.get("url") or _string(sdk.get("stripe_js")),
            metadata=dict(obj.get("metadata") or {}),
        )

    def fact(self, observed_at: int, clock: Clock = Clock.PAYDESK) -> Fact:
        """What the snapshot says of its PaymentIntent, true at `observed_at` on `clock`."""
        return Fact(
            kind=FactKind.PAYMENT_INTENT,
            object_id=self.id,
            status=self.status,
            observed_at=observed_at,
            amount=self.amount,
            currency=self.currency,
            amount_received=self.amount_received,
            amount_capturable=self.amount_capturable,
            error_code=self.error_code if self.status == "requires_payment_method" else "",
            clock=clock,
        )


def charge_fact(
    charge: dict[str, Any], observed_at: int, clock: Clock = Clock.PAYDESK
) -> Fact | None:
    """What a Charge says of its PaymentIntent: taken, held, refused, and how much of it has
    been refunded, as of `observed_at` on `clock`. None for a charge still pending, which
    says nothing yet."""
    intent_id = charge.get("payment_intent")
    if isinstance(intent_id, dict):
        intent_id = intent_id.get("id")
    if not intent_id:
        return None
    status, error = charge.get("status"), ""
    if status == "succeeded":
        status = "succeeded" if charge.get("captured") else "requires_capture"
    elif status == "failed":
        status, error = "requires_payment_method", str(charge.get("failure_code") or "declined")
    else:
        return None
    amount = int(charge["amount"])
    captured = int(charge.get("amount_captured") or 0)
    # Stripe counts an authorization it releases (by a cancel, or the rest of a partial
    # capture) in `amount_refunded`; only what goes back out of captured money is a refund.
    released = amount - captured if status == "succeeded" else amount
    refunded = max(0, int(charge.get("amount_refunded") or 0) - released)
    return Fact(
        kind=FactKind.PAYMENT_INTENT,
        object_id=str(intent_id),
        status=status,
        observed_at=observed_at,
        amount=amount,
        currency=str(charge["currency"]).lower(),
        amount_received=captured if status == "succeeded" else 0,
        amount_capturable=amount if status == "requires_capture" else 0,
        amount_refunded=refunded,
        error_code=error,
        clock=clock,
    )


def refund_fact(refund: dict[str, Any], observed_at: int, clock: Clock = Clock.PAYDESK) -> Fact:
    return Fact(
        kind=FactKind.REFUND,
        object_id=refund["id"],
        status=str(refund.get("status") or "pending"),
        observed_at=observed_at,
        amount=int(refund["amount"]),
        currency=str(refund["currency"]).lower(),
        clock=clock,
    )


def dispute_fact(dispute: dict[str, Any], observed_at: int, clock: Clock = Clock.PAYDESK) -> Fact:
    return Fact(
        kind=FactKind.DISPUTE,
        object_id=dispute["id"],
        status=str(dispute["status"]),
        observed_at=observed_at,
        amount=int(dispute["amount"]),
        currency=str(dispute["currency"]).lower(),
        clock=clock,
    )


def intent_id_of(obj: dict[str, Any]) -> str | None:
    """The PaymentIntent a Stripe object belongs to."""
    if obj.get("object") == "payment_intent":
        return str(obj["id"])
    intent = obj.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    return str(intent) if intent else None


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None
