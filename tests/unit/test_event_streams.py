"""Any permutation, with repetitions, of a payment's event stream gives the final state of
the stream delivered in order: the handlers' facts and the state derivation together."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from paydesk.gateway.types import EventSnapshot
from paydesk.payments.models import PaymentStatus
from paydesk.payments.state import Derived, derive_status
from paydesk.webhooks.handlers import event_facts
from tests import stripe_events as se

PI, AMOUNT = "pi_stream", 5000
T = 1_800_000_000


def declined() -> dict[str, Any]:
    return se.payment_intent(
        PI,
        "requires_payment_method",
        AMOUNT,
        last_payment_error={"code": "payment_intent_authentication_failure", "message": "no"},
    )


def stream(ending: str) -> list[dict[str, Any]]:
    """What Stripe sends, in order, for a payment that fails 3-D Secure once, succeeds,
    is partly refunded, then disputed; the dispute ends as `ending` says."""
    refund_pending = se.refund(PI, "re_1", 1500, status="pending")
    refund_done = se.refund(PI, "re_1", 1500)
    refunded_charge = se.charge(PI, AMOUNT, amount_refunded=1500, refunds={"data": [refund_done]})

    def intent(status: str) -> dict[str, Any]:
        return se.payment_intent(PI, status, AMOUNT)

    events = [
        se.event("payment_intent.created", intent("requires_payment_method"), created=T),
        se.event("payment_intent.requires_action", intent("requires_action"), created=T + 1),
        se.event("payment_intent.payment_failed", declined(), created=T + 2),
        se.event("payment_intent.requires_action", intent("requires_action"), created=T + 3),
        se.event("payment_intent.succeeded", intent("succeeded"), created=T + 4),
        se.event("charge.succeeded", se.charge(PI, AMOUNT), created=T + 4),
        se.event("refund.created", refund_pending, created=T + 5),
        se.event("refund.updated", refund_done, created=T + 6),
        se.event("charge.refunded", refunded_charge, created=T + 6),
        se.event("charge.dispute.created", se.dispute(PI, "dp_1", 3500, "needs_response"),
                 created=T + 7),
    ]  # fmt: skip
    if ending != "open":
        events.append(
            se.event("charge.dispute.closed", se.dispute(PI, "dp_1", 3500, ending), created=T + 9)
        )
    return events


def final_state(events: list[dict[str, Any]]) -> Derived:
    facts = []
    for event in events:
        facts += event_facts(EventSnapshot.from_stripe(event))
    return derive_status(facts, amount=AMOUNT, currency="usd")


def test_the_in_order_streams_end_where_they_should() -> None:
    assert final_state(stream("won")).status == PaymentStatus.PARTIALLY_REFUNDED
    assert final_state(stream("lost")).status == PaymentStatus.DISPUTED
    assert final_state(stream("open")).status == PaymentStatus.DISPUTED
    assert final_state(stream("won")[:5]).status == PaymentStatus.SUCCEEDED
    assert final_state(stream("won")[:3]).status == PaymentStatus.FAILED
    assert final_state(stream("won")[:2]).status == PaymentStatus.REQUIRES_ACTION


@settings(max_examples=300, deadline=None)
@given(ending=st.sampled_from(["won", "lost", "open"]), data=st.data())
def test_any_permutation_with_repetitions_converges(ending: str, data: st.DataObject) -> None:
    events = stream(ending)
    repeats = data.draw(st.lists(st.sampled_from(events), max_size=len(events)))
    shuffled = data.draw(st.permutations(events + repeats))
    assert final_state(shuffled) == final_state(events)


@given(data=st.data())
def test_any_prefix_delivered_in_any_order_matches_that_prefix(data: st.DataObject) -> None:
    events = stream("won")
    prefix = events[: data.draw(st.integers(1, len(events)))]
    assert final_state(data.draw(st.permutations(prefix))) == final_state(prefix)


def charge_says(**fields: Any) -> PaymentStatus:
    event = se.event("charge.refunded", se.charge(PI, AMOUNT, **fields))
    facts = event_facts(EventSnapshot.from_stripe(event))
    return derive_status(facts, amount=AMOUNT, currency="usd").status


def test_a_released_authorization_is_not_a_refund() -> None:
    released = {"captured": False, "amount_captured": 0, "amount_refunded": AMOUNT}
    assert charge_says(**released) == PaymentStatus.REQUIRES_CAPTURE
    partly_captured = {"amount_captured": 3000, "amount_refunded": AMOUNT - 3000}
    assert charge_says(**partly_captured) == PaymentStatus.SUCCEEDED
    then_refunded = {"amount_captured": 3000, "amount_refunded": AMOUNT - 3000 + 1000}
    assert charge_says(**then_refunded) == PaymentStatus.PARTIALLY_REFUNDED
    assert charge_says(amount_refunded=AMOUNT) == PaymentStatus.REFUNDED
