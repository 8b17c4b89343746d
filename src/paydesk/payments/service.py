"""Starting, confirming and verifying payments; applying what Stripe says to them.

Calls to Stripe happen outside any unit of work, and every call that creates or changes
money carries an idempotency key derived from paydesk's own ids: if Stripe cannot be
reached, nothing is half-written, and the same request later finds the same PaymentIntent
instead of making a second one.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Generic, Protocol, TypeVar

from paydesk.db import Units, new_id, utcnow
from paydesk.errors import Conflict, InvalidRequest, NotFound, PaydeskError
from paydesk.gateway.base import Gateway, IntentDeclined, MandateAcceptance
from paydesk.gateway.types import IntentSnapshot, transactions_of
from paydesk.money import format_amount, step_refusal
from paydesk.orders.models import PAID_ORDER_STATUSES, OrderStatus
from paydesk.orders.repository import OrderRepository
from paydesk.orders.service import expired_refusal, has_expired, visible_order
from paydesk.payments.changes import Change
from paydesk.payments.facts import intent_fact
from paydesk.payments.methods import offered
from paydesk.payments.models import Cause, Payment, PaymentEvent, PaymentStatus
from paydesk.payments.recording import News, Recorded, record_news
from paydesk.payments.repository import PaymentRepository
from paydesk.payments.state import Derived, Fact
from paydesk.principals import Customer, Principal

log = logging.getLogger(__name__)

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

# Payments still waiting for news; the reconciler asks Stripe about them. A processing one
# is a bank debit, whose answer takes days: it is asked about after an age of its own.
WAITING = (PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION)
DEFAULT_PROCESSING_AGE = timedelta(days=1)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class PaymentsWork(Protocol):
    """What the payment service needs of a unit of work."""

    @property
    def payments(self) -> PaymentRepository: ...

    @property
    def orders(self) -> OrderRepository: ...


Work = TypeVar("Work", bound=PaymentsWork)
Work_contra = TypeVar("Work_contra", bound=PaymentsWork, contravariant=True)


class ApplyEffects(Protocol[Work_contra]):
    """The effects table (paydesk/effects.py): what each change causes, in `work`."""

    async def __call__(self, work: Work_contra, changes: Sequence[Change], /) -> None: ...


@dataclass(frozen=True, slots=True)
class PaymentView:
    """A payment and its timeline, as the unit of work that last wrote it left them."""

    payment: Payment
    timeline: list[PaymentEvent]


@dataclass(frozen=True, slots=True)
class _Attempt:
    """What the customer pays with, where the browser comes back to, and their acceptance
    of a debit mandate, if they gave one."""

    payment_method: str | None
    return_url: str | None
    mandate: MandateAcceptance | None

    def digest(self) -> str:
        """The same attempt, sent again, has the same digest (and so the same key). The
        mandate's address and browser are not part of it: a customer retrying from another
        network makes the same attempt."""
        request = f"{self.payment_method}\n{self.return_url or ''}"
        if self.mandate is not None:
            request += "\nmandate accepted"
        return hashlib.sha256(request.encode()).hexdigest()[:16]


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
    off_step = None if amount is None else step_refusal(amount, payment.currency)
    if off_step is not None:
        return InvalidRequest(off_step, code="invalid_charge_amount", param="amount")
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


def link_intent(payment: Payment, intent_id: str) -> None:
    if payment.stripe_payment_intent_id is None:
        payment.stripe_payment_intent_id = intent_id
    elif payment.stripe_payment_intent_id != intent_id:
        raise Conflict(
            f"PaymentIntent {intent_id} does not belong to payment {payment.id}.",
            code="payment_intent_mismatch",
        )


class FactRecorder(Generic[Work]):
    """Records news on payments whose rows the caller has locked, and applies what it
    changes through the effects table, all in the caller's unit of work."""

    def __init__(self, effects: ApplyEffects[Work]) -> None:
        self.effects = effects

    async def record(
        self,
        work: Work,
        payment: Payment,
        facts: list[Fact],
        *,
        cause: Cause,
        intent: IntentSnapshot | None = None,
        operator: str | None = None,
    ) -> Derived:
        """The payment's derived status, once the facts (what `intent` says, when the
        facts are the PaymentIntent's) and their effects are written."""
        news = News(
            payment,
            facts,
            cause,
            intent=intent,
            operator=operator,
            transactions=transactions_of(intent) if intent else (),
        )
        [recorded] = await self.record_all(work, [news])
        return recorded.derived

    async def record_all(self, work: Work, news: Sequence[News]) -> list[Recorded]:
        """Each piece of news recorded in order (several may be about one payment), then
        the effects of everything it changed, in one pass over the effects table."""
        recorded = await record_news(work.payments, news)
        changes = [change for each in recorded for change in each.changes]
        if changes:
            await self.effects(work, changes)
        return recorded


