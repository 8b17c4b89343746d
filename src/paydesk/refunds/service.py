"""Giving money back: full or partial, several per payment, never more than is refundable.

A refund is reserved in the database, under the payment's row lock, before Stripe is asked:
two refunds racing for the same money are serialized there, and the second sees the first's
amount as taken. Stripe is then called outside the unit of work with an idempotency key
made from the reservation's id, so a retried request refunds once."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Generic, Protocol, TypeVar

from paydesk.db import Units, utcnow
from paydesk.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    PaydeskError,
    PaymentProviderUnavailable,
)
from paydesk.gateway.base import Gateway
from paydesk.gateway.types import RefundSnapshot
from paydesk.money import format_amount, step_refusal
from paydesk.payments.facts import refund_fact
from paydesk.payments.models import Cause, Payment, PaymentStatus
from paydesk.payments.repository import PaymentRepository
from paydesk.payments.service import FactRecorder, PaymentsWork, asked_by, now_ms
from paydesk.payments.state import derive_status
from paydesk.refunds.models import Refund, RefundStatus
from paydesk.refunds.repository import RefundRepository

log = logging.getLogger(__name__)

REASONS = ("duplicate", "fraudulent", "requested_by_customer")

_NOT_REFUNDABLE = {
    PaymentStatus.PENDING: "has not been paid",
    PaymentStatus.REQUIRES_ACTION: "has not been paid",
    PaymentStatus.PROCESSING: "is still being processed",
    PaymentStatus.FAILED: "has not been paid",
    PaymentStatus.REQUIRES_CAPTURE: "is only authorized: capture it, or cancel it to release",
    PaymentStatus.CANCELED: "is canceled",
    PaymentStatus.REFUNDED: "is already fully refunded",
    PaymentStatus.DISPUTED: "is disputed: its money is decided by the dispute",
}


class RefundsWork(PaymentsWork, Protocol):
    """What the refund service needs of a unit of work."""

    @property
    def refunds(self) -> RefundRepository: ...


Work = TypeVar("Work", bound=RefundsWork)


def refund_refusal(payment: Payment) -> Conflict | None:
    """Why no part of the payment can be refunded in its status; None when some may be."""
    why = _NOT_REFUNDABLE.get(PaymentStatus(payment.status))
    if why is None:
        return None
    return Conflict(f"Payment {payment.id} {why}.", code="payment_not_refundable")


async def link_to_stripe(refunds: RefundRepository, refund: RefundSnapshot) -> None:
    """Ties a refund paydesk reserved to Stripe's, by the id paydesk put in its metadata."""
    if refund.paydesk_refund_id:
        await refunds.link(refund.paydesk_refund_id, refund.id)


