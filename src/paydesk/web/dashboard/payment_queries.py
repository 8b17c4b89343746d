"""The dashboard's reads of payments: the searchable list, and everything known about one.

These queries join across domains for display only (a payment with its order's e-mail, its
webhook events, its notifications); they write nothing and are read in one session.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVarTuple

import orjson
from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from paydesk.disputes.models import Dispute
from paydesk.gateway.types import intent_id_of
from paydesk.ledger import repository as ledger_repository
from paydesk.ledger.models import LedgerKind
from paydesk.notifications.models import DeliveryAttempt, Notification
from paydesk.orders.models import Order
from paydesk.payments import repository as payments_repository
from paydesk.payments.models import Payment, PaymentEvent, PaymentFact
from paydesk.refunds import repository as refunds_repository
from paydesk.refunds.models import Refund, RefundStatus
from paydesk.webhooks.models import EventStatus, InboxEvent

_Ts = TypeVarTuple("_Ts")

# Events not (yet) applied are matched to a payment by reading their bodies: at most this
# many of the newest such events are read.
UNAPPLIED_EVENTS_READ = 500


@dataclass(frozen=True, slots=True)
class PaymentSearch:
    """Which payments: each field that is not None must match. `text` matches a payment,
    order or PaymentIntent id exactly, or part of the customer's e-mail."""

    status: str | None = None
    currency: str | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None
    order_id: str | None = None
    customer_email: str | None = None
    text: str | None = None

    def where(self, query: Select[*_Ts]) -> Select[*_Ts]:
        query = query.join(Order, Order.id == Payment.order_id)
        if self.status is not None:
            query = query.where(Payment.status == self.status)
        if self.currency is not None:
            query = query.where(Payment.currency == self.currency)
        if self.created_from is not None:
            query = query.where(Payment.created_at >= self.created_from)
        if self.created_before is not None:
            query = query.where(Payment.created_at < self.created_before)
        if self.order_id is not None:
            query = query.where(Payment.order_id == self.order_id)
        if self.customer_email is not None:
            query = query.where(func.lower(Order.customer_email) == self.customer_email.lower())
        if self.text is not None:
            query = query.where(
                or_(
                    Payment.id == self.text,
                    Payment.order_id == self.text,
                    Payment.stripe_payment_intent_id == self.text,
                    Order.customer_email.icontains(self.text, autoescape=True),
                )
            )
        return query


@dataclass(frozen=True, slots=True)
class PaymentRow:
    id: str
    order_id: str
    customer_email: str
    amount: int
    currency: str
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentPage:
    """Newest first; whether payments matching the search are newer or older than it."""

    rows: list[PaymentRow]
    has_newer: bool
    has_older: bool


async def search_payments(
    session: AsyncSession,
    search: PaymentSearch,
    *,
    before_id: str | None,
    after_id: str | None,
    limit: int,
) -> PaymentPage:
    """One page of matching payments. Ids sort by creation time, so the page goes on from
    the last id seen: older than `before_id`, or newer than `after_id`."""
    columns = select(
        Payment.id,
        Payment.order_id,
        Order.customer_email,
        Payment.amount,
        Payment.currency,
        Payment.status,
        Payment.created_at,
    )
    query = search.where(columns).limit(limit)
    if after_id is not None:
        query = query.where(Payment.id > after_id).order_by(Payment.id)
    else:
        query = query.order_by(Payment.id.desc())
        if before_id is not None:
            query = query.where(Payment.id < before_id)
    rows = [PaymentRow(*row) for row in await session.execute(query)]
    if after_id is not None:
        rows.reverse()
    if not rows:
        return PaymentPage(rows, has_newer=False, has_older=False)
    return PaymentPage(
        rows,
        has_newer=await _any(session, search, Payment.id > rows[0].id),
        has_older=await _any(session, search, Payment.id < rows[-1].id),
    )


async def _any(
    session: AsyncSession, search: PaymentSearch, condition: ColumnElement[bool]
) -> bool:
    query = search.where(select(Payment.id).where(condition))
    return bool(await session.scalar(select(exists(query))))


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """A ledger entry and the payment's balance after it."""

    entry: ledger_repository.Row
    balance: int


@dataclass(frozen=True, slots=True)
class Amounts:
    """The payment's money as the ledger and its refunds tell it, in its currency."""

    amount: int
    captured: int
    refunded: int
    disputed: int
    balance: int
    refunds_under_way: int


@dataclass(frozen=True, slots=True)
class FactLine:
    """A recorded fact and when it was true (facts keep unix milliseconds)."""

    fact: PaymentFact
    observed: datetime


@dataclass(frozen=True, slots=True)
class Attempts:
    notification: Notification
    attempts: list[DeliveryAttempt]


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """Everything known about one payment, for its page."""

    payment: Payment
    order: Order
    timeline: list[PaymentEvent]
    facts: list[FactLine]
    refunds: Sequence[Refund]
    disputes: Sequence[Dispute]
    ledger: list[LedgerLine]
    amounts: Amounts
    events: list[InboxEvent]
    notifications: list[Attempts]


