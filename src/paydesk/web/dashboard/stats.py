"""What the overview counts, and the queries that count it.

Payments are counted by the UTC day they were created, their status now and their currency,
aggregated in the database over a bounded window (the last 30 days); refunds by the day they
were paid out, from the ledger. Open disputes and what needs an operator (dead or failing
webhook events, flagged events, undelivered notifications, disabled shop endpoints) are read
as they stand. The summaries below the queries are pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.disputes.models import Dispute
from paydesk.ledger import repository as ledger
from paydesk.ledger.models import LedgerKind
from paydesk.notifications.models import (
    EndpointStatus,
    Notification,
    NotificationStatus,
    ShopWebhookEndpoint,
)
from paydesk.payments.models import Payment, PaymentStatus
from paydesk.payments.state import DISPUTE_OPEN
from paydesk.webhooks.models import EventStatus, InboxEvent

COLLECTED = frozenset(
    {
        PaymentStatus.SUCCEEDED,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
        PaymentStatus.DISPUTED,
    }
)
"""Captured: the money came in, whatever happened to it since (refunds and disputes are
shown beside it, not taken from it)."""

REFUND_KINDS = frozenset({LedgerKind.REFUND, LedgerKind.REFUND_REVERSAL})
LIST_LIMIT = 10


@dataclass(frozen=True, slots=True)
class Tally:
    """How many, and their amount in one currency's minor units."""

    count: int = 0
    amount: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.count + other.count, self.amount + other.amount)


@dataclass(frozen=True, slots=True)
class DayTotal:
    """Payments created on one UTC day that are in one status now, in one currency."""

    day: date
    status: str
    currency: str
    tally: Tally


@dataclass(frozen=True, slots=True)
class SuccessRate:
    """Collected payments among the finished ones (collected or failed)."""

    collected: int
    finished: int

    @property
    def percent(self) -> int | None:
        """Rounded down, so that 199 of 200 never reads as 100%."""
        return None if not self.finished else self.collected * 100 // self.finished


@dataclass(frozen=True, slots=True)
class CurrencySummary:
    currency: str
    payments: int
    collected: Tally
    refunded: int  # paid out in the period, from the ledger, as a positive amount


@dataclass(frozen=True)
class Period:
    """Payments created in a period, and refunds paid out in it."""

    by_status: dict[tuple[str, str], Tally]  # (currency, status) → tally
    currencies: list[CurrencySummary]  # most payments first
    rate: SuccessRate


def summarise(totals: Iterable[DayTotal], refunds: dict[str, int]) -> Period:
    """The period's tallies per currency and status, what each currency collected, and the
    success rate; `refunds` is what the ledger paid out per currency in the same period."""
    by_status: dict[tuple[str, str], Tally] = {}
    for total in totals:
        key = (total.currency, total.status)
        by_status[key] = by_status.get(key, Tally()) + total.tally
    payments: dict[str, int] = {}
    collected: dict[str, Tally] = {}
    for (currency, status), tally in by_status.items():
        payments[currency] = payments.get(currency, 0) + tally.count
        if status in COLLECTED:
            collected[currency] = collected.get(currency, Tally()) + tally
    currencies = sorted(
        set(payments) | {c for c, amount in refunds.items() if amount},
        key=lambda c: (-payments.get(c, 0), c),
    )
    failed = sum(t.count for (_, s), t in by_status.items() if s == PaymentStatus.FAILED)
    succeeded = sum(tally.count for tally in collected.values())
    return Period(
        by_status=by_status,
        currencies=[
            CurrencySummary(
                currency,
                payments.get(currency, 0),
                collected.get(currency, Tally()),
                refunds.get(currency, 0),
            )
            for currency in currencies
        ],
        rate=SuccessRate(succeeded, succeeded + failed),
    )


def refunds_by_currency(totals: Iterable[ledger.Total]) -> dict[str, int]:
    """Refunds paid out per currency, less refunds that failed afterwards, as positive amounts."""
    refunded: dict[str, int] = {}
    for total in totals:
        if total.kind in REFUND_KINDS:
            refunded[total.currency] = refunded.get(total.currency, 0) - total.amount
    return refunded


async def payment_totals(session: AsyncSession, since: datetime) -> list[DayTotal]:
    """Payments created at or after `since`, per UTC day, status and currency."""
    day = _utc_day(session)
    rows = await session.execute(
        select(
            day,
            Payment.status,
            Payment.currency,
            func.count(),
            func.sum(Payment.amount),
        )
        .where(Payment.created_at >= since)
        .group_by(day, Payment.status, Payment.currency)
    )
    return [
        DayTotal(date.fromisoformat(str(day)), status, currency, Tally(int(count), int(amount)))
        for day, status, currency, count, amount in rows
    ]


