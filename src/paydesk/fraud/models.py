from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from paydesk.db import Base, UTCDateTime, utcnow


class WarningAction(StrEnum):
    """What paydesk does about a warning."""

    # At or below `PAYDESK_EFW_AUTO_REFUND_MAX`: refunded in full by the worker.
    REFUND = "refund"
    # Above it, or no threshold set: the operator decides.
    OPERATOR = "operator"
    # The payment was refunded, disputed or never paid: nothing is left to do.
    NONE = "none"


class FraudWarning(Base):
    """A card issuer's early fraud warning (Stripe's `radar.early_fraud_warning`) on one of
    paydesk's payments, recorded once however often it is told."""

    __tablename__ = "fraud_warnings"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # Stripe's issfr_…
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    charge_id: Mapped[str | None] = mapped_column(String(255), default=None)
    fraud_type: Mapped[str] = mapped_column(String(64))
    actionable: Mapped[bool] = mapped_column(Boolean)
    created: Mapped[datetime] = mapped_column(UTCDateTime)  # Stripe's clock
    # What the worker decided to do about it (WarningAction), once it has; never again.
    action: Mapped[str | None] = mapped_column(String(16), default=None)
    # The refund the worker made for it, once made; what was done, in words.
    refund_id: Mapped[str | None] = mapped_column(String(40), default=None)
    outcome: Mapped[str | None] = mapped_column(Text, default=None)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
