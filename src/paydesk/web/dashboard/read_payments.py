"""The payments' read model: the searchable list, everything known about one payment, and
what an action's confirmation page names.

Its reads join across domains for display only (a payment with its order's e-mail, its
webhook events, its notifications); each opens one unit of work that only reads, and writes
nothing. A payment's webhook events are found through the inbox's index on their
PaymentIntent, never by reading event bodies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVarTuple

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.db import Units
from paydesk.disputes.models import Dispute
from paydesk.fraud.models import FraudWarning
from paydesk.ledger.models import LedgerKind
from paydesk.ledger.repository import Row, SettlementTotal
from paydesk.notifications.models import DeliveryAttempt
from paydesk.notifications.service import Attempts
from paydesk.orders.models import Order
from paydesk.payments.models import Payment, PaymentEvent, PaymentFact
from paydesk.refunds.models import Refund, RefundStatus
from paydesk.unit_of_work import UnitOfWork
from paydesk.webhooks.models import EventStatus, InboxEvent

_Ts = TypeVarTuple("_Ts")

# Events about the PaymentIntent in these statuses are shown even though no fact names them:
# they have not been applied (yet, or ever).
UNAPPLIED = frozenset({EventStatus.PENDING, EventStatus.FAILED, EventStatus.DEAD})


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
    method_type: str | None
    method_brand: str | None
    method_bank: str | None
    method_last4: str | None
    method_country: str | None
    risk_level: str | None


@dataclass(frozen=True, slots=True)
class PaymentPage:
    """Newest first; whether payments matching the search are newer or older than it."""

    rows: list[PaymentRow]
    has_newer: bool
    has_older: bool


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """A ledger entry and the payment's balance after it."""

    entry: Row
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
class PaymentSubject:
    """A payment and its order: what an action's confirmation page names."""

    payment: Payment
    order: Order


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """Everything known about one payment, for its page."""

    payment: Payment
    order: Order  # with its items
    timeline: list[PaymentEvent]
    facts: list[FactLine]
    refunds: Sequence[Refund]
    disputes: Sequence[Dispute]
    fraud_warnings: list[FraudWarning]  # the card issuers' early fraud warnings, oldest first
    ledger: list[LedgerLine]
    amounts: Amounts
    settled: list[SettlementTotal]  # its entries whose balance transaction is known
    events: list[InboxEvent]
    notifications: list[Attempts]


