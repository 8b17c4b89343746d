from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from paydesk.db import Base, UTCDateTime, utcnow


class LedgerKind(StrEnum):
    CHARGE = "charge"
    REFUND = "refund"
    REFUND_REVERSAL = "refund_reversal"
    DISPUTE_WITHDRAWAL = "dispute_withdrawal"
    DISPUTE_REINSTATEMENT = "dispute_reinstatement"
    DISPUTE_FEE = "dispute_fee"
    # What only the balance sees: Stripe's own fees, the balance paid out to the bank (and
    # back when the bank returns it), and any other movement paydesk did not make.
    FEE = "fee"
    PAYOUT = "payout"
    PAYOUT_REVERSAL = "payout_reversal"
    ADJUSTMENT = "adjustment"


# The kinds whose money moves in a balance transaction of their own (a dispute's fee moves
# in its withdrawal's, whose `fee` it is).
SETTLED_KINDS = frozenset(
    {
        LedgerKind.CHARGE,
        LedgerKind.REFUND,
        LedgerKind.REFUND_REVERSAL,
        LedgerKind.DISPUTE_WITHDRAWAL,
        LedgerKind.DISPUTE_REINSTATEMENT,
        LedgerKind.FEE,
        LedgerKind.PAYOUT,
        LedgerKind.PAYOUT_REVERSAL,
        LedgerKind.ADJUSTMENT,
    }
)


class LedgerEntry(Base):
    """An append-only money movement: positive when money comes in, negative when it goes out.
    Unique per Stripe object and kind, so a replayed event can never post twice.

    `amount` and `currency` are the customer's (what was charged, refunded, disputed); once
    paydesk knows the balance transaction that moved the money, `balance_transaction_id`
    names it, and with it the movement in the account's settlement currency: its amount,
    Stripe's fee and the net. An entry's amounts never change; it only learns its
    transaction, once. Payouts and movements paydesk did not make belong to no payment."""

    __tablename__ = "ledger_entries"
    __table_args__ = (UniqueConstraint("stripe_object_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    stripe_object_id: Mapped[str] = mapped_column(String(255))
    balance_transaction_id: Mapped[str | None] = mapped_column(
        String(255), default=None, unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class TransactionStatus(StrEnum):
    PENDING = "pending"
    AVAILABLE = "available"


class BalanceTransaction(Base):
    """Stripe's record of money moving in the balance (`txn_…`), as paydesk last read it:
    in the settlement `currency`, `amount` before Stripe's `fee`, `net` after it, and the
    `exchange_rate` (Stripe's decimal, as text) when the customer paid in another currency.
    `entry_kind` and `entry_object_id` name the ledger entry whose money it moved (the
    entry may come later than the transaction); `payout_id` the payout that paid it out.
    Only its status (pending, then available) and its payout are ever learnt later."""

    __tablename__ = "balance_transactions"
    __table_args__ = (Index("ix_balance_transactions_entry", "entry_kind", "entry_object_id"),)

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    reporting_category: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(255), index=True)
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"), index=True)
    entry_kind: Mapped[str] = mapped_column(String(32))
    entry_object_id: Mapped[str] = mapped_column(String(255))
    amount: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    net: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    exchange_rate: Mapped[str | None] = mapped_column(String(32))
    fee_details: Mapped[str] = mapped_column(Text, default="[]")  # JSON, as Stripe itemizes
    status: Mapped[str] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    available_on: Mapped[datetime] = mapped_column(UTCDateTime)
    payout_id: Mapped[str | None] = mapped_column(String(255), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
