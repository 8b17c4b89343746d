"""What each Stripe event type does, in one table. A handler turns the event's object into
facts about one payment; the payment's status is then derived from all of its facts, so a
late, repeated or out-of-order event can never move a payment backwards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.gateway.types import (
    IntentSnapshot,
    charge_fact,
    dispute_fact,
    intent_id_of,
    refund_fact,
)
from paydesk.ledger.models import LedgerEntry, LedgerKind
from paydesk.payments import repository
from paydesk.payments.models import Cause, Payment
from paydesk.payments.service import link_intent, record_facts
from paydesk.payments.state import Fact


@dataclass(frozen=True, slots=True)
class StripeEvent:
    id: str
    type: str
    created: int
    object: dict[str, Any]

    @property
    def observed_at(self) -> int:
        """The event's facts were true when Stripe created it (milliseconds, like facts)."""
        return self.created * 1000


class PaymentNotFoundYet(Exception):
    """The event names a payment paydesk does not have (yet): retry it later."""


class NotOurs(Exception):
    """The event is about something paydesk did not create: ignore it."""


Handler = Callable[[AsyncSession, StripeEvent], Awaitable[None]]


async def find_payment(session: AsyncSession, event: StripeEvent) -> Payment:
    """The payment the event's object belongs to, by PaymentIntent id, or by the paydesk
    id in the PaymentIntent's metadata when the event overtook our own record of it."""
    intent_id = intent_id_of(event.object)
    if intent_id is None:
        raise NotOurs(f"{event.type} {event.object.get('id')} names no PaymentIntent")
    payment = await repository.get_payment_by_intent(session, intent_id, for_update=True)
    if payment is not None:
        return payment
    metadata = event.object.get("metadata") or {}
    if event.object.get("object") == "payment_intent":
        payment_id = metadata.get("paydesk_payment_id")
        if not payment_id:
            raise NotOurs(f"PaymentIntent {intent_id} was not created by paydesk")
        payment = await repository.get_payment(session, payment_id, for_update=True)
        if payment is not None:
            link_intent(payment, intent_id)
            return payment
    raise PaymentNotFoundYet(f"no payment for PaymentIntent {intent_id} yet")


async def _apply(session: AsyncSession, event: StripeEvent, facts: list[Fact]) -> Payment:
    payment = await find_payment(session, event)
    await record_facts(session, payment, facts, cause=Cause.WEBHOOK, stripe_event_id=event.id)
    return payment


async def payment_intent_changed(session: AsyncSession, event: StripeEvent) -> None:
    intent = IntentSnapshot.from_stripe(event.object)
    payment = await find_payment(session, event)
    if intent.status == "requires_payment_method" and intent.error_code:
        payment.last_error_code = intent.decline_code or intent.error_code
        payment.last_error_message = intent.error_message
    await record_facts(
        session,
        payment,
        [intent.fact(event.observed_at)],
        cause=Cause.WEBHOOK,
        stripe_event_id=event.id,
        decline_code=intent.decline_code,
        latest_charge=intent.latest_charge,
    )


async def charge_changed(session: AsyncSession, event: StripeEvent) -> None:
    """A charge says whether its PaymentIntent's money was taken or held, and carries its
    refunds when Stripe includes them."""
    facts = []
    fact = charge_fact(event.object, event.observed_at)
    if fact is not None:
        facts.append(fact)
    refunds = (event.object.get("refunds") or {}).get("data") or []
    facts += [refund_fact(refund, event.observed_at) for refund in refunds]
    await _apply(session, event, facts)


async def refund_changed(session: AsyncSession, event: StripeEvent) -> None:
    await _apply(session, event, [refund_fact(event.object, event.observed_at)])


async def dispute_changed(session: AsyncSession, event: StripeEvent) -> None:
    await _apply(session, event, [dispute_fact(event.object, event.observed_at)])


async def dispute_funds_withdrawn(session: AsyncSession, event: StripeEvent) -> None:
    payment = await _apply(session, event, [dispute_fact(event.object, event.observed_at)])
    dispute = event.object
    await _post(session, payment, dispute, LedgerKind.DISPUTE_WITHDRAWAL, -int(dispute["amount"]))
    fee = sum(int(t.get("fee") or 0) for t in _balance_transactions(dispute) if t["amount"] < 0)
    if fee:
        await _post(session, payment, dispute, LedgerKind.DISPUTE_FEE, -fee)


async def dispute_funds_reinstated(session: AsyncSession, event: StripeEvent) -> None:
    payment = await _apply(session, event, [dispute_fact(event.object, event.observed_at)])
    dispute = event.object
    await _post(session, payment, dispute, LedgerKind.DISPUTE_REINSTATEMENT, int(dispute["amount"]))


def _balance_transactions(dispute: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in dispute.get("balance_transactions") or [] if isinstance(t, dict)]


async def _post(
    session: AsyncSession, payment: Payment, dispute: dict[str, Any], kind: LedgerKind, amount: int
) -> None:
    await repository.add_ledger_entry(
        session,
        LedgerEntry(
            payment_id=payment.id,
            kind=kind,
            amount=amount,
            currency=str(dispute["currency"]).lower(),
            stripe_object_id=dispute["id"],
        ),
    )


HANDLERS: dict[str, Handler] = {
    "payment_intent.created": payment_intent_changed,
    "payment_intent.processing": payment_intent_changed,
    "payment_intent.requires_action": payment_intent_changed,
    "payment_intent.succeeded": payment_intent_changed,
    "payment_intent.payment_failed": payment_intent_changed,
    "payment_intent.canceled": payment_intent_changed,
    "payment_intent.amount_capturable_updated": payment_intent_changed,
    "charge.succeeded": charge_changed,
    "charge.failed": charge_changed,
    "charge.captured": charge_changed,
    "charge.refunded": charge_changed,
    "charge.updated": charge_changed,
    "charge.refund.updated": refund_changed,
    "refund.created": refund_changed,
    "refund.updated": refund_changed,
    "refund.failed": refund_changed,
    "charge.dispute.created": dispute_changed,
    "charge.dispute.updated": dispute_changed,
    "charge.dispute.closed": dispute_changed,
    "charge.dispute.funds_withdrawn": dispute_funds_withdrawn,
    "charge.dispute.funds_reinstated": dispute_funds_reinstated,
}
