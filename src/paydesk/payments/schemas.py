from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, StrictInt, StringConstraints

from paydesk.money import format_amount
from paydesk.payments.methods import describe_payment_method
from paydesk.payments.models import Payment, PaymentEvent
from paydesk.validation import RequestModel


class PaymentCreate(RequestModel):
    """Start (or resume) the payment of an order.

    The amount and currency always come from the order; a request that sends `amount`,
    `currency` or `status` is rejected with 400 rather than silently ignored."""

    order_id: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    payment_method: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = Field(
        default=None, description="A Stripe PaymentMethod id: confirm on the server."
    )
    return_url: Annotated[str, StringConstraints(max_length=2048)] | None = Field(
        default=None,
        description="Where Stripe sends the browser back to after 3-D Secure or the bank's "
        "own page (iDEAL, Bancontact): required for those methods.",
    )
    mandate_accepted: StrictBool = Field(
        default=False,
        description="The customer accepted the debit mandate shown to them (required for a "
        "SEPA Direct Debit); paydesk gives Stripe their IP address and browser as its proof.",
    )


class PaymentCapture(RequestModel):
    amount: Annotated[StrictInt, Field(gt=0)] | None = Field(
        default=None, description="Minor units to take; the rest of the authorization is released."
    )


class PaymentVerify(RequestModel):
    payment_id: Annotated[str, StringConstraints(min_length=1, max_length=40)]


class TimelineEntry(BaseModel):
    from_status: str | None
    to_status: str
    cause: str
    stripe_event_id: str | None
    detail: str | None
    at: datetime


class NextAction(BaseModel):
    type: str
    redirect_url: str


class PaymentMethodOut(BaseModel):
    """How the payment is paid, as far as it is safe to show: never a full number."""

    type: str = Field(description="Stripe's type: card, sepa_debit, ideal, bancontact, …")
    description: str = Field(description='In words: "Visa •••• 4242".')
    brand: str | None
    bank: str | None
    last4: str | None
    country: str | None
    mandate: str | None = Field(description="The SEPA Direct Debit mandate's Stripe id.")

    @classmethod
    def of(cls, payment: Payment) -> PaymentMethodOut | None:
        if payment.method_type is None:
            return None
        return cls(
            type=payment.method_type,
            description=describe_payment_method(payment) or payment.method_type,
            brand=payment.method_brand,
            bank=payment.method_bank,
            last4=payment.method_last4,
            country=payment.method_country,
            mandate=payment.method_mandate,
        )


class FraudSignals(BaseModel):
    """What Stripe's Radar said of the charge, and the card issuer's early fraud warning."""

    risk_level: str | None = Field(description="normal, elevated or highest (Stripe's).")
    risk_score: int | None = Field(description="0 to 99, where Stripe gives one.")
    outcome_type: str | None = Field(description="authorized, manual_review, blocked, …")
    seller_message: str | None
    rule: str | None = Field(description="The Radar rule that decided, if one did.")
    early_fraud_warning: str | None = Field(
        description="The fraud type of the issuer's early fraud warning, if one came."
    )

    @classmethod
    def of(cls, payment: Payment) -> FraudSignals | None:
        if payment.risk_level is None and payment.fraud_warning is None:
            return None
        return cls(
            risk_level=payment.risk_level,
            risk_score=payment.risk_score,
            outcome_type=payment.outcome_type,
            seller_message=payment.seller_message,
            rule=payment.radar_rule,
            early_fraud_warning=payment.fraud_warning,
        )


class PaymentError(BaseModel):
    code: str | None
    message: str | None


class PaymentOut(BaseModel):
    id: str
    order_id: str
    status: str
    amount: int
    currency: str
    amount_display: str
    stripe_payment_intent_id: str | None
    client_secret: str | None = Field(
        description="For Stripe.js in the customer's browser; never log it."
    )
    next_action: NextAction | None = Field(
        description="Set while the customer must authenticate (3-D Secure) or authorize at "
        "their bank's page (iDEAL, Bancontact): send the browser to `redirect_url`."
    )
    payment_method: PaymentMethodOut | None = Field(
        description="How it is paid, once Stripe has said."
    )
    last_error: PaymentError | None
    review_reason: str | None = Field(
        description="Set when Stripe's PaymentIntent does not match the order: not paid."
    )
    cancellation_reason: str | None = Field(
        description="Stripe's, once canceled: `abandoned` (its order expired or its "
        "authorization was released), `automatic` (Stripe let the authorization lapse), …"
    )
    fraud: FraudSignals | None = Field(
        description="Radar's verdict and any early fraud warning; for the shop only (null "
        "for a checkout token)."
    )
    created_at: datetime
    updated_at: datetime
    timeline: list[TimelineEntry]

    @classmethod
    def of(
        cls, payment: Payment, events: list[PaymentEvent], *, for_shop: bool = True
    ) -> PaymentOut:
        return cls(
            id=payment.id,
            order_id=payment.order_id,
            status=payment.status,
            amount=payment.amount,
            currency=payment.currency,
            amount_display=format_amount(payment.amount, payment.currency),
            stripe_payment_intent_id=payment.stripe_payment_intent_id,
            client_secret=payment.client_secret,
            next_action=NextAction(type="redirect_to_url", redirect_url=payment.next_action_url)
            if payment.next_action_url
            else None,
            payment_method=PaymentMethodOut.of(payment),
            last_error=PaymentError(
                code=payment.last_error_code, message=payment.last_error_message
            )
            if payment.last_error_code
            else None,
            review_reason=payment.review_reason,
            cancellation_reason=payment.cancellation_reason,
            fraud=FraudSignals.of(payment) if for_shop else None,
            created_at=payment.created_at,
            updated_at=payment.updated_at,
            timeline=[
                TimelineEntry(
                    from_status=e.from_status,
                    to_status=e.to_status,
                    cause=e.cause,
                    stripe_event_id=e.stripe_event_id,
                    detail=e.detail,
                    at=e.created_at,
                )
                for e in events
                if e.payment_id == payment.id
            ],
        )


class PaymentList(BaseModel):
    data: list[PaymentOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
