"""What each Stripe event type does, in one table. A handler turns the event's object into
facts about one payment; the payment's status is then derived from all of its facts, so a
late, repeated or out-of-order event can never move a payment backwards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.disputes import repository as disputes_repository
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
from paydesk.payments.state import Clock, Fact
from paydesk.refunds import repository as refunds_repository


@dataclass(frozen=True, slots=True)
class StripeEvent:
    id: str
    type: str
    created: int
    object: dict[str, Any]

    @property
    def observed_at(self) -> int:
        """The event's facts were true when Stripe created it, in milliseconds like every
        fact's time but known only to Stripe's whole second (`Clock.STRIPE`)."""
        return self.created * 1000


class PaymentNotFoundYet(Exception):
    """The event names a payment paydesk does not have (yet): retry it later."""


class NotOurs(Exception):
    """The event is about something paydesk did not create: ignore it."""


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


def intent_facts(event: StripeEvent) -> list[Fact]:
    return [IntentSnapshot.from_stripe(event.object).fact(event.observed_at, Clock.STRIPE)]


def charge_facts(event: StripeEvent) -> list[Fact]:
    """A charge says whether its PaymentIntent's money was taken or held, and carries its
    refunds when Stripe includes them."""
    facts = [refund_fact(r, event.observed_at, Clock.STRIPE) for r in _refunds(event.object)]
    fact = charge_fact(event.object, event.observed_at, Clock.STRIPE)
    return facts if fact is None else [fact, *facts]


def _refunds(charge: dict[str, Any]) -> list[dict[str, Any]]:
    refunds = charge.get("refunds")
    return list(refunds.get("data") or []) if isinstance(refunds, dict) else []


def refund_facts(event: StripeEvent) -> list[Fact]:
    return [refund_fact(event.object, event.observed_at, Clock.STRIPE)]


def dispute_facts(event: StripeEvent) -> list[Fact]:
    return [dispute_fact(event.object, event.observed_at, Clock.STRIPE)]


async def dispute_funds_withdrawn(
    session: AsyncSession, payment: Payment, dispute: dict[str, Any]
) -> None:
    await _post(session, payment, dispute, LedgerKind.DISPUTE_WITHDRAWAL, -int(dispute["amount"]))
    fee = sum(int(t.get("fee") or 0) for t in _balance_transactions(dispute) if t["amount"] < 0)
    if fee:
        await _post(session, payment, dispute, LedgerKind.DISPUTE_FEE, -fee)


async def dispute_funds_reinstated(
    session: AsyncSession, payment: Payment, dispute: dict[str, Any]
) -> None:
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


@dataclass(frozen=True, slots=True)
class Handler:
    """How an event type becomes facts about one payment, and which money it moves beyond
    what its facts imply (a dispute's withdrawal and reinstatement)."""

    facts: Callable[[StripeEvent], list[Fact]]
    ledger: Callable[[AsyncSession, Payment, dict[str, Any]], Awaitable[None]] | None = None


intent, charge, refund, dispute = (
    Handler(intent_facts),
    Handler(charge_facts),
    Handler(refund_facts),
    Handler(dispute_facts),
)

HANDLERS: dict[str, Handler] = {
    "payment_intent.created": intent,
    "payment_intent.processing": intent,
    "payment_intent.requires_action": intent,
    "payment_intent.succeeded": intent,
    "payment_intent.payment_failed": intent,
    "payment_intent.canceled": intent,
    "payment_intent.amount_capturable_updated": intent,
    "charge.succeeded": charge,
    "charge.failed": charge,
    "charge.captured": charge,
    "charge.refunded": charge,
    "charge.updated": charge,
    "charge.refund.updated": refund,
    "refund.created": refund,
    "refund.updated": refund,
    "refund.failed": refund,
    "charge.dispute.created": dispute,
    "charge.dispute.updated": dispute,
    "charge.dispute.closed": dispute,
    "charge.dispute.funds_withdrawn": Handler(dispute_facts, dispute_funds_withdrawn),
    "charge.dispute.funds_reinstated": Handler(dispute_facts, dispute_funds_reinstated),
}


async def apply_event(session: AsyncSession, event: StripeEvent, handler: Handler) -> None:
    """The event's facts recorded on its payment, and their consequences written down."""
    payment = await find_payment(session, event)
    obj = event.object
    for refund in [obj] if obj.get("object") == "refund" else _refunds(obj):
        await refunds_repository.link(session, refund)
    if obj.get("object") == "dispute":
        await disputes_repository.record(session, payment.id, obj)
    decline_code = latest_charge = None
    if obj.get("object") == "payment_intent":
        intent = IntentSnapshot.from_stripe(obj)
        decline_code, latest_charge = intent.decline_code, intent.latest_charge
        if intent.status == "requires_payment_method" and intent.error_code:
            payment.last_error_code = intent.decline_code or intent.error_code
            payment.last_error_message = intent.error_message
    await record_facts(
        session,
        payment,
        handler.facts(event),
        cause=Cause.WEBHOOK,
        stripe_event_id=event.id,
        decline_code=decline_code,
        latest_charge=latest_charge,
    )
    if handler.ledger is not None:
        await handler.ledger(session, payment, obj)
