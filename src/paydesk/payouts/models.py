from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from paydesk.db import Base, UTCDateTime, utcnow


class PayoutStatus(StrEnum):
    PENDING = "pending"
    IN_TRANSIT = "in_transit"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"


# How far a payout has gone: a later status never gives way to an earlier one told late.
# A paid payout can still fail (the bank returns it); failed and canceled are final.
STATUS_RANK: dict[str, int] = {
    PayoutStatus.PENDING: 0,
    PayoutStatus.IN_TRANSIT: 1,
    PayoutStatus.PAID: 2,
    PayoutStatus.FAILED: 3,
    PayoutStatus.CANCELED: 3,
}


class Payout(Base):
    """A payout of the Stripe balance to the shop's bank account, as Stripe last told it.

    `contents_read_at` is when paydesk read the balance transactions it paid out (Stripe
    lists them for an automatic payout once its reconciliation is complete); until then the
    payout cannot be reconciled."""

    __tablename__ = "payouts"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), index=True)
    automatic: Mapped[bool] = mapped_column(Boolean)
    created: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    arrival_date: Mapped[datetime] = mapped_column(UTCDateTime)
    balance_transaction_id: Mapped[str | None] = mapped_column(String(255))
    failure_balance_transaction_id: Mapped[str | None] = mapped_column(String(255))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(Text)
    reconciliation_status: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    contents_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
