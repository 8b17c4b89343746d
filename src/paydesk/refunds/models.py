from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from paydesk.db import Base, UTCDateTime, utcnow


class RefundStatus(StrEnum):
    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


# Refunds in these statuses hold their amount: it cannot be refunded a second time.
HOLDING = (RefundStatus.PENDING, RefundStatus.REQUIRES_ACTION, RefundStatus.SUCCEEDED)


class Refund(Base):
    """Money going back to the customer. Made here (reserved before Stripe is asked, so two
    refunds racing cannot both take the same money) or found in Stripe's events; its status
    follows the payment's refund facts."""

    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("payment_id", "client_key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(32), default=RefundStatus.PENDING)
    failure_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # The caller's Idempotency-Key: a retried request finds its refund instead of a new one.
    client_key: Mapped[str | None] = mapped_column(String(255), default=None)
    # Who asked: a dashboard operator's e-mail, `api` (the shop's key), or None for a refund
    # made outside paydesk and found in Stripe's events.
    requested_by: Mapped[str | None] = mapped_column(String(320), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