async def payment_record(session: AsyncSession, payment_id: str) -> PaymentRecord | None:
    payment = await payments_repository.get_payment(session, payment_id)
    if payment is None:
        return None
    order = await session.scalar(
        select(Order).where(Order.id == payment.order_id).options(selectinload(Order.items))
    )
    assert order is not None  # a payment's order is never deleted
    timeline = await payments_repository.timeline(session, [payment.id])
    facts = list(
        await session.scalars(
            select(PaymentFact).where(PaymentFact.payment_id == payment.id).order_by(PaymentFact.id)
        )
    )
    refunds = await refunds_repository.for_payment(session, payment.id)
    disputes = (
        await session.scalars(
            select(Dispute).where(Dispute.payment_id == payment.id).order_by(Dispute.created_at)
        )
    ).all()
    ledger = _running(await ledger_repository.for_payment(session, payment.id))
    event_ids = {f.stripe_event_id for f in facts} | {e.stripe_event_id for e in timeline}
    return PaymentRecord(
        payment=payment,
        order=order,
        timeline=timeline,
        facts=[FactLine(f, datetime.fromtimestamp(f.observed_at / 1000, UTC)) for f in facts],
        refunds=refunds,
        disputes=disputes,
        ledger=ledger,
        amounts=_amounts(payment, ledger, refunds),
        events=await _events(session, payment, {i for i in event_ids if i is not None}),
        notifications=await _notifications(session, payment.id),
    )


def _running(entries: list[ledger_repository.Row]) -> list[LedgerLine]:
    lines, balance = [], 0
    for entry in entries:
        balance += entry.amount
        lines.append(LedgerLine(entry, balance))
    return lines


_REFUND_KINDS = (LedgerKind.REFUND, LedgerKind.REFUND_REVERSAL)
_DISPUTE_KINDS = (
    LedgerKind.DISPUTE_WITHDRAWAL,
    LedgerKind.DISPUTE_REINSTATEMENT,
    LedgerKind.DISPUTE_FEE,
)


def _amounts(payment: Payment, ledger: list[LedgerLine], refunds: Sequence[Refund]) -> Amounts:
    def total(kinds: tuple[str, ...]) -> int:
        return sum(line.entry.amount for line in ledger if line.entry.kind in kinds)

    under_way = (RefundStatus.PENDING, RefundStatus.REQUIRES_ACTION)
    return Amounts(
        amount=payment.amount,
        captured=total((LedgerKind.CHARGE,)),
        refunded=-total(_REFUND_KINDS),
        disputed=-total(_DISPUTE_KINDS),
        balance=ledger[-1].balance if ledger else 0,
        refunds_under_way=sum(r.amount for r in refunds if r.status in under_way),
    )


async def _events(
    session: AsyncSession, payment: Payment, applied_ids: set[str]
) -> list[InboxEvent]:
    """The webhook events that told paydesk something about this payment (named by its
    facts and timeline), and those about its PaymentIntent still waiting, failed or dead.
    The body is bytes on every database, so the waiting ones are matched here, not in SQL."""
    events = list(await session.scalars(select(InboxEvent).where(InboxEvent.id.in_(applied_ids))))
    intent_id = payment.stripe_payment_intent_id
    if intent_id is not None:
        waiting = (EventStatus.PENDING, EventStatus.FAILED, EventStatus.DEAD)
        unapplied = await session.scalars(
            select(InboxEvent)
            .where(InboxEvent.status.in_(waiting))
            .order_by(InboxEvent.received_at.desc())
            .limit(UNAPPLIED_EVENTS_READ)
        )
        events += [
            e for e in unapplied if e.id not in applied_ids and _names_intent(e.body, intent_id)
        ]
    return sorted(events, key=lambda e: (e.received_at, e.id))


def _names_intent(body: bytes, intent_id: str) -> bool:
    if intent_id.encode() not in body:
        return False
    try:
        obj = orjson.loads(body)["data"]["object"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return False
    return isinstance(obj, dict) and intent_id_of(obj) == intent_id


async def _notifications(session: AsyncSession, payment_id: str) -> list[Attempts]:
    notifications = list(
        await session.scalars(
            select(Notification)
            .where(Notification.payment_id == payment_id)
            .order_by(Notification.created_at, Notification.id)
        )
    )
    if not notifications:
        return []
    attempts = await session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.notification_id.in_([n.id for n in notifications]))
        .order_by(DeliveryAttempt.id)
    )
    by_notification: dict[str, list[DeliveryAttempt]] = {n.id: [] for n in notifications}
    for attempt in attempts:
        by_notification[attempt.notification_id].append(attempt)
    return [Attempts(n, by_notification[n.id]) for n in notifications]
