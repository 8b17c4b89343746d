"""Giving money back: full or partial, several per payment, never more than is refundable.

A refund is reserved in the database, under the payment's row lock, before Stripe is asked:
two refunds racing for the same money are serialized there, and the second sees the first's
amount as taken. Stripe is then called outside the transaction with an idempotency key made
from the reservation's id, so a retried request refunds once."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.db import Database, new_id, utcnow
from paydesk.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    PaydeskError,
    PaymentProviderUnavailable,
)
from paydesk.gateway.base import Gateway
from paydesk.gateway.types import refund_fact
from paydesk.money import format_amount
from paydesk.payments import repository as payments_repository
from paydesk.payments.models import Cause, Payment, PaymentStatus
from paydesk.payments.service import asked_by, now_ms, record_facts
from paydesk.payments.state import derive_status
from paydesk.refunds import repository
from paydesk.refunds.models import Refund, RefundStatus

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


class RefundService:
    def __init__(self, db: Database, gateway: Gateway) -> None:
        self.db = db
        self.gateway = gateway

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
        async with self.db.transaction() as session:
            payment = await payments_repository.get_payment(session, payment_id, for_update=True)
            assert payment is not None
            await repository.link(session, stripe_refund)
            await record_facts(
                session,
                payment,
                [refund_fact(stripe_refund, now_ms())],
                cause=asked_by(operator),
                operator=operator,
            )
            current = await session.get(Refund, refund.id)
            assert current is not None
            return current

    async def refundable(self, payment_id: str) -> int:
        """How much of the payment can be refunded now; Conflict, saying why, when its
        status allows no refund at all."""
        async with self.db.sessions() as session:
            payment = await payments_repository.get_payment(session, payment_id)
            if payment is None:
                raise NotFound(f"No payment {payment_id!r}.", param="payment_id")
            return await self._refundable(session, payment)

    async def settle_unanswered(self, *, older_than: timedelta) -> int:
        """Refunds reserved here whose call to Stripe got no answer: linked to the refund
        Stripe made for them (found by the id paydesk put in its metadata), or, when Stripe
        has none after `older_than`, canceled so their amount is refundable again. Returns
        how many were settled."""
        async with self.db.sessions() as session:
            waiting = await repository.unanswered(session, before=utcnow() - older_than)
        settled = 0
        for refund in waiting:
            intent_id = await self._intent_of(refund.payment_id)
            try:
                at_stripe = await self.gateway.list_refunds(intent_id)
            except PaydeskError as error:
                log.warning("refund %s not settled: %s", refund.id, error.message)
                continue
            made = [
                r
                for r in at_stripe
                if (r.get("metadata") or {}).get("paydesk_refund_id") == refund.id
            ]
            async with self.db.transaction() as session:
                payment = await payments_repository.get_payment(
                    session, refund.payment_id, for_update=True
                )
                current = await session.get(Refund, refund.id)
                assert payment is not None
                assert current is not None
                if current.stripe_refund_id is not None:
                    continue  # its news arrived meanwhile
                if made:
                    await repository.link(session, made[0])
                    await record_facts(
                        session, payment, [refund_fact(made[0], now_ms())], cause=Cause.RECONCILE
                    )
                else:
                    current.status = RefundStatus.CANCELED
                    current.failure_reason = "the request never reached Stripe"
            settled += 1
        return settled

    async def _intent_of(self, payment_id: str) -> str:
        async with self.db.sessions() as session:
            payment = await payments_repository.get_payment(session, payment_id)
        assert payment is not None
        assert payment.stripe_payment_intent_id is not None
        return payment.stripe_payment_intent_id

    async def _reserve(
        self,
        payment_id: str,
        amount: int | None,
        reason: str | None,
        client_key: str | None,
        *,
        requested_by: str,
    ) -> tuple[Refund, str]:
        async with self.db.transaction() as session:
            payment = await payments_repository.get_payment(session, payment_id, for_update=True)
            if payment is None:
                raise NotFound(f"No payment {payment_id!r}.", param="payment_id")
            if client_key is not None:
                earlier = await repository.by_client_key(session, payment.id, client_key)
                if earlier is not None:
                    assert payment.stripe_payment_intent_id is not None
                    return earlier, payment.stripe_payment_intent_id
            refundable = await self._refundable(session, payment)
            amount = refundable if amount is None else amount
            if amount > refundable:
                raise InvalidRequest(
                    f"At most {format_amount(refundable, payment.currency)} of this payment "
                    "can be refunded.",
                    code="amount_too_large",
                    param="amount",
                )
            refund = Refund(
                id=new_id("rf"),
                payment_id=payment.id,
                amount=amount,
                currency=payment.currency,
                reason=reason,
                status=RefundStatus.PENDING,
                client_key=client_key,
                requested_by=requested_by,
            )
            session.add(refund)
            await session.flush()
            assert payment.stripe_payment_intent_id is not None
            return refund, payment.stripe_payment_intent_id

    async def _refundable(self, session: AsyncSession, payment: Payment) -> int:
        """Captured, less what was refunded and what refunds under way already hold."""
        why = _NOT_REFUNDABLE.get(PaymentStatus(payment.status))
        if why is not None:
            raise Conflict(f"Payment {payment.id} {why}.", code="payment_not_refundable")
        derived = derive_status(
            await payments_repository.facts(session, payment.id),
            amount=payment.amount,
            currency=payment.currency,
        )
        held = max(await repository.held_amount(session, payment.id), derived.refunded)
        return derived.captured - held

    async def _refused(self, refund_id: str, error: PaydeskError) -> None:
        """Stripe said no: the reservation lets go of its money."""
        async with self.db.transaction() as session:
            refund = await session.get(Refund, refund_id)
            if refund is not None and refund.stripe_refund_id is None:
                refund.status = RefundStatus.FAILED
                refund.failure_reason = error.message
        log.warning("refund %s refused by Stripe: %s", refund_id, error.code)
