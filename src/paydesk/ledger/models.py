from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from paydesk.db import Base, UTCDateTime, utcnow


class LedgerKind(StrEnum):
    CHARGE = "charge"
    REFUND = "refund"
    REFUND_REVERSAL = "refund_reversal"
    DISPUTE_WITHDRAWAL = "dispute_withdrawal"
    DISPUTE_REINSTATEMENT = "dispute_reinstatement"
    DISPUTE_FEE = "dispute_fee"


class LedgerEntry(Base):
    """An append-only money movement: positive when money comes in, negative when it goes out.
    Unique per Stripe object and kind, so a replayed event can never post twice."""

    __tablename__ = "ledger_entries"
    __table_args__ = (UniqueConstraint("stripe_object_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    stripe_object_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