class RefundService(Generic[Work]):
    def __init__(self, units: Units[Work], gateway: Gateway, recorder: FactRecorder[Work]) -> None:
        self.units = units
        self.gateway = gateway
        self.recorder = recorder

    async def refund(
        self,
        payment_id: str,
        *,
        amount: int | None,
        reason: str | None,
        client_key: str | None = None,
        operator: str | None = None,
    ) -> Refund:
        """Refunds `amount` (None: all that is refundable). The same `client_key` again
        finds the refund it made instead of making another; `operator` names the dashboard
        operator who asked, for the timeline."""
        refund, intent_id = await self._reserve(
            payment_id, amount, reason, client_key, requested_by=operator or "api"
        )
        if refund.stripe_refund_id is not None:
            return refund  # the same request, answered before
        try:
            stripe_refund = await self.gateway.create_refund(
                intent_id,
                amount=refund.amount,
                reason=refund.reason,
                metadata={"paydesk_refund_id": refund.id, "paydesk_payment_id": payment_id},
                idempotency_key=f"paydesk-{refund.id}",
            )
        except PaymentProviderUnavailable:
            raise  # no answer: the refund may exist at Stripe, so the reservation stays
        except PaydeskError as error:
            await self._refused(refund.id, error)
            raise
        async with self.units.writing() as work:
            payment = await work.payments.get(payment_id, for_update=True)
            assert payment is not None
            await link_to_stripe(work.refunds, stripe_refund)
            await self.recorder.record(
                work,
                payment,
                [refund_fact(stripe_refund, now_ms())],
                cause=asked_by(operator),
                operator=operator,
            )
            current = await work.refunds.get(refund.id)
            assert current is not None
            return current

    async def refundable(self, payment_id: str) -> int:
        """How much of the payment can be refunded now; Conflict, saying why, when its
        status allows no refund at all."""
        async with self.units.reading() as work:
            payment = await work.payments.get(payment_id)
            if payment is None:
                raise NotFound(f"No payment {payment_id!r}.", param="payment_id")
            return await _refundable(work.payments, work.refunds, payment)

    async def list_for_payment(self, payment_id: str) -> Sequence[Refund]:
        """The payment's refunds, oldest first."""
        async with self.units.reading() as work:
            if await work.payments.get(payment_id) is None:
                raise NotFound(f"No payment {payment_id!r}.", param="payment_id")
            return await work.refunds.list_for_payment(payment_id)

    async def settle_unanswered(self, *, older_than: timedelta) -> int:
        """Refunds reserved here whose call to Stripe got no answer: linked to the refund
        Stripe made for them (found by the id paydesk put in its metadata), or, when Stripe
        has none after `older_than`, canceled so their amount is refundable again. Returns
        how many were settled."""
        async with self.units.reading() as work:
            waiting = await work.refunds.list_unanswered(before=utcnow() - older_than)
            intents = {r.payment_id: await _intent_of(work.payments, r.payment_id) for r in waiting}
        settled = 0
        for refund in waiting:
            try:
                at_stripe = await self.gateway.list_refunds(intents[refund.payment_id])
            except PaydeskError as error:
                log.warning("refund %s not settled: %s", refund.id, error.message)
                continue
            made = [r for r in at_stripe if r.paydesk_refund_id == refund.id]
            async with self.units.writing() as work:
                payment = await work.payments.get(refund.payment_id, for_update=True)
                current = await work.refunds.get(refund.id)
                assert payment is not None
                assert current is not None
                if current.stripe_refund_id is not None:
                    continue  # its news arrived meanwhile
                if made:
                    await link_to_stripe(work.refunds, made[0])
                    await self.recorder.record(
                        work, payment, [refund_fact(made[0], now_ms())], cause=Cause.RECONCILE
                    )
                else:
                    current.status = RefundStatus.CANCELED
                    current.failure_reason = "the request never reached Stripe"
            settled += 1
        return settled

    async def _reserve(
        self,
        payment_id: str,
        amount: int | None,
        reason: str | None,
        client_key: str | None,
        *,
        requested_by: str,
    ) -> tuple[Refund, str]:
        async with self.units.writing() as work:
            payment = await work.payments.get(payment_id, for_update=True)
            if payment is None:
                raise NotFound(f"No payment {payment_id!r}.", param="payment_id")
            if client_key is not None:
                earlier = await work.refunds.get_by_client_key(payment.id, client_key)
                if earlier is not None:
                    assert payment.stripe_payment_intent_id is not None
                    return earlier, payment.stripe_payment_intent_id
            refundable = await _refundable(work.payments, work.refunds, payment)
            if refundable <= 0:
                raise Conflict(
                    "Nothing of this payment is left to refund: refunds under way hold the rest.",
                    code="payment_not_refundable",
                )
            amount = refundable if amount is None else amount
            off_step = step_refusal(amount, payment.currency)
            if off_step is not None:
                raise InvalidRequest(off_step, code="invalid_charge_amount", param="amount")
            if amount > refundable:
                raise InvalidRequest(
                    f"At most {format_amount(refundable, payment.currency)} of this payment "
                    "can be refunded.",
                    code="amount_too_large",
                    param="amount",
                )
            refund = work.refunds.add(
                payment_id=payment.id,
                amount=amount,
                currency=payment.currency,
                reason=reason,
                status=RefundStatus.PENDING,
                client_key=client_key,
                requested_by=requested_by,
            )
            assert payment.stripe_payment_intent_id is not None
            return refund, payment.stripe_payment_intent_id

    async def _refused(self, refund_id: str, error: PaydeskError) -> None:
        """Stripe said no: the reservation lets go of its money."""
        async with self.units.writing() as work:
            refund = await work.refunds.get(refund_id)
            if refund is not None and refund.stripe_refund_id is None:
                refund.status = RefundStatus.FAILED
                refund.failure_reason = error.message
        log.warning("refund %s refused by Stripe: %s", refund_id, error.code)


async def _refundable(
    payments: PaymentRepository, refunds: RefundRepository, payment: Payment
) -> int:
    """Captured, less what was refunded and what refunds under way already hold."""
    refusal = refund_refusal(payment)
    if refusal is not None:
        raise refusal
    derived = derive_status(
        await payments.facts(payment.id), amount=payment.amount, currency=payment.currency
    )
    held = max(await refunds.held_amount(payment.id), derived.refunded)
    return derived.captured - held


async def _intent_of(payments: PaymentRepository, payment_id: str) -> str:
    payment = await payments.get(payment_id)
    assert payment is not None
    assert payment.stripe_payment_intent_id is not None
    return payment.stripe_payment_intent_id
