"""What each Stripe event type does, in one table. A handler turns the event's object into
facts about one payment; the payment's status is then derived from all of its facts, so a
late, repeated or out-of-order event can never move a payment backwards, and what the new
facts change is applied through the effects table (paydesk/effects.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from paydesk.disputes.service import DisputesWork, record_details
from paydesk.gateway.types import (
    ChargeSnapshot,
    DisputeSnapshot,
    EventSnapshot,
    IntentSnapshot,
    RefundSnapshot,
    intent_id_of,
)
from paydesk.payments.changes import Change, DisputeFundsMoved, PaymentState
from paydesk.payments.facts import facts_of
from paydesk.payments.models import Cause, Payment
from paydesk.payments.repository import PaymentRepository
from paydesk.payments.service import FactRecorder, link_intent, note_decline
from paydesk.payments.state import Clock, Fact
from paydesk.refunds.service import RefundsWork, link_to_stripe


class EventsWork(RefundsWork, DisputesWork, Protocol):
    """What applying an event needs of a unit of work."""


Work = TypeVar("Work", bound=EventsWork)


class PaymentNotFoundYet(Exception):
    """The event names a payment paydesk does not have (yet): retry it later."""


class NotOurs(Exception):
    """The event is about something paydesk did not create: ignore it."""


def observed_at(event: EventSnapshot) -> int:
    """The event's facts were true when Stripe created it, in milliseconds like every
    fact's time but known only to Stripe's whole second (`Clock.STRIPE`)."""
    return event.created * 1000


async def find_payment(payments: PaymentRepository, event: EventSnapshot) -> Payment:
    """The payment the event's object belongs to, by PaymentIntent id, or by the paydesk
    id in the PaymentIntent's metadata when the event overtook our own record of it."""
    obj = event.object
    intent_id = intent_id_of(obj)
    if intent_id is None:
        raise NotOurs(f"{event.type} {obj.id} names no PaymentIntent")
    payment = await payments.get_by_intent(intent_id, for_update=True)
    if payment is not None:
        return payment
    if isinstance(obj, IntentSnapshot):
        if not obj.paydesk_payment_id:
            raise NotOurs(f"PaymentIntent {intent_id} was not created by paydesk")
        payment = await payments.get(obj.paydesk_payment_id, for_update=True)
        if payment is not None:
            link_intent(payment, intent_id)
            return payment
    raise PaymentNotFoundYet(f"no payment for PaymentIntent {intent_id} yet")


def event_facts(event: EventSnapshot) -> list[Fact]:
    """What the event's object states, as of the event (on Stripe's clock)."""
    return facts_of(event.object, observed_at(event), Clock.STRIPE)


def no_more(_event: EventSnapshot, _payment: PaymentState) -> list[Change]:
    return []


def funds_withdrawn(event: EventSnapshot, payment: PaymentState) -> list[Change]:
    assert isinstance(event.object, DisputeSnapshot)
    return [DisputeFundsMoved(payment, event.object, withdrawn=True)]


def funds_reinstated(event: EventSnapshot, payment: PaymentState) -> list[Change]:
    assert isinstance(event.object, DisputeSnapshot)
    return [DisputeFundsMoved(payment, event.object, withdrawn=False)]


@dataclass(frozen=True, slots=True)
class Handler:
    """How an event type is applied: the facts its object states about one payment, and
    what it changes that no fact states (a dispute's funds moving in the balance)."""

    also: Callable[[EventSnapshot, PaymentState], list[Change]] = no_more


stated = Handler()  # the facts say it all
withdrawn, reinstated = Handler(funds_withdrawn), Handler(funds_reinstated)

HANDLERS: dict[str, Handler] = {
    "payment_intent.created": stated,
    "payment_intent.processing": stated,
    "payment_intent.requires_action": stated,
    "payment_intent.succeeded": stated,
    "payment_intent.payment_failed": stated,
    "payment_intent.canceled": stated,
    "payment_intent.amount_capturable_updated": stated,
    "charge.succeeded": stated,
    "charge.failed": stated,
    "charge.captured": stated,
    "charge.refunded": stated,
    "charge.updated": stated,
    "charge.refund.updated": stated,
    "refund.created": stated,
    "refund.updated": stated,
    "refund.failed": stated,
    "charge.dispute.created": stated,
    "charge.dispute.updated": stated,
    "charge.dispute.closed": stated,
    "charge.dispute.funds_withdrawn": withdrawn,
    "charge.dispute.funds_reinstated": reinstated,
}


async def apply_event(
    work: Work, recorder: FactRecorder[Work], event: EventSnapshot, handler: Handler
) -> None:
    """The event's facts recorded on its payment, and all they change written down."""
    payment = await find_payment(work.payments, event)
    obj = event.object
    refunds = obj.refunds if isinstance(obj, ChargeSnapshot) else ()
    for refund in [obj] if isinstance(obj, RefundSnapshot) else refunds:
        await link_to_stripe(work.refunds, refund)
    if isinstance(obj, DisputeSnapshot):
        await record_details(work.disputes, payment.id, obj)
    decline_code = latest_charge = None
    if isinstance(obj, IntentSnapshot):
        decline_code, latest_charge = obj.decline_code, obj.latest_charge
        note_decline(payment, obj)
    await recorder.record(
        work,
        payment,
        event_facts(event),
        cause=Cause.WEBHOOK,
        stripe_event_id=event.id,
        decline_code=decline_code,
        latest_charge=latest_charge,
        also=handler.also(event, PaymentState.of(payment)),
    )
