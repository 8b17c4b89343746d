"""Starting, confirming and verifying payments; applying what Stripe says to them.

Calls to Stripe happen outside any database transaction, and every call that creates or
changes money carries an idempotency key derived from paydesk's own ids: if Stripe cannot
be reached, nothing is half-written, and the same request later finds the same
PaymentIntent instead of making a second one.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.auth.service import Customer, Principal
from paydesk.db import Database, new_id
from paydesk.disputes.models import Dispute
from paydesk.errors import Conflict, InvalidRequest, NotFound, PaydeskError
from paydesk.gateway.base import Gateway, IntentDeclined
from paydesk.gateway.types import IntentSnapshot
from paydesk.ledger.models import LedgerEntry, LedgerKind
from paydesk.money import format_amount
from paydesk.notifications import outbox
from paydesk.orders.models import Order, OrderStatus
from paydesk.orders.service import get_order, set_order_status
from paydesk.payments import repository
from paydesk.payments.models import Cause, Payment, PaymentEvent, PaymentFact, PaymentStatus
from paydesk.payments.state import (
    PAID_ORDER_STATUSES,
    Clock,
    Derived,
    Fact,
    derive_status,
    order_status_for,
)
from paydesk.refunds import repository as refunds_repository
from paydesk.refunds.models import Refund, RefundStatus

# Payments in these statuses cannot be confirmed again.
_NOT_CONFIRMABLE = {
    PaymentStatus.PROCESSING: "is being processed",
    PaymentStatus.REQUIRES_CAPTURE: "is authorized and awaits capture",
    PaymentStatus.SUCCEEDED: "has succeeded",
    PaymentStatus.PARTIALLY_REFUNDED: "has succeeded",
    PaymentStatus.REFUNDED: "has succeeded",
    PaymentStatus.DISPUTED: "has succeeded",
    PaymentStatus.CANCELED: "is canceled",
}


_NOT_CANCELABLE = {
    PaymentStatus.PROCESSING: "is being processed and cannot be stopped",
    PaymentStatus.SUCCEEDED: "has succeeded: refund it instead",
    PaymentStatus.PARTIALLY_REFUNDED: "has succeeded: refund it instead",
    PaymentStatus.REFUNDED: "has succeeded and is refunded",
    PaymentStatus.DISPUTED: "has succeeded and is disputed",
    PaymentStatus.CANCELED: "is already canceled",
}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class PaymentView:
    """A payment and its timeline, as the transaction that last wrote it left them."""

    payment: Payment
    timeline: list[PaymentEvent]


@dataclass(frozen=True, slots=True)
class Observation:
    """A snapshot of the PaymentIntent from Stripe's API, when it was true and who asked:
    `operator` is the e-mail of the dashboard operator whose action it answers, if any."""

    intent: IntentSnapshot
    observed_at: int
    cause: Cause
    operator: str | None = None


def asked_by(operator: str | None) -> Cause:
    """An action an operator took in the dashboard, or one the shop asked for by API."""
    return Cause.OPERATOR if operator is not None else Cause.API


def capture_refusal(payment: Payment, amount: int | None) -> PaydeskError | None:
    """Why `capture` would refuse to take `amount` (None: all) of the payment, as the error
    it raises; None when it would ask Stripe."""
    if payment.status != PaymentStatus.REQUIRES_CAPTURE:
        return Conflict(
            f"Payment {payment.id} is {payment.status}: only an authorized payment "
            "(requires_capture) can be captured.",
            code="payment_not_capturable",
        )
    if amount is not None and amount > payment.amount:
        return InvalidRequest(
            f"At most {format_amount(payment.amount, payment.currency)} was authorized.",
            code="amount_too_large",
            param="amount",
        )
    return None


def cancel_refusal(payment: Payment) -> Conflict | None:
    """Why `cancel` would refuse to cancel the payment, as the error it raises; None when
    it would ask Stripe."""
    reason = _NOT_CANCELABLE.get(PaymentStatus(payment.status))
    if reason is not None:
        return Conflict(f"Payment {payment.id} {reason}.", code="payment_not_cancelable")
    if payment.stripe_payment_intent_id is None:
        return Conflict(
            f"Payment {payment.id} has no PaymentIntent yet; nothing to cancel.",
            code="payment_not_started",
        )
    return None


class PaymentService:
    def __init__(self, db: Database, gateway: Gateway) -> None:
        self.db = db
        self.gateway = gateway
        # One Stripe create per payment at a time in this process; across processes the
        # idempotency key makes concurrent creates return the same PaymentIntent.
        self._creating: dict[str, asyncio.Lock] = {}

    async def start(
        self,
        principal: Principal,
        order_id: str,
        *,
        payment_method: str | None = None,
        return_url: str | None = None,
    ) -> PaymentView:
        payment, capture_method, settled = await self._open_payment(principal, order_id)
        if settled:
            # Paid (or authorized) by this payment already: a retry whose first answer was
            # lost, or a webhook that came first. Nothing is asked of Stripe again.
            return await self.view(payment.id)
        if payment.stripe_payment_intent_id is None:
            payment = await self._create_intent(payment, capture_method)
        if payment_method is not None:
            return await self._confirm(payment, payment_method, return_url)
        return await self.view(payment.id)

    async def view(self, payment_id: str) -> PaymentView:
        """The payment and its timeline, read together."""
        async with self.db.sessions() as session:
            payment = await repository.get_payment(session, payment_id)
            if payment is None:
                raise NotFound(f"No payment {payment_id!r}.", param="payment_id")
            return PaymentView(payment, await repository.timeline(session, [payment.id]))

    async def verify(self, principal: Principal, payment_id: str) -> PaymentView:
        """Asks Stripe for the PaymentIntent and applies what it says."""
        async with self.db.sessions() as session:
            payment = await self.get(session, principal, payment_id)
        if payment.stripe_payment_intent_id is None:
            raise Conflict(
                "This payment has no PaymentIntent yet: start it again with POST /api/payments.",
                code="payment_not_started",
            )
        intent = await self.gateway.retrieve_payment_intent(payment.stripe_payment_intent_id)
        return await self.apply(payment.id, Observation(intent, now_ms(), Cause.API))

    async def capture(
        self, payment_id: str, *, amount: int | None, operator: str | None = None
    ) -> PaymentView:
        """Takes all of an authorized payment, or `amount` of it; the rest is released.
        `operator` names the dashboard operator who asked, for the timeline."""
        payment = await self._shop_payment(payment_id)
        refusal = capture_refusal(payment, amount)
        if refusal is not None:
            raise refusal
        assert payment.stripe_payment_intent_id is not None
        intent = await self.gateway.capture_payment_intent(
            payment.stripe_payment_intent_id,
            amount=amount,
            idempotency_key=f"paydesk-{payment.id}-capture-{amount or 'all'}",
        )
        observation = Observation(intent, now_ms(), asked_by(operator), operator)
        return await self.apply(payment.id, observation)

    async def cancel(self, payment_id: str, *, operator: str | None = None) -> PaymentView:
        """Releases an authorized payment, or abandons one not paid yet; its order is
        canceled with it. `operator` names the dashboard operator who asked."""
        payment = await self._shop_payment(payment_id)
        refusal = cancel_refusal(payment)
        if refusal is not None:
            raise refusal
        assert payment.stripe_payment_intent_id is not None
        intent = await self.gateway.cancel_payment_intent(
            payment.stripe_payment_intent_id,
            reason="requested_by_customer",
            idempotency_key=f"paydesk-{payment.id}-cancel",
        )
        observation = Observation(intent, now_ms(), asked_by(operator), operator)
        return await self.apply(payment.id, observation)

    async def _shop_payment(self, payment_id: str) -> Payment:
        async with self.db.sessions() as session:
            payment = await repository.get_payment(session, payment_id)
        if payment is None:
            raise NotFound(f"No payment {payment_id!r}.", param="payment_id")
        return payment

    async def get(self, session: AsyncSession, principal: Principal, payment_id: str) -> Payment:
        payment = await repository.get_payment(session, payment_id)
        if payment is None or (
            isinstance(principal, Customer) and payment.order_id != principal.order_id
        ):
            raise NotFound(f"No payment {payment_id!r}.", param="payment_id")
        return payment

    async def _open_payment(self, principal: Principal, order_id: str) -> tuple[Payment, str, bool]:
        """The order's one open payment, made now if it has none, how it captures, and
        whether it has paid (or authorized) the order already."""
        async with self.db.transaction() as session:
            order = await get_order(session, principal, order_id, for_update=True)
            if order.status in PAID_ORDER_STATUSES:
                paid = await repository.open_payment_for_order(session, order.id)
                if paid is None:
                    raise Conflict(
                        f"Order {order.id} is already paid ({order.status}).",
                        code="order_already_paid",
                    )
                return paid, order.capture_method, True
            if order.status == OrderStatus.CANCELED:
                raise Conflict(f"Order {order.id} is canceled.", code="order_canceled")
            payment = await repository.open_payment_for_order(session, order.id)
            if payment is None:
                payment = Payment(
                    id=new_id("pay"),
                    order_id=order.id,
                    status=PaymentStatus.PENDING,
                    amount=order.amount,
                    currency=order.currency,
                    confirm_attempts=0,
                )
                session.add(payment)
                session.add(
                    PaymentEvent(
                        payment_id=payment.id,
                        from_status=None,
                        to_status=PaymentStatus.PENDING,
                        cause=Cause.API,
                    )
                )
                await session.flush()
            return payment, order.capture_method, False

    async def _create_intent(self, payment: Payment, capture_method: str) -> Payment:
        with self._lock(payment.id) as lock:
            waited = lock.locked()
            async with lock:
                if waited:  # another request in this process made it meanwhile
                    async with self.db.sessions() as session:
                        current = await repository.get_payment(session, payment.id)
                    if current is not None and current.stripe_payment_intent_id is not None:
                        return current
                intent = await self.gateway.create_payment_intent(
                    amount=payment.amount,
                    currency=payment.currency,
                    capture_method=capture_method,
                    metadata={
                        "paydesk_payment_id": payment.id,
                        "paydesk_order_id": payment.order_id,
                    },
                    description=f"Order {payment.order_id}",
                    idempotency_key=f"paydesk-{payment.id}-create",
                )
                async with self.db.transaction() as session:
                    observation = Observation(intent, now_ms(), Cause.API)
                    return await self._apply(session, payment.id, observation)

    @contextmanager
    def _lock(self, key: str) -> Iterator[asyncio.Lock]:
        lock = self._creating.setdefault(key, asyncio.Lock())
        try:
            yield lock
        finally:
            if not lock.locked() and self._creating.get(key) is lock:
                del self._creating[key]

    async def _confirm(
        self, payment: Payment, payment_method: str, return_url: str | None
    ) -> PaymentView:
        reason = _NOT_CONFIRMABLE.get(PaymentStatus(payment.status))
        if reason is not None:
            raise Conflict(f"Payment {payment.id} {reason}.", code="payment_not_confirmable")
        assert payment.stripe_payment_intent_id is not None
        # The same confirmation retried reuses its key, so Stripe replays its first answer;
        # another card, or the next try after a decline, gets a new one.
        request = hashlib.sha256(f"{payment_method}\n{return_url or ''}".encode()).hexdigest()
        key = f"paydesk-{payment.id}-confirm-{payment.confirm_attempts}-{request[:16]}"
        try:
            intent = await self.gateway.confirm_payment_intent(
                payment.stripe_payment_intent_id,
                payment_method=payment_method,
                return_url=return_url,
                idempotency_key=key,
            )
        except IntentDeclined as declined:
            async with self.db.transaction() as session:
                observation = Observation(declined.intent, now_ms(), Cause.API)
                await self._apply(session, payment.id, observation, confirmed=True)
            raise
        return await self.apply(
            payment.id, Observation(intent, now_ms(), Cause.API), confirmed=True
        )

    async def apply(
        self, payment_id: str, observation: Observation, *, confirmed: bool = False
    ) -> PaymentView:
        """What Stripe said, applied in one transaction, which also reads the timeline it
        leaves (the caller's answer needs no second read)."""
        async with self.db.transaction() as session:
            payment = await self._apply(session, payment_id, observation, confirmed=confirmed)
            return PaymentView(payment, await repository.timeline(session, [payment.id]))

    async def _apply(
        self,
        session: AsyncSession,
        payment_id: str,
        observation: Observation,
        *,
        confirmed: bool = False,
    ) -> Payment:
        """`apply` in the caller's transaction, without the timeline: for a step whose
        answer nobody sees (a confirmation follows it, or a decline is raised after it)."""
        payment = await repository.get_payment(session, payment_id, for_update=True)
        if payment is None:
            raise NotFound(f"No payment {payment_id!r}.", param="payment_id")
        if confirmed:
            payment.confirm_attempts += 1
        await apply_observation(session, payment, observation)
        return payment


async def apply_observation(
    session: AsyncSession, payment: Payment, observation: Observation
) -> None:
    """What the API told us of the PaymentIntent, recorded as a fact and applied."""
    intent = observation.intent
    link_intent(payment, intent.id)
    if intent.client_secret and payment.client_secret is None:
        payment.client_secret = intent.client_secret
    payment.next_action_url = intent.next_action_url if intent.status == "requires_action" else None
    if intent.status == "requires_payment_method" and intent.error_code:
        payment.last_error_code = intent.decline_code or intent.error_code
        payment.last_error_message = intent.error_message
    await record_facts(
        session,
        payment,
        [intent.fact(observation.observed_at)],
        cause=observation.cause,
        decline_code=intent.decline_code,
        latest_charge=intent.latest_charge,
        operator=observation.operator,
    )


def link_intent(payment: Payment, intent_id: str) -> None:
    if payment.stripe_payment_intent_id is None:
        payment.stripe_payment_intent_id = intent_id
    elif payment.stripe_payment_intent_id != intent_id:
        raise Conflict(
            f"PaymentIntent {intent_id} does not belong to payment {payment.id}.",
            code="payment_intent_mismatch",
        )


async def record_facts(
    session: AsyncSession,
    payment: Payment,
    facts: list[Fact],
    *,
    cause: Cause,
    stripe_event_id: str | None = None,
    decline_code: str | None = None,
    latest_charge: str | None = None,
    operator: str | None = None,
) -> Derived:
    """Records what Stripe said as facts, derives the status from every fact, and writes
    down what changed: the timeline (naming the `operator` who asked, if one did), the
    order's status and the ledger. Facts already known change nothing and cost no write."""
    # Nothing is flushed before the facts are read and recorded: the caller's changes to
    # the payment are then written in one UPDATE, with its new status if it has one.
    with session.no_autoflush:
        known = await repository.facts(session, payment.id)
        seen = set(known)
        new = [fact for fact in dict.fromkeys(facts) if fact not in seen]
        before = derive_status(known, amount=payment.amount, currency=payment.currency)
        if not new:
            _forget_past_errors(payment, before)
            return before
        await repository.add_facts(
            session,
            [
                PaymentFact(
                    payment_id=payment.id,
                    fingerprint=fingerprint(fact),
                    kind=fact.kind,
                    stripe_object_id=fact.object_id,
                    stripe_status=fact.status,
                    observed_at=fact.observed_at,
                    clock=fact.clock,
                    amount=fact.amount,
                    currency=fact.currency,
                    amount_received=fact.amount_received,
                    amount_capturable=fact.amount_capturable,
                    amount_refunded=fact.amount_refunded,
                    error_code=fact.error_code,
                    decline_code=decline_code,
                    latest_charge=latest_charge,
                    cause=cause,
                    stripe_event_id=stripe_event_id,
                )
                for fact in new
            ],
        )
    derived = derive_status(known + new, amount=payment.amount, currency=payment.currency)
    _forget_past_errors(payment, derived)
    changed = derived.status != payment.status or derived.review_reason != payment.review_reason
    moved = (derived.refunds, derived.disputes) != (before.refunds, before.disputes)
    # The payment's row lock (held by the caller) serializes every change of its order.
    order: Order | None = None
    if changed:
        change = PaymentEvent(
            payment_id=payment.id,
            from_status=payment.status,
            to_status=derived.status,
            cause=cause,
            stripe_event_id=stripe_event_id,
            detail=_timeline_detail(derived, payment, operator),
        )
        session.add(change)
        payment.status = derived.status
        payment.review_reason = derived.review_reason
        if derived.status != PaymentStatus.REQUIRES_ACTION:
            payment.next_action_url = None
        await session.flush()  # the timeline entry's id names the notifications' cause
        order = await set_order_status(session, payment.order_id, order_status_for(derived))
        await outbox.notify_payment_change(
            session,
            payment,
            order,
            from_status=change.from_status,
            to_status=change.to_status,
            cause=f"timeline:{change.id}",
        )
    elif moved:
        order = await session.get(Order, payment.order_id)
    if (derived.captured, derived.capture_seen, derived.refunds) != (
        before.captured,
        before.capture_seen,
        before.refunds,
    ):
        await _post_ledger(session, payment, derived)
    if moved:
        assert order is not None
        if derived.refunds != before.refunds:
            await _follow_refunds(session, payment, order, derived)
        if derived.disputes != before.disputes:
            await _follow_disputes(session, payment, order, derived, before)
    return derived


def _timeline_detail(derived: Derived, payment: Payment, operator: str | None) -> str | None:
    """Why a payment is held for review or failed, and which operator's action changed it."""
    failure = None
    if derived.status == PaymentStatus.FAILED and payment.last_error_code:
        failure = ": ".join(p for p in (payment.last_error_code, payment.last_error_message) if p)
    parts = [derived.review_reason, failure, f"by {operator}" if operator else None]
    return "; ".join(part for part in parts if part) or None


def _forget_past_errors(payment: Payment, derived: Derived) -> None:
    """A failed attempt's error is the payment's current state only while it stays failed:
    Stripe clears `last_payment_error` once a later attempt goes on, and so does paydesk.
    The timeline keeps it (the change to `failed` says why)."""
    if derived.status != PaymentStatus.FAILED:
        payment.last_error_code = None
        payment.last_error_message = None


async def _follow_refunds(
    session: AsyncSession, payment: Payment, order: Order, derived: Derived
) -> None:
    """Each refund's own status is the one derived from its facts; a refund made outside
    paydesk (in Stripe's dashboard) is recorded when its news arrives. A refund that has
    just succeeded tells the customer and the shop."""
    for refund_id, status, amount in derived.refunds:
        refund = await refunds_repository.by_stripe_id(session, refund_id)
        if refund is None:
            refund = Refund(
                id=new_id("rf"),
                payment_id=payment.id,
                stripe_refund_id=refund_id,
                amount=amount,
                currency=payment.currency,
            )
            session.add(refund)
        if status == RefundStatus.SUCCEEDED and refund.status != RefundStatus.SUCCEEDED:
            await outbox.notify_refund(session, payment, order, refund_id=refund_id, amount=amount)
        refund.status = status


async def _follow_disputes(
    session: AsyncSession, payment: Payment, order: Order, derived: Derived, before: Derived
) -> None:
    """Each dispute's status is the one derived from its facts; the shop hears when one
    opens and when it closes (each once: the outbox is unique per dispute and event)."""
    known = {dispute_id: status for dispute_id, status, _ in before.disputes}
    for dispute_id, status, amount in derived.disputes:
        dispute = await session.get(Dispute, dispute_id)
        if dispute is None:
            dispute = Dispute(
                id=dispute_id, payment_id=payment.id, amount=amount, currency=payment.currency
            )
            session.add(dispute)
        if known.get(dispute_id) != status:
            await outbox.notify_dispute(
                session, payment, order, dispute_id=dispute_id, status=status
            )
        dispute.status = status


def fingerprint(fact: Fact) -> str:
    """The same observation always has the same fingerprint, so it is stored once.

    A fact from an event hashes as it did before facts named their clock, so an event
    Stripe delivers again (it retries for days, and backfill reads events again) still
    meets the row its first delivery left. A fact on paydesk's clock hashes its clock too:
    paydesk stamps each of its observations anew, so none of them is ever recorded twice."""
    *fields, clock = astuple(fact)  # the clock is Fact's last field
    if clock != Clock.STRIPE:
        fields.append(clock)
    return hashlib.sha256("\x1f".join(map(str, fields)).encode()).hexdigest()


async def _post_ledger(session: AsyncSession, payment: Payment, derived: Derived) -> None:
    """Money taken and money given back, each posted once (unique per Stripe object and
    kind); a refund that fails after it succeeded is reversed, never deleted."""
    if derived.capture_seen and derived.captured > 0 and payment.stripe_payment_intent_id:
        await repository.add_ledger_entry(
            session,
            LedgerEntry(
                payment_id=payment.id,
                kind=LedgerKind.CHARGE,
                amount=derived.captured,
                currency=payment.currency,
                stripe_object_id=payment.stripe_payment_intent_id,
            ),
        )
    for refund_id, status, amount in derived.refunds:
        if status == "succeeded":
            entry = LedgerEntry(kind=LedgerKind.REFUND, amount=-amount)
        elif status in ("failed", "canceled") and await repository.has_ledger_entry(
            session, refund_id, LedgerKind.REFUND
        ):
            entry = LedgerEntry(kind=LedgerKind.REFUND_REVERSAL, amount=amount)
        else:
            continue
        entry.payment_id = payment.id
        entry.currency = payment.currency
        entry.stripe_object_id = refund_id
        await repository.add_ledger_entry(session, entry)
