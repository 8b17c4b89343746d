from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from paydesk.db import Base, UTCDateTime, utcnow


class EventStatus(StrEnum):
    PENDING = "pending"  # stored, not yet applied
    PROCESSED = "processed"  # applied, in the same transaction as its effects
    IGNORED = "ignored"  # stored and deliberately not applied (unknown type, other mode, …)
    FAILED = "failed"  # applying failed; retried after `next_attempt_at`
    DEAD = "dead"  # failed too often; waits for `paydesk events replay`


class InboxEvent(Base):
    """A Stripe event as it arrived: raw body and headers first, work second."""

    __tablename__ = "inbox_events"
    __table_args__ = (
        Index("ix_inbox_events_due", "status", "next_attempt_at"),
        # The dashboard's list: newest first, paged by (received_at, id).
        Index("ix_inbox_events_received", "received_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # Stripe's event id
    type: Mapped[str] = mapped_column(String(100))
    livemode: Mapped[bool] = mapped_column(Boolean)
    stripe_created: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16))  # webhook | backfill
    # The event's object and the PaymentIntent it belongs to, read when it arrives: a
    # payment's events are found by index, never by reading bodies.
    object_id: Mapped[str | None] = mapped_column(String(255), default=None)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), default=None, index=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_traceback: Mapped[str | None] = mapped_column(Text, default=None)
    # Why an operator should look at it: another mode's event, a payment never found, …
    flag: Mapped[str | None] = mapped_column(Text, default=None)


class SyncCursor(Base):
    """Where a job reading Stripe's event list stopped, so it resumes there."""

    __tablename__ = "sync_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
