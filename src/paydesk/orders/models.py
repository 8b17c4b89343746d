from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from paydesk.db import Base, UTCDateTime, utcnow


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    # A bank debit (SEPA) is on its way: neither paid nor failed until the bank answers.
    AWAITING_FUNDS = "awaiting_funds"
    AUTHORIZED = "authorized"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    PAYMENT_FAILED = "payment_failed"
    CANCELED = "canceled"
    # Left unpaid past its `expires_at`: its PaymentIntent is canceled, its stock released.
    EXPIRED = "expired"
    DISPUTED = "disputed"


# Orders in these statuses are paid (or authorized) and take no other payment.
PAID_ORDER_STATUSES = frozenset(
    {
        OrderStatus.AUTHORIZED,
        OrderStatus.PAID,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.REFUNDED,
        OrderStatus.DISPUTED,
    }
)


# Orders in these statuses have not been paid: the shop may still change their items, and
# they expire when their time to live runs out.
UNPAID_ORDER_STATUSES = frozenset({OrderStatus.PENDING_PAYMENT, OrderStatus.PAYMENT_FAILED})


class CaptureMethod(StrEnum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), default=OrderStatus.PENDING_PAYMENT)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    customer_email: Mapped[str] = mapped_column(String(320))
    capture_method: Mapped[str] = mapped_column(String(16), default=CaptureMethod.AUTOMATIC)
    checkout_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    api_key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"))
    # Each change of the items makes the next version; the PaymentIntent follows it.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Unpaid past this, the order expires (`PAYDESK_ORDER_TTL` after creation, or the shop's).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)
    # Paid although it had expired: a confirmation raced the expiry, and the shop must know.
    paid_after_expiry: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # Loaded only where shown (`selectinload`), never behind a payment's back.
    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", order_by="OrderItem.position", lazy="raise_on_sql"
    )


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="items")
