"""What each Stripe event type does, in one table. A handler turns the event's object into
facts about one payment; the payment's status is then derived from all of its facts, so a
late, repeated or out-of-order event can never move a payment backwards, and what the new
facts change is applied through the effects table (paydesk/effects.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from paydesk.disputes.service import DisputesWork, record_details
from paydesk.gateway.types import (
    ChargeSnapshot,
    DisputeSnapshot,
    EarlyFraudWarningSnapshot,
    EventSnapshot,
    IntentSnapshot,
    RefundSnapshot,
    intent_id_of,
    transactions_of,
)
from paydesk.payments.changes import Change, DisputeFundsMoved, PaymentState
from paydesk.payments.facts import facts_of
from paydesk.payments.models import Cause, Payment
from paydesk.payments.recording import News
from paydesk.payments.repository import PaymentRepository
from paydesk.payments.service import FactRecorder, link_intent
from paydesk.payments.state import Clock, Fact
from paydesk.refunds.service import RefundsWork, link_to_stripe


class EventsWork(RefundsWork, DisputesWork, Protocol):
    """What applying an event needs of a unit of work."""


Work = TypeVar("Work", bound=EventsWork)


class NotApplied(Exception):
    """Why an event was not applied."""


class PaymentNotFoundYet(NotApplied):
    """The event names a payment paydesk does not have (yet): retry it later."""


class NotOurs(NotApplied):
    """The event is about something paydesk did not create: ignore it."""


class PaymentBusy(NotApplied):
    """Another worker holds the event's payment: leave the event due, for whoever is next."""


def observed_at(event: EventSnapshot) -> int:
    """The event's facts were true when Stripe created it, in milliseconds like every
    fact's time but known only to Stripe's whole second (`Clock.STRIPE`)."""
    return event.created * 1000


async def find_payments(
    payments: PaymentRepository, events: Sequence[EventSnapshot]
) -> tuple[dict[str, Payment], dict[str, NotApplied]]:
    """The payments the events' objects belong to, by PaymentIntent id (or, for an event
    that overtook our own record of its PaymentIntent, by the paydesk id in its metadata),
    each locked for this worker; and why each other event has none."""
    found: dict[str, Payment] = {}
    unapplied: dict[str, NotApplied] = {}
    intent_ids = {event.id: intent_id_of(event.object) for event in events}
    by_intent = await payments.lock_by_intents({i for i in intent_ids.values() if i})
    missing = [event for event in events if intent_ids[event.id] not in by_intent]
    held = await payments.intents_known({intent_ids[e.id] or "" for e in missing} - {""})
    named = {
        e.object.paydesk_payment_id
        for e in missing
        if isinstance(e.object, IntentSnapshot) and e.object.paydesk_payment_id
    }
    by_metadata = await payments.lock(named)
    held_ids = await payments.ids_known(named - by_metadata.keys())
    for event in events:
        obj, intent_id = event.object, intent_ids[event.id]
        if intent_id is None:
            unapplied[event.id] = NotOurs(f"{event.type} {obj.id} names no PaymentIntent")
        elif intent_id in by_intent:
            found[event.id] = by_intent[intent_id]
        elif intent_id in held:
            unapplied[event.id] = PaymentBusy(f"payment of PaymentIntent {intent_id} is busy")
        elif isinstance(obj, IntentSnapshot) and not obj.paydesk_payment_id:
            unapplied[event.id] = NotOurs(f"PaymentIntent {intent_id} was not created by paydesk")
        elif isinstance(obj, IntentSnapshot) and obj.paydesk_payment_id in by_metadata:
            payment = by_metadata[obj.paydesk_payment_id]
            link_intent(payment, intent_id)
            by_intent[intent_id] = found[event.id] = payment
        elif isinstance(obj, IntentSnapshot) and obj.paydesk_payment_id in held_ids:
            unapplied[event.id] = PaymentBusy(f"payment {obj.paydesk_payment_id} is busy")
        else:
            unapplied[event.id] = PaymentNotFoundYet(
                f"no payment for PaymentIntent {intent_id} yet"
            )
    return found, unapplied


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
    "charge.pending": stated,
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
    "radar.early_fraud_warning.created": stated,
    "radar.early_fraud_warning.updated": stated,
}


# Events about the balance's payouts, applied by recording the payout they carry.
PAYOUT_EVENTS = frozenset(
    {
        "payout.created",
        "payout.updated",
        "payout.paid",
        "payout.failed",
        "payout.canceled",
        "payout.reconciliation_completed",
    }
)


async def apply_events(
    work: Work, recorder: FactRecorder[Work], events: Sequence[tuple[EventSnapshot, Handler]]
) -> dict[str, NotApplied]:
    """The events' facts recorded on their payments, in the order given, and all they
    change written down, in `work`; returns why each event left out was not applied."""
    payments, unapplied = await find_payments(work.payments, [event for event, _ in events])
    news = []
    for event, handler in events:
        payment = payments.get(event.id)
        if payment is None:
            continue
        obj = event.object
        refunds = obj.refunds if isinstance(obj, ChargeSnapshot) else ()
        for refund in [obj] if isinstance(obj, RefundSnapshot) else refunds:
            await link_to_stripe(work.refunds, refund)
        if isinstance(obj, DisputeSnapshot):
            await record_details(work.disputes, payment.id, obj)
        news.append(
            News(
                payment,
                event_facts(event),
                Cause.WEBHOOK,
                intent=obj if isinstance(obj, IntentSnapshot) else None,
                stripe_event_id=event.id,
                also=handler.also(event, PaymentState.of(payment)),
                charge=obj if isinstance(obj, ChargeSnapshot) else None,
                transactions=transactions_of(obj),
                fraud_warning=obj if isinstance(obj, EarlyFraudWarningSnapshot) else None,
            )
        )
    await recorder.record_all(work, news)
    return unapplied
