from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from paydesk.db import Base, UTCDateTime, utcnow


class PaymentStatus(StrEnum):
    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    FAILED = "failed"
    CANCELED = "canceled"
    DISPUTED = "disputed"


# Payments in these statuses have the money (or an authorization for it): their order is in
# one of PAID_ORDER_STATUSES (orders/models.py) and takes no other payment.
PAID_PAYMENT_STATUSES = frozenset(
    {
        PaymentStatus.REQUIRES_CAPTURE,
        PaymentStatus.SUCCEEDED,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
        PaymentStatus.DISPUTED,
    }
)


class Cause(StrEnum):
    API = "api"
    WEBHOOK = "webhook"
    RECONCILE = "reconcile"
    OPERATOR = "operator"
    # The worker, when an order's or an authorization's time ran out.
    DEADLINE = "deadline"


class Payment(Base):
    """One attempt to collect an order's amount through one Stripe PaymentIntent.

    `status` is derived from the facts below (payments/state.py) and stored for querying;
    at most one payment per order is open (not canceled) at a time."""

    __tablename__ = "payments"
    __table_args__ = (
        Index(
            "uq_payments_open_order",
            "order_id",
            unique=True,
            sqlite_where=text("status != 'canceled'"),
            postgresql_where=text("status != 'canceled'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    status: Mapped[str] = mapped_column(String(32), default=PaymentStatus.PENDING, index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(
        String(255), unique=True, default=None
    )
    client_secret: Mapped[str | None] = mapped_column(String(255), default=None)
    next_action_url: Mapped[str | None] = mapped_column(Text, default=None)
    confirm_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    last_error_message: Mapped[str | None] = mapped_column(Text, default=None)
    review_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # How it is paid, once Stripe has said (payments/methods.py): the method's type and its
    # safe details; a card's brand and last four, a bank account's country, last four and
    # SEPA mandate, the bank of a redirect method. Never a full number.
    method_type: Mapped[str | None] = mapped_column(String(32), default=None)
    method_brand: Mapped[str | None] = mapped_column(String(32), default=None)
    method_bank: Mapped[str | None] = mapped_column(String(100), default=None)
    method_last4: Mapped[str | None] = mapped_column(String(4), default=None)
    method_country: Mapped[str | None] = mapped_column(String(2), default=None)
    method_mandate: Mapped[str | None] = mapped_column(String(255), default=None)
    # When the card was first seen authorized (manual capture): Stripe releases an
    # authorization it is not asked to capture within seven days of it.
    authorized_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Stripe's `cancellation_reason` once canceled: `automatic` when Stripe let it lapse.
    cancellation_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    # What Stripe's Radar said of the charge (its `outcome`), once a charge was made.
    risk_level: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    risk_score: Mapped[int | None] = mapped_column(Integer, default=None)
    outcome_type: Mapped[str | None] = mapped_column(String(32), default=None)
    seller_message: Mapped[str | None] = mapped_column(Text, default=None)
    radar_rule: Mapped[str | None] = mapped_column(String(255), default=None)
    # The card issuer's early fraud warning (its fraud type), if one came.
    fraud_warning: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PaymentFact(Base):
    """One thing Stripe said about a payment: its PaymentIntent's, a refund's or a dispute's
    status as of a time. The same observation recorded twice is one row (same fingerprint);
    the payment's status is a function of the set (payments/state.py)."""

    __tablename__ = "payment_facts"
    __table_args__ = (UniqueConstraint("payment_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    stripe_object_id: Mapped[str] = mapped_column(String(255))
    stripe_status: Mapped[str] = mapped_column(String(64))
    observed_at: Mapped[int] = mapped_column(BigInteger)
    # Whose clock `observed_at` was read on, "paydesk" or "stripe" (state.Clock).
    clock: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    amount_received: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_capturable: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    error_code: Mapped[str] = mapped_column(String(64), default="")
    decline_code: Mapped[str | None] = mapped_column(String(64), default=None)
    latest_charge: Mapped[str | None] = mapped_column(String(255), default=None)
    cause: Mapped[str] = mapped_column(String(16))
    stripe_event_id: Mapped[str | None] = mapped_column(String(255), default=None)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PaymentEvent(Base):
    """The timeline: every change of a payment's status, with what caused it."""

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    cause: Mapped[str] = mapped_column(String(16))
    stripe_event_id: Mapped[str | None] = mapped_column(String(255), default=None)
    detail: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