class PaymentReadModel:
    """Payments as the dashboard shows them, read across orders, refunds, disputes, the
    ledger, the inbox and the outbox."""

    def __init__(self, units: Units[UnitOfWork]) -> None:
        self.units = units

    async def search(
        self,
        search: PaymentSearch,
        *,
        before_id: str | None,
        after_id: str | None,
        limit: int,
    ) -> PaymentPage:
        """One page of matching payments. Ids sort by creation time, so the page goes on
        from the last id seen: older than `before_id`, or newer than `after_id`."""
        columns = select(
            Payment.id,
            Payment.order_id,
            Order.customer_email,
            Payment.amount,
            Payment.currency,
            Payment.status,
            Payment.created_at,
            Payment.method_type,
            Payment.method_brand,
            Payment.method_bank,
            Payment.method_last4,
            Payment.method_country,
            Payment.risk_level,
        )
        query = search.where(columns).limit(limit)
        if after_id is not None:
            query = query.where(Payment.id > after_id).order_by(Payment.id)
        else:
            query = query.order_by(Payment.id.desc())
            if before_id is not None:
                query = query.where(Payment.id < before_id)
        async with self.units.reading() as work:
            rows = [PaymentRow(**row._mapping) for row in await work.session.execute(query)]
            if after_id is not None:
                rows.reverse()
            if not rows:
                return PaymentPage(rows, has_newer=False, has_older=False)
            return PaymentPage(
                rows,
                has_newer=await _any(work.session, search, Payment.id > rows[0].id),
                has_older=await _any(work.session, search, Payment.id < rows[-1].id),
            )

    async def subject(self, payment_id: str) -> PaymentSubject | None:
        """The payment and its order; None when there is no such payment."""
        async with self.units.reading() as work:
            payment = await work.payments.get(payment_id)
            if payment is None:
                return None
            return PaymentSubject(payment, await _order(work, payment))

    async def record(self, payment_id: str) -> PaymentRecord | None:
        """Everything known about the payment; None when there is no such payment."""
        async with self.units.reading() as work:
            payment = await work.payments.get(payment_id)
            if payment is None:
                return None
            order = await _order(work, payment, with_items=True)
            timeline = await work.payments.timeline([payment.id])
            facts = await work.payments.fact_rows(payment.id)
            refunds = await work.refunds.list_for_payment(payment.id)
            disputes = await work.disputes.list_for_payment(payment.id)
            fraud_warnings = await work.fraud_warnings.list_for_payment(payment.id)
            ledger = _running(await work.ledger.for_payment(payment.id))
            named = {f.stripe_event_id for f in facts} | {e.stripe_event_id for e in timeline}
            events = await _events(work, payment, {i for i in named if i is not None})
            notifications = await _notifications(work, payment.id)
        return PaymentRecord(
            payment=payment,
            order=order,
            timeline=timeline,
            facts=[FactLine(f, datetime.fromtimestamp(f.observed_at / 1000, UTC)) for f in facts],
            refunds=refunds,
            disputes=disputes,
            fraud_warnings=fraud_warnings,
            ledger=ledger,
            amounts=_amounts(payment, ledger, refunds),
            settled=settled(ledger),
            events=events,
            notifications=notifications,
        )


async def _any(
    session: AsyncSession, search: PaymentSearch, condition: ColumnElement[bool]
) -> bool:
    query = search.where(select(Payment.id).where(condition))
    return bool(await session.scalar(select(exists(query))))


async def _order(work: UnitOfWork, payment: Payment, *, with_items: bool = False) -> Order:
    order = await work.orders.get(payment.order_id, with_items=with_items)
    assert order is not None  # a payment's order is never deleted
    return order


def _running(entries: list[Row]) -> list[LedgerLine]:
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


def settled(ledger: list[LedgerLine]) -> list[SettlementTotal]:
    """Per settlement currency, by code: what the entries with a balance transaction moved
    through the balance, Stripe's fees on it, and the net."""
    sums: dict[str, SettlementTotal] = {}
    for line in ledger:
        entry = line.entry
        if entry.settlement_currency is None:
            continue
        before = sums.get(entry.settlement_currency)
        sums[entry.settlement_currency] = SettlementTotal(
            entry.settlement_currency,
            (before.count if before else 0) + 1,
            (before.amount if before else 0) + (entry.settlement_amount or 0),
            (before.fee if before else 0) + (entry.fee or 0),
            (before.net if before else 0) + (entry.net or 0),
        )
    return [sums[currency] for currency in sorted(sums)]


async def _events(work: UnitOfWork, payment: Payment, named: set[str]) -> list[InboxEvent]:
    """The webhook events about the payment's PaymentIntent (and so its charges, refunds
    and disputes) that its facts and timeline name, and those not applied: waiting, failed
    or dead. In the order they arrived."""
    if payment.stripe_payment_intent_id is None:
        return []
    about = await work.inbox.list_for_intent(payment.stripe_payment_intent_id)
    return [e for e in about if e.id in named or e.status in UNAPPLIED]


async def _notifications(work: UnitOfWork, payment_id: str) -> list[Attempts]:
    notifications = await work.outbox.list_for_payment(payment_id)
    by_notification: dict[str, list[DeliveryAttempt]] = {n.id: [] for n in notifications}
    for attempt in await work.outbox.attempts(list(by_notification)):
        by_notification[attempt.notification_id].append(attempt)
    return [Attempts(n, by_notification[n.id]) for n in notifications]