def _utc_day(session: AsyncSession) -> ColumnElement[str]:
    """`YYYY-MM-DD` of the payment's creation in UTC. SQLite stores UTC already; PostgreSQL's
    `date()` would use the session's time zone. Literals, not parameters, so that PostgreSQL
    sees the same expression in SELECT and GROUP BY."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(Payment.created_at)
    utc = func.timezone(literal_column("'UTC'"), Payment.created_at)
    return func.to_char(utc, literal_column("'YYYY-MM-DD'"))


async def ledger_totals_since(session: AsyncSession, since: datetime) -> list[ledger.Total]:
    """Money moved since `since`, per currency and kind (charges, refunds, disputes)."""
    return list(await ledger.totals(session, ledger.Window(start=since)))


@dataclass(frozen=True, slots=True)
class OpenDispute:
    id: str
    payment_id: str
    status: str
    reason: str | None
    amount: int
    currency: str
    evidence_due_by: datetime | None
    evidence_submitted: bool


async def open_disputes(session: AsyncSession) -> tuple[int, list[OpenDispute]]:
    """How many disputes are open, and the first few by evidence due date (none: last)."""
    is_open = Dispute.status.in_(sorted(DISPUTE_OPEN))
    count = await session.scalar(select(func.count()).select_from(Dispute).where(is_open))
    rows = await session.scalars(
        select(Dispute)
        .where(is_open)
        .order_by(Dispute.evidence_due_by.is_(None), Dispute.evidence_due_by, Dispute.id)
        .limit(LIST_LIMIT)
    )
    return int(count or 0), [
        OpenDispute(
            d.id,
            d.payment_id,
            d.status,
            d.reason,
            d.amount,
            d.currency,
            d.evidence_due_by,
            d.evidence_submitted,
        )
        for d in rows
    ]


@dataclass(frozen=True, slots=True)
class FlaggedEvent:
    id: str
    type: str
    status: str
    flag: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Undelivered:
    """A notification that is dead, or still pending after failed attempts."""

    id: str
    channel: str
    kind: str
    recipient: str
    payment_id: str | None
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DisabledEndpoint:
    id: str
    url: str
    reason: str | None
    since: datetime


@dataclass(frozen=True)
class Attention:
    """What an operator should look at."""

    dead_events: int = 0
    failing_events: int = 0
    flagged_events: int = 0
    flagged: list[FlaggedEvent] = field(default_factory=list)
    dead_notifications: int = 0
    retrying_notifications: int = 0
    undelivered: list[Undelivered] = field(default_factory=list)
    disabled_endpoints: list[DisabledEndpoint] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return bool(
            self.dead_events
            or self.failing_events
            or self.flagged_events
            or self.dead_notifications
            or self.retrying_notifications
            or self.disabled_endpoints
        )


async def attention(session: AsyncSession, flagged_since: datetime) -> Attention:
    """Dead and failing inbox events, events flagged since `flagged_since`, dead
    notifications and those being retried, and disabled shop endpoints."""
    events = {
        status: int(count)
        for status, count in await session.execute(
            select(InboxEvent.status, func.count())
            .where(InboxEvent.status.in_([EventStatus.DEAD, EventStatus.FAILED]))
            .group_by(InboxEvent.status)
        )
    }
    is_flagged = InboxEvent.flag.is_not(None) & (InboxEvent.received_at >= flagged_since)
    flagged_count = await session.scalar(
        select(func.count()).select_from(InboxEvent).where(is_flagged)
    )
    flagged = await session.execute(
        select(
            InboxEvent.id,
            InboxEvent.type,
            InboxEvent.status,
            InboxEvent.flag,
            InboxEvent.received_at,
        )
        .where(is_flagged)
        .order_by(InboxEvent.received_at.desc(), InboxEvent.id)
        .limit(LIST_LIMIT)
    )
    is_dead = Notification.status == NotificationStatus.DEAD
    is_retrying = (Notification.status == NotificationStatus.PENDING) & (Notification.attempts > 0)
    notifications = {
        status: int(count)
        for status, count in await session.execute(
            select(Notification.status, func.count())
            .where(is_dead | is_retrying)
            .group_by(Notification.status)
        )
    }
    undelivered = await session.scalars(
        select(Notification)
        .where(is_dead | is_retrying)
        .order_by(Notification.created_at.desc(), Notification.id)
        .limit(LIST_LIMIT)
    )
    endpoints = await session.scalars(
        select(ShopWebhookEndpoint)
        .where(ShopWebhookEndpoint.status == EndpointStatus.DISABLED)
        .order_by(ShopWebhookEndpoint.updated_at.desc(), ShopWebhookEndpoint.id)
    )
    return Attention(
        dead_events=events.get(EventStatus.DEAD, 0),
        failing_events=events.get(EventStatus.FAILED, 0),
        flagged_events=int(flagged_count or 0),
        flagged=[
            FlaggedEvent(event_id, kind, status, str(flag), received_at)
            for event_id, kind, status, flag, received_at in flagged
        ],
        dead_notifications=notifications.get(NotificationStatus.DEAD, 0),
        retrying_notifications=notifications.get(NotificationStatus.PENDING, 0),
        undelivered=[_undelivered(n) for n in undelivered],
        disabled_endpoints=[
            DisabledEndpoint(e.id, e.url, e.disabled_reason, e.updated_at) for e in endpoints
        ],
    )


def _undelivered(row: Notification) -> Undelivered:
    return Undelivered(
        row.id,
        row.channel,
        row.kind,
        row.recipient,
        row.payment_id,
        row.status,
        row.attempts,
        row.last_error,
        row.created_at,
    )


_STATUS_ORDER: dict[str, int] = {status: index for index, status in enumerate(PaymentStatus)}


def status_rank(status: str) -> tuple[int, str]:
    """Sorts statuses in the order a payment moves through them; unknown ones last."""
    return _STATUS_ORDER.get(status, len(_STATUS_ORDER)), status
