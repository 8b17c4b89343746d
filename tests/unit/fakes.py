"""A unit of work that keeps its rows in memory, for the services' rules and the effects
table: the same services and effects as in production, no database. Each fake repository
does what its database counterpart promises (unique keys, on-conflict no-ops, row
creation in one place); what only a database can show (locks, races, SQL) stays in the
integration tests."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from paydesk.db import new_id, utcnow
from paydesk.disputes.models import Dispute
from paydesk.disputes.service import DisputeService
from paydesk.effects import apply_effects
from paydesk.fraud.models import FraudWarning, WarningAction
from paydesk.fraud.service import FraudDesk
from paydesk.gateway.fake import FakeGateway
from paydesk.gateway.types import EarlyFraudWarningSnapshot
from paydesk.ledger.models import LedgerEntry, LedgerKind
from paydesk.notifications.models import ShopWebhookEndpoint
from paydesk.notifications.repository import Message
from paydesk.orders.models import UNPAID_ORDER_STATUSES, Order, OrderItem, OrderStatus
from paydesk.orders.service import OrderService
from paydesk.payments.models import Payment, PaymentEvent, PaymentFact, PaymentStatus
from paydesk.payments.order_changes import OrderChanges
from paydesk.payments.service import FactRecorder, PaymentService
from paydesk.payments.state import Clock, Fact, FactKind
from paydesk.refunds.models import HOLDING, Refund
from paydesk.refunds.service import RefundService

_ids = itertools.count(1)


@dataclass
class Store:
    """Every row the fake repositories hold."""

    orders: dict[str, Order] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)
    facts: dict[tuple[str, str], PaymentFact] = field(default_factory=dict)
    timeline: list[PaymentEvent] = field(default_factory=list)
    refunds: dict[str, Refund] = field(default_factory=dict)
    disputes: dict[str, Dispute] = field(default_factory=dict)
    ledger: dict[tuple[str, str], LedgerEntry] = field(default_factory=dict)
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    outbox: dict[tuple[str, str, str], Message] = field(default_factory=dict)
    fraud_warnings: dict[str, FraudWarning] = field(default_factory=dict)
    endpoints: list[ShopWebhookEndpoint] = field(default_factory=list)


class FakeOrders:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(
        self, order_id: str, *, for_update: bool = False, with_items: bool = False
    ) -> Order | None:
        return self.store.orders.get(order_id)

    async def items_of(self, order_ids: Collection[str]) -> dict[str, list[OrderItem]]:
        return {order_id: list(self.store.orders[order_id].items) for order_id in order_ids}

    async def customer_emails(self, order_ids: Collection[str]) -> dict[str, str]:
        return {i: self.store.orders[i].customer_email for i in order_ids}

    async def statuses(self, order_ids: Collection[str]) -> dict[str, OrderStatus]:
        return {i: OrderStatus(self.store.orders[i].status) for i in order_ids}

    async def add(self, order: Order) -> None:
        order.status = order.status or OrderStatus.PENDING_PAYMENT
        self.store.orders[order.id] = order

    async def set_statuses(self, statuses: Mapping[str, OrderStatus]) -> None:
        for order_id, status in statuses.items():
            if self.store.orders[order_id].status != OrderStatus.EXPIRED:
                self.store.orders[order_id].status = status

    async def pay_expired(self, statuses: Mapping[str, OrderStatus]) -> list[str]:
        expired = [i for i in statuses if self.store.orders[i].status == OrderStatus.EXPIRED]
        for order_id in expired:
            self.store.orders[order_id].status = statuses[order_id]
            self.store.orders[order_id].paid_after_expiry = True
        return expired

    async def list_expiring(self, now: datetime, *, limit: int) -> list[str]:
        due = [
            o
            for o in self.store.orders.values()
            if o.status in UNPAID_ORDER_STATUSES and o.expires_at and o.expires_at <= now
        ]
        return [o.id for o in sorted(due, key=lambda o: o.expires_at or now)][:limit]

    async def replace_items(self, order: Order, items: list[OrderItem]) -> None:
        order.items = items


class FakePayments:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def ids_by_intents(self, intent_ids: Collection[str]) -> dict[str, str]:
        return {
            p.stripe_payment_intent_id: p.id
            for p in self.store.payments.values()
            if p.stripe_payment_intent_id in intent_ids
        }

    async def get(self, payment_id: str, *, for_update: bool = False) -> Payment | None:
        return self.store.payments.get(payment_id)

    async def get_by_intent(self, intent_id: str, *, for_update: bool = False) -> Payment | None:
        return next(
            (p for p in self.store.payments.values() if p.stripe_payment_intent_id == intent_id),
            None,
        )

    async def get_open_for_order(self, order_id: str) -> Payment | None:
        return next(
            (
                p
                for p in self.store.payments.values()
                if p.order_id == order_id and p.status != PaymentStatus.CANCELED
            ),
            None,
        )

    def add(self, payment: Payment) -> None:
        self.store.payments[payment.id] = payment

    async def add_timeline_entries(self, entries: Sequence[PaymentEvent]) -> None:
        for entry in entries:
            entry.id = next(_ids)
            entry.created_at = utcnow()
            self.store.timeline.append(entry)

    async def timeline(self, payment_ids: Sequence[str]) -> list[PaymentEvent]:
        return [e for e in self.store.timeline if e.payment_id in payment_ids]

    async def facts(self, payment_id: str) -> list[Fact]:
        return (await self.facts_by_payment([payment_id]))[payment_id]

    async def facts_by_payment(self, payment_ids: Sequence[str]) -> dict[str, list[Fact]]:
        return {payment_id: self._facts(payment_id) for payment_id in payment_ids}

    def _facts(self, payment_id: str) -> list[Fact]:
        return [
            Fact(
                kind=FactKind(row.kind),
                object_id=row.stripe_object_id,
                status=row.stripe_status,
                observed_at=row.observed_at,
                amount=row.amount,
                currency=row.currency,
                amount_received=row.amount_received,
                amount_capturable=row.amount_capturable,
                amount_refunded=row.amount_refunded,
                error_code=row.error_code,
                clock=Clock(row.clock),
            )
            for (owner, _), row in self.store.facts.items()
            if owner == payment_id
        ]

    async def add_facts(self, facts: list[PaymentFact]) -> None:
        for fact in facts:
            self.store.facts.setdefault((fact.payment_id, fact.fingerprint), fact)


class FakeRefunds:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(
        self,
        *,
        payment_id: str,
        amount: int,
        currency: str,
        status: str,
        stripe_refund_id: str | None = None,
        reason: str | None = None,
        client_key: str | None = None,
        requested_by: str | None = None,
    ) -> Refund:
        refund = Refund(
            id=new_id("rf"),
            payment_id=payment_id,
            stripe_refund_id=stripe_refund_id,
            amount=amount,
            currency=currency,
            reason=reason,
            status=status,
            client_key=client_key,
            requested_by=requested_by,
            created_at=utcnow(),
        )
        self.store.refunds[refund.id] = refund
        return refund

    async def get(self, refund_id: str) -> Refund | None:
        return self.store.refunds.get(refund_id)

    async def get_by_stripe_id(self, stripe_refund_id: str) -> Refund | None:
        return next(
            (r for r in self.store.refunds.values() if r.stripe_refund_id == stripe_refund_id),
            None,
        )

    async def get_by_client_key(self, payment_id: str, key: str) -> Refund | None:
        return next(
            (
                r
                for r in self.store.refunds.values()
                if r.payment_id == payment_id and r.client_key == key
            ),
            None,
        )

    async def held_amount(self, payment_id: str) -> int:
        return sum(
            r.amount
            for r in self.store.refunds.values()
            if r.payment_id == payment_id and r.status in HOLDING
        )

    async def link(self, refund_id: str, stripe_refund_id: str) -> None:
        refund = self.store.refunds.get(refund_id)
        if refund is not None and refund.stripe_refund_id is None:
            refund.stripe_refund_id = stripe_refund_id


class FakeDisputes:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, dispute_id: str) -> Dispute | None:
        return self.store.disputes.get(dispute_id)

    async def get_or_add(
        self, dispute_id: str, *, payment_id: str, status: str, amount: int, currency: str
    ) -> Dispute:
        if dispute_id not in self.store.disputes:
            self.store.disputes[dispute_id] = Dispute(
                id=dispute_id,
                payment_id=payment_id,
                status=status,
                amount=amount,
                currency=currency,
                evidence_submitted=False,
            )
        return self.store.disputes[dispute_id]


class FakeLedger:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def post(self, entries: list[LedgerEntry]) -> None:
        for entry in entries:
            self.store.ledger.setdefault((entry.stripe_object_id, entry.kind), entry)

    async def has_entry(self, stripe_object_id: str, kind: LedgerKind) -> bool:
        return (stripe_object_id, kind) in self.store.ledger

    async def record_transactions(self, transactions: Sequence[dict[str, Any]]) -> None:
        for txn in transactions:
            known = self.store.transactions.setdefault(txn["id"], dict(txn))
            if txn["status"] == "available":
                known["status"] = "available"
            known["payout_id"] = known["payout_id"] or txn["payout_id"]

    async def link(self, links: Sequence[tuple[str, str, str]]) -> None:
        for kind, object_id, txn_id in links:
            entry = self.store.ledger.get((object_id, kind))
            if entry is not None and entry.balance_transaction_id is None:
                entry.balance_transaction_id = txn_id


class FakeOutbox:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def queue(self, messages: Sequence[Message]) -> None:
        for message in messages:
            self.store.outbox.setdefault((message.cause, message.recipient, message.kind), message)

    async def enabled_endpoints(self) -> list[ShopWebhookEndpoint]:
        return list(self.store.endpoints)


class FakeFraudWarnings:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def record(self, warnings: Sequence[tuple[str, EarlyFraudWarningSnapshot]]) -> None:
        for payment_id, warning in warnings:
            row = self.store.fraud_warnings.get(warning.id)
            if row is None:
                self.store.fraud_warnings[warning.id] = FraudWarning(
                    id=warning.id,
                    payment_id=payment_id,
                    charge_id=warning.charge,
                    fraud_type=warning.fraud_type,
                    actionable=warning.actionable,
                    created=datetime.fromtimestamp(warning.created, UTC),
                    action=None,
                    refund_id=None,
                    recorded_at=utcnow(),
                )
            else:
                row.actionable = warning.actionable

    async def get(self, warning_id: str, *, for_update: bool = False) -> FraudWarning | None:
        return self.store.fraud_warnings.get(warning_id)

    async def list_undecided(self, *, limit: int) -> list[FraudWarning]:
        return [
            w
            for w in self.store.fraud_warnings.values()
            if w.action is None or (w.action == WarningAction.REFUND and w.refund_id is None)
        ][:limit]


class FakeSession:
    """Only what the effects ask of a session: a savepoint, which here keeps nothing apart."""

    @contextlib.asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[None]:
        yield


class FakeWork:
    def __init__(self, store: Store) -> None:
        self.session: Any = FakeSession()
        self.orders = FakeOrders(store)
        self.payments = FakePayments(store)
        self.refunds = FakeRefunds(store)
        self.disputes = FakeDisputes(store)
        self.ledger = FakeLedger(store)
        self.outbox = FakeOutbox(store)
        self.fraud_warnings = FakeFraudWarnings(store)


class FakeUnits:
    """Units of work over one in-memory store; each block sees what the last one left."""

    def __init__(self) -> None:
        self.store = Store()

    @contextlib.asynccontextmanager
    async def writing(self) -> AsyncIterator[FakeWork]:
        yield FakeWork(self.store)

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[FakeWork]:
        yield FakeWork(self.store)


@dataclass
class InMemory:
    """paydesk's order, payment, refund and dispute services over FakeUnits and a fake
    Stripe, wired as composition.py wires them."""

    units: FakeUnits
    stripe: FakeGateway
    orders: OrderService
    payments: PaymentService[Any]
    refunds: RefundService[Any]
    disputes: DisputeService[Any]
    recorder: FactRecorder[Any]
    order_changes: OrderChanges[Any]
    fraud: FraudDesk[Any]

    @classmethod
    def build(cls, *, auto_refund_max: int | None = None) -> InMemory:
        units, stripe = FakeUnits(), FakeGateway()
        recorder: FactRecorder[Any] = FactRecorder(apply_effects)
        refunds: RefundService[Any] = RefundService(units, stripe, recorder)
        return cls(
            units=units,
            stripe=stripe,
            orders=OrderService(units),
            payments=PaymentService(units, stripe, recorder),
            refunds=refunds,
            disputes=DisputeService(units, stripe, recorder),
            recorder=recorder,
            order_changes=OrderChanges(units, stripe, recorder),
            fraud=FraudDesk(units, refunds, auto_refund_max=auto_refund_max),
        )

    @property
    def store(self) -> Store:
        return self.units.store