class PaymentService(Generic[Work]):
    def __init__(
        self,
        units: Units[Work],
        gateway: Gateway,
        recorder: FactRecorder[Work],
        *,
        method_types: Sequence[str] | None = None,
        processing_age: timedelta = DEFAULT_PROCESSING_AGE,
    ) -> None:
        self.units = units
        self.gateway = gateway
        self.recorder = recorder
        # The payment method types every PaymentIntent pins; None leaves them to Stripe.
        self.method_types = method_types
        # How long a payment stays processing before the reconciler asks Stripe about it.
        self.processing_age = processing_age
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
        mandate: MandateAcceptance | None = None,
    ) -> PaymentView:
        """The order's payment, started (its PaymentIntent made) if it was not, and confirmed
        with `payment_method` when one is given; `mandate` is the customer's acceptance of
        a debit mandate, which a SEPA Direct Debit needs."""
        payment, capture_method, settled = await self._open_payment(principal, order_id)
        if settled:
            # Paid (or authorized) by this payment already: a retry whose first answer was
            # lost, or a webhook that came first. Nothing is asked of Stripe again.
            return await self.view(payment.id)
        attempt = _Attempt(payment_method, return_url, mandate)
        if payment.stripe_payment_intent_id is None:
            created = await self._create_intent(payment, capture_method, attempt)
            if created is None:  # made meanwhile by another request, which may have paid
                return await self.start(
                    principal,
                    order_id,
                    payment_method=payment_method,
                    return_url=return_url,
                    mandate=mandate,
                )
            return created
        if payment_method is not None:
            return await self._confirm(payment, attempt)
        return await self.view(payment.id)

    async def view(self, payment_id: str) -> PaymentView:
        """The payment and its timeline, read together."""
        async with self.units.reading() as work:
            payment = await work.payments.get(payment_id)
            if payment is None:
                raise NotFound(f"No payment {payment_id!r}.", param="payment_id")
            return PaymentView(payment, await work.payments.timeline([payment.id]))

    async def visible_view(self, principal: Principal, payment_id: str) -> PaymentView:
        """The payment and its timeline, if this caller may see it."""
        async with self.units.reading() as work:
            payment = await _visible(work.payments, principal, payment_id)
            return PaymentView(payment, await work.payments.timeline([payment.id]))

    async def visible(self, principal: Principal, payment_id: str) -> Payment:
        """The payment, if this caller may see it; another order's is not found."""
        async with self.units.reading() as work:
            return await _visible(work.payments, principal, payment_id)

    async def of_order(self, order_id: str, *, intent_id: str | None = None) -> Payment | None:
        """The order's payment with PaymentIntent `intent_id` (when given and the order's),
        else the order's open one, if any."""
        async with self.units.reading() as work:
            if intent_id is not None:
                payment = await work.payments.get_by_intent(intent_id)
                if payment is not None and payment.order_id == order_id:
                    return payment
            return await work.payments.get_open_for_order(order_id)

    async def list_views(
        self, *, status: str | None, order_id: str | None, before_id: str | None, limit: int
    ) -> tuple[list[PaymentView], bool]:
        """A page of payments, newest first, with their timelines, and whether more follow."""
        async with self.units.reading() as work:
            payments = await work.payments.list_payments(
                status=status, order_id=order_id, before_id=before_id, limit=limit + 1
            )
            page = list(payments[:limit])
            timeline = await work.payments.timeline([p.id for p in page])
        views = [PaymentView(p, [e for e in timeline if e.payment_id == p.id]) for p in page]
        return views, len(payments) > limit

    async def verify(self, principal: Principal, payment_id: str) -> PaymentView:
        """Asks Stripe for the PaymentIntent and applies what it says."""
        payment = await self.visible(principal, payment_id)
        if payment.stripe_payment_intent_id is None:
            raise Conflict(
                "This payment has no PaymentIntent yet: start it again with POST /api/payments.",
                code="payment_not_started",
            )
        intent = await self.gateway.retrieve_payment_intent(payment.stripe_payment_intent_id)
        return await self.apply(payment.id, Observation(intent, now_ms(), Cause.API))

    async def capture(
        self,
        payment_id: str,
        *,
        amount: int | None,
        operator: str | None = None,
        cause: Cause | None = None,
    ) -> PaymentView:
        """Takes all of an authorized payment, or `amount` of it; the rest is released.
        `operator` names the dashboard operator who asked, for the timeline."""
        payment = await self._payment(payment_id)
        refusal = capture_refusal(payment, amount)
        if refusal is not None:
            raise refusal
        assert payment.stripe_payment_intent_id is not None
        intent = await self.gateway.capture_payment_intent(
            payment.stripe_payment_intent_id,
            amount=amount,
            idempotency_key=f"paydesk-{payment.id}-capture-{amount or 'all'}",
        )
        observation = Observation(intent, now_ms(), cause or asked_by(operator), operator)
        return await self.apply(payment.id, observation)

    async def cancel(
        self,
        payment_id: str,
        *,
        operator: str | None = None,
        reason: str = "requested_by_customer",
        cause: Cause | None = None,
    ) -> PaymentView:
        """Releases an authorized payment, or abandons one not paid yet; its order is
        canceled with it (an expired one stays expired). `operator` names the dashboard
        operator who asked; `reason` is Stripe's `cancellation_reason`."""
        payment = await self._payment(payment_id)
        refusal = cancel_refusal(payment)
        if refusal is not None:
            raise refusal
        assert payment.stripe_payment_intent_id is not None
        intent = await self.gateway.cancel_payment_intent(
            payment.stripe_payment_intent_id,
            reason=reason,
            idempotency_key=f"paydesk-{payment.id}-cancel"
            + ("" if reason == "requested_by_customer" else f"-{reason}"),
        )
        observation = Observation(intent, now_ms(), cause or asked_by(operator), operator)
        return await self.apply(payment.id, observation)

    async def reconcile(self, *, older_than: timedelta, limit: int = 500) -> int:
        """Asks Stripe about every payment still waiting after `older_than` (processing
        after `processing_age`) and applies what it says; returns how many were checked.
        A payment Stripe cannot answer for is left for the next run."""
        now = utcnow()
        async with self.units.reading() as work:
            waiting = await work.payments.list_waiting(
                WAITING, updated_before=now - older_than, limit=limit
            )
            waiting += await work.payments.list_waiting(
                (PaymentStatus.PROCESSING,),
                updated_before=now - self.processing_age,
                limit=limit - len(waiting),
            )
        checked = 0
        for payment_id, intent_id in waiting:
            try:
                intent = await self.gateway.retrieve_payment_intent(intent_id)
                await self.apply(payment_id, Observation(intent, now_ms(), Cause.RECONCILE))
            except PaydeskError as exc:
                log.warning("reconciling payment %s failed: %s", payment_id, exc.message)
                continue
            checked += 1
        return checked

    async def _payment(self, payment_id: str) -> Payment:
        async with self.units.reading() as work:
            payment = await work.payments.get(payment_id)
        if payment is None:
            raise NotFound(f"No payment {payment_id!r}.", param="payment_id")
        return payment

    async def _open_payment(self, principal: Principal, order_id: str) -> tuple[Payment, str, bool]:
        """The order's one open payment, made now if it has none, how it captures, and
        whether it has paid (or authorized) the order already."""
        async with self.units.writing() as work:
            order = await visible_order(work.orders, principal, order_id, for_update=True)
            if order.status in PAID_ORDER_STATUSES:
                paid = await work.payments.get_open_for_order(order.id)
                if paid is None:
                    raise Conflict(
                        f"Order {order.id} is already paid ({order.status}).",
                        code="order_already_paid",
                    )
                return paid, order.capture_method, True
            if order.status == OrderStatus.CANCELED:
                raise Conflict(f"Order {order.id} is canceled.", code="order_canceled")
            if has_expired(order, utcnow()):
                raise expired_refusal(order)
            payment = await work.payments.get_open_for_order(order.id)
            if payment is None:
                payment = Payment(
                    id=new_id("pay"),
                    order_id=order.id,
                    status=PaymentStatus.PENDING,
                    amount=order.amount,
                    currency=order.currency,
                    confirm_attempts=0,
                )
                work.payments.add(payment)
                await work.payments.add_timeline_entries(
                    [
                        PaymentEvent(
                            payment_id=payment.id,
                            from_status=None,
                            to_status=PaymentStatus.PENDING,
                            cause=Cause.API,
                        )
                    ]
                )
            return payment, order.capture_method, False

    async def _create_intent(
        self, payment: Payment, capture_method: str, attempt: _Attempt
    ) -> PaymentView | None:
        """The payment's PaymentIntent made, and confirmed with `payment_method` when there
        is one, in one call to Stripe, and recorded in one unit of work; None when another
        request in this process made it meanwhile.

        The key is the payment's alone: requests racing to start one payment get one
        PaymentIntent, in this process or another, and one with other parameters than the
        first (another card) is refused by Stripe until the first is recorded, never
        charged beside it. A decline leaves the PaymentIntent recorded, so the next card
        confirms the same one. Should this process end between Stripe's answer and the unit
        of work, the same request again gets that answer replayed, and the PaymentIntent's
        events, whose metadata name the payment, record it too."""
        with self._lock(payment.id) as lock:
            waited = lock.locked()
            async with lock:
                if waited:
                    current = await self._payment(payment.id)
                    if current.stripe_payment_intent_id is not None:
                        return None
                confirming = attempt.payment_method is not None
                try:
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
                        payment_method_types=self._method_types(payment.currency),
                        payment_method=attempt.payment_method,
                        return_url=attempt.return_url,
                        mandate=attempt.mandate,
                    )
                except IntentDeclined as declined:
                    await self._record_decline(payment.id, declined)
                    raise
                observation = Observation(intent, now_ms(), Cause.API)
                return await self.apply(payment.id, observation, confirmed=confirming)

    @contextmanager
    def _lock(self, key: str) -> Iterator[asyncio.Lock]:
        lock = self._creating.setdefault(key, asyncio.Lock())
        try:
            yield lock
        finally:
            if not lock.locked() and self._creating.get(key) is lock:
                del self._creating[key]

    def _method_types(self, currency: str) -> list[str] | None:
        """The types a new PaymentIntent in `currency` takes: those pinned that can pay it
        (refused when none can), or None to leave the choice to Stripe."""
        if self.method_types is None:
            return None
        types = [method.type for method in offered(currency, self.method_types)]
        if not types:
            raise Conflict(
                f"None of the payment methods this shop takes "
                f"({', '.join(self.method_types)}) can pay {currency.upper()}.",
                code="currency_not_payable",
            )
        return types

    async def _confirm(self, payment: Payment, attempt: _Attempt) -> PaymentView:
        reason = _NOT_CONFIRMABLE.get(PaymentStatus(payment.status))
        if reason is not None:
            raise Conflict(f"Payment {payment.id} {reason}.", code="payment_not_confirmable")
        assert payment.stripe_payment_intent_id is not None
        assert attempt.payment_method is not None
        # The same confirmation retried reuses its key, so Stripe replays its first answer;
        # another card, or the next try after a decline, gets a new one.
        key = f"paydesk-{payment.id}-confirm-{payment.confirm_attempts}-{attempt.digest()}"
        try:
            intent = await self.gateway.confirm_payment_intent(
                payment.stripe_payment_intent_id,
                payment_method=attempt.payment_method,
                return_url=attempt.return_url,
                idempotency_key=key,
                mandate=attempt.mandate,
            )
        except IntentDeclined as declined:
            await self._record_decline(payment.id, declined)
            raise
        return await self.apply(
            payment.id, Observation(intent, now_ms(), Cause.API), confirmed=True
        )

    async def _record_decline(self, payment_id: str, declined: IntentDeclined) -> None:
        """A declined confirmation's PaymentIntent, recorded before the decline is raised."""
        async with self.units.writing() as work:
            observation = Observation(declined.intent, now_ms(), Cause.API)
            await self._apply(work, payment_id, observation, confirmed=True)

    async def apply(
        self, payment_id: str, observation: Observation, *, confirmed: bool = False
    ) -> PaymentView:
        """What Stripe said, applied in one unit of work, which also reads the timeline it
        leaves (the caller's answer needs no second read)."""
        async with self.units.writing() as work:
            payment = await self._apply(work, payment_id, observation, confirmed=confirmed)
            return PaymentView(payment, await work.payments.timeline([payment.id]))

    async def _apply(
        self, work: Work, payment_id: str, observation: Observation, *, confirmed: bool = False
    ) -> Payment:
        """`apply` in the caller's unit of work, without the timeline: for a step whose
        answer nobody sees (a decline is raised after it)."""
        payment = await work.payments.get(payment_id, for_update=True)
        if payment is None:
            raise NotFound(f"No payment {payment_id!r}.", param="payment_id")
        if confirmed:
            payment.confirm_attempts += 1
        intent = observation.intent
        link_intent(payment, intent.id)
        if intent.client_secret and payment.client_secret is None:
            payment.client_secret = intent.client_secret
        payment.next_action_url = (
            intent.next_action_url if intent.status == "requires_action" else None
        )
        await self.recorder.record(
            work,
            payment,
            [intent_fact(intent, observation.observed_at)],
            cause=observation.cause,
            intent=intent,
            operator=observation.operator,
        )
        return payment


async def _visible(payments: PaymentRepository, principal: Principal, payment_id: str) -> Payment:
    payment = await payments.get(payment_id)
    if payment is None or (
        isinstance(principal, Customer) and payment.order_id != principal.order_id
    ):
        raise NotFound(f"No payment {payment_id!r}.", param="payment_id")
    return payment
