from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from paydesk.db import Base, UTCDateTime, utcnow


class Channel(StrEnum):
    EMAIL = "email"  # to the customer
    WEBHOOK = "webhook"  # to one of the shop's endpoints


class NotificationStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    DELIVERED = "delivered"
    DEAD = "dead"  # failed too often, or its endpoint is gone; can be resent


class Notification(Base):
    """The outbox: one message to one recipient, written in the same transaction as the
    change that causes it. Unique per (cause, recipient, kind), so a replayed or repeated
    event can never queue a second one."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("cause", "recipient", "kind"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(64))  # payment.succeeded, refund.issued, …
    cause: Mapped[str] = mapped_column(String(255))  # what happened, e.g. a timeline entry
    recipient: Mapped[str] = mapped_column(String(320))  # an e-mail address or endpoint id
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"), index=True)
    payload: Mapped[str] = mapped_column(Text)  # JSON: what the message says
    status: Mapped[str] = mapped_column(String(16), default=NotificationStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class DeliveryAttempt(Base):
    """Every try at delivering a notification, and how it went."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notification_id: Mapped[str] = mapped_column(ForeignKey("notifications.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    succeeded: Mapped[bool] = mapped_column(default=False)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)  # HTTP status
    smtp_reply: Mapped[str | None] = mapped_column(Text, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class EndpointStatus(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"


class ShopWebhookEndpoint(Base):
    """Where the shop's backend hears about payments, signed per Standard Webhooks."""

    __tablename__ = "shop_webhook_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[str] = mapped_column(Text)  # JSON list of event types, or ["*"]
    # The signing secret (`whsec_…`); the previous one also signs for a day after rotation.
    secret: Mapped[str] = mapped_column(String(255))
    previous_secret: Mapped[str | None] = mapped_column(String(255), default=None)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    status: Mapped[str] = mapped_column(String(16), default=EndpointStatus.ENABLED)
    disabled_reason: Mapped[str | None] = mapped_column(Text, default=None)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
