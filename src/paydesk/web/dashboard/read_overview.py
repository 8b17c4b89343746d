"""The overview's read model: what the overview counts, read in one unit of work.

Payments are counted by the UTC day they were created, their status now and their currency,
aggregated in the database over a bounded window (the last 30 days); refunds by the day they
were paid out, from the ledger; Stripe's fees by the day their balance transaction was made.
Open disputes and what needs an operator (dead or failing webhook events, flagged events,
undelivered notifications, disabled shop endpoints) are read as they stand; so is what does
not reconcile (failed payouts, payouts that do not add up, charges never paid out), which
the payout service decides, and what Radar, card issuers and deadlines raise (read_risks.py;
authorizations about to lapse, as the deadlines service finds them). Summing them up for the
page is overview.py's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.db import Units
from paydesk.deadlines.service import Deadlines
from paydesk.disputes.models import Dispute
from paydesk.ledger.models import BalanceTransaction, LedgerKind
from paydesk.ledger.repository import Total, Window
from paydesk.notifications.models import (
    EndpointStatus,
    Notification,
    NotificationStatus,
    ShopWebhookEndpoint,
)
from paydesk.payments.models import Payment
from paydesk.payments.state import DISPUTE_OPEN
from paydesk.payouts.models import Payout
from paydesk.payouts.service import PayoutService, PayoutView
from paydesk.unit_of_work import UnitOfWork
from paydesk.web.dashboard.read_risks import (
    Capped,
    OperatorWarning,
    PaidAfterExpiry,
    RiskyPayment,
    operator_warnings,
    paid_after_expiry,
    risky_payments,
)
from paydesk.webhooks.models import EventStatus, InboxEvent

REFUND_KINDS = frozenset({LedgerKind.REFUND, LedgerKind.REFUND_REVERSAL})
LIST_LIMIT = 10
LAPSING_LIMIT = 50
# How long after it became available a charge may wait for its payout before it needs a look.
PAYOUT_MARGIN = timedelta(days=3)


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
class OpenDispute:
    id: str
    payment_id: str
    status: str
    reason: str | None
    amount: int
    currency: str
    evidence_due_by: datetime | None
    evidence_submitted: bool


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


@dataclass(frozen=True, slots=True)
class UnpaidCharge:
    """A charge's balance transaction that no payout has paid out `PAYOUT_MARGIN` after
    it became available."""

    transaction_id: str
    payment_id: str | None
    net: int
    currency: str
    available_on: datetime


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
    failed_payouts: list[Payout] = field(default_factory=list)
    mismatched_payouts: list[PayoutView] = field(default_factory=list)
    unpaid_charges: list[UnpaidCharge] = field(default_factory=list)
    risky_payments: Capped[RiskyPayment] = field(default_factory=Capped)
    fraud_warnings: Capped[OperatorWarning] = field(default_factory=Capped)
    # Authorizations the worker acts on (or Stripe releases) soon, soonest first: at most
    # `LAPSING_LIMIT` of them.
    lapsing: list[Payment] = field(default_factory=list)
    paid_after_expiry: Capped[PaidAfterExpiry] = field(default_factory=Capped)

    @property
    def anything(self) -> bool:
        return bool(
            self.dead_events
            or self.failing_events
            or self.flagged_events
            or self.dead_notifications
            or self.retrying_notifications
            or self.disabled_endpoints
            or self.payouts_amiss
            or self.risks
        )

    @property
    def risks(self) -> bool:
        """Fraud signals or deadlines to look at."""
        return bool(
            self.risky_payments.total
            or self.fraud_warnings.total
            or self.lapsing
            or self.paid_after_expiry.total
        )

    @property
    def payouts_amiss(self) -> bool:
        return bool(self.failed_payouts or self.mismatched_payouts or self.unpaid_charges)


@dataclass(frozen=True)
class Figures:
    """Everything the overview shows, as it stood at one moment."""

    totals: list[DayTotal]  # payments created since the period began
    month_refunds: dict[str, int]  # refunds paid out since the period began, per currency
    today_refunds: dict[str, int]  # refunds paid out today, per currency
    month_fees: dict[str, int]  # Stripe's fees since the period began, per settlement currency
    today_fees: dict[str, int]  # Stripe's fees today, per settlement currency
    disputes_open: int
    disputes: list[OpenDispute]  # the first few by evidence due date
    attention: Attention


class OverviewReadModel:
    """The overview's figures, read across payments, the ledger, disputes, the inbox and the
    outbox in one unit of work that only reads; what does not reconcile, as the payout
    service finds it; authorizations about to lapse, as the deadlines service finds them."""

    def __init__(
        self,
        units: Units[UnitOfWork],
        payouts: PayoutService[UnitOfWork],
        deadlines: Deadlines[UnitOfWork],
    ) -> None:
        self.units = units
        self.payouts = payouts
        self.deadlines = deadlines

    async def figures(self, *, since: datetime, today_start: datetime) -> Figures:
        """Payments created, refunds paid out and Stripe's fees since `since`, refunds and
        fees since `today_start`, open disputes, and what needs attention (events flagged
        since `since`)."""
        reconciling = await self.payouts.needs_attention(margin=PAYOUT_MARGIN)
        lapsing = await self.deadlines.lapsing(limit=LAPSING_LIMIT)
        async with self.units.reading() as work:
            month_refunds = await work.ledger.totals(Window(start=since))
            today_refunds = await work.ledger.totals(Window(start=today_start))
            attention = await _attention(work.session, flagged_since=since)
            return Figures(
                totals=await _payment_totals(work.session, since),
                month_refunds=refunds_by_currency(month_refunds),
                today_refunds=refunds_by_currency(today_refunds),
                month_fees=await work.ledger.fees(since),
                today_fees=await work.ledger.fees(today_start),
                disputes_open=await _open_disputes_count(work.session),
                disputes=await _open_disputes(work.session),
                attention=replace(
                    attention,
                    failed_payouts=reconciling.failed,
                    mismatched_payouts=reconciling.mismatched,
                    unpaid_charges=await _unpaid_charges(work.session, reconciling.never_paid_out),
                    risky_payments=await risky_payments(
                        work.session, since=since, limit=LIST_LIMIT
                    ),
                    fraud_warnings=await operator_warnings(work.session, limit=LIST_LIMIT),
                    lapsing=lapsing,
                    paid_after_expiry=await paid_after_expiry(
                        work.session, since=since, limit=LIST_LIMIT
                    ),
                ),
            )


async def _payment_totals(session: AsyncSession, since: datetime) -> list[DayTotal]:
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


_DISPUTE_IS_OPEN = Dispute.status.in_(sorted(DISPUTE_OPEN))


async def _open_disputes_count(session: AsyncSession) -> int:
    count = await session.scalar(select(func.count()).select_from(Dispute).where(_DISPUTE_IS_OPEN))
    return int(count or 0)


async def _open_disputes(session: AsyncSession) -> list[OpenDispute]:
    """The first few open disputes by evidence due date (none: last)."""
    rows = await session.scalars(
        select(Dispute)
        .where(_DISPUTE_IS_OPEN)
        .order_by(Dispute.evidence_due_by.is_(None), Dispute.evidence_due_by, Dispute.id)
        .limit(LIST_LIMIT)
    )
    return [
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


async def _attention(session: AsyncSession, *, flagged_since: datetime) -> Attention:
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


async def _unpaid_charges(session: AsyncSession, ids: list[str]) -> list[UnpaidCharge]:
    """The charges' transactions named by `ids`, with their payment, longest waiting first."""
    if not ids:
        return []
    rows = await session.execute(
        select(
            BalanceTransaction.id,
            BalanceTransaction.payment_id,
            BalanceTransaction.net,
            BalanceTransaction.currency,
            BalanceTransaction.available_on,
        )
        .where(BalanceTransaction.id.in_(ids))
        .order_by(BalanceTransaction.available_on, BalanceTransaction.id)
    )
    return [UnpaidCharge(*row) for row in rows]


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


def refunds_by_currency(totals: Iterable[Total]) -> dict[str, int]:
    """Refunds paid out per currency, less refunds that failed afterwards, as positive amounts."""
    refunded: dict[str, int] = {}
    for total in totals:
        if total.kind in REFUND_KINDS:
            refunded[total.currency] = refunded.get(total.currency, 0) - total.amount
    return refunded
