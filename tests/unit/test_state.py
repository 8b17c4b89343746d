from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from paydesk.orders.models import OrderStatus
from paydesk.payments.models import PaymentStatus
from paydesk.payments.state import (
    CLOCK_SKEW_MS,
    Clock,
    Fact,
    FactKind,
    derive_status,
    order_status_for,
)

AMOUNT, CURRENCY = 2599, "usd"


PI = FactKind.PAYMENT_INTENT


def fact(
    status: str, at: int, *, error: str = "", received: int = 0, clock: Clock = Clock.PAYDESK
) -> Fact:
    return Fact(
        PI,
        "pi_1",
        status,
        at,
        AMOUNT,
        CURRENCY,
        amount_received=received,
        error_code=error,
        clock=clock,
    )


def event(status: str, second: int, *, error: str = "") -> Fact:
    """A fact from a Stripe event created in `second`, stamped as paydesk stamps it."""
    return fact(status, second * 1000, error=error, clock=Clock.STRIPE)


def derive(*facts: Fact) -> PaymentStatus:
    return derive_status(facts, amount=AMOUNT, currency=CURRENCY).status


def test_no_facts_is_pending() -> None:
    assert derive() == PaymentStatus.PENDING


def test_decline_is_failed_and_a_later_success_wins() -> None:
    declined = fact("requires_payment_method", 2000, error="card_declined")
    assert derive(fact("requires_payment_method", 1000), declined) == PaymentStatus.FAILED
    assert derive(declined, fact("succeeded", 3000, received=AMOUNT)) == PaymentStatus.SUCCEEDED


def test_a_stale_failure_never_undoes_success() -> None:
    succeeded = fact("succeeded", 1000, received=AMOUNT)
    assert derive(succeeded, fact("requires_payment_method", 5000, error="card_declined")) == (
        PaymentStatus.SUCCEEDED
    )


def test_authentication_then_failure_follows_time() -> None:
    action = fact("requires_action", 1000)
    failed = fact("requires_payment_method", 2000, error="payment_intent_authentication_failure")
    assert derive(action, failed) == PaymentStatus.FAILED
    assert derive(failed, fact("requires_action", 3000)) == PaymentStatus.REQUIRES_ACTION


# A moment in 2026, in paydesk's milliseconds, and the second Stripe names for it.
NOW = 1_795_000_000_000
SECOND = NOW // 1000


def failure(second: int) -> Fact:
    """The event of a failed 3-D Secure authentication, created in `second`."""
    return event("requires_payment_method", second, error="payment_intent_authentication_failure")


def test_a_3ds_failure_in_the_same_second_as_our_check_fails() -> None:
    for offset in (0, 1, 500, 999):
        checked = fact("requires_action", NOW + offset)
        assert derive(checked, failure(SECOND)) == PaymentStatus.FAILED
        assert derive(failure(SECOND), checked) == PaymentStatus.FAILED


@given(at=st.integers(0, 10**13))
def test_a_failure_event_of_the_second_our_check_was_in_is_never_stale(at: int) -> None:
    assert derive(fact("requires_action", at), failure(at // 1000)) == PaymentStatus.FAILED


def test_two_events_of_the_same_second_follow_the_attempt() -> None:
    action = event("requires_action", SECOND)
    assert derive(action, failure(SECOND)) == PaymentStatus.FAILED
    assert derive(event("processing", SECOND), failure(SECOND)) == PaymentStatus.FAILED
    assert derive(event("requires_confirmation", SECOND), action) == PaymentStatus.REQUIRES_ACTION
    assert derive(event("processing", SECOND), action) == PaymentStatus.PROCESSING


def test_a_later_attempt_clearly_after_a_failure_wins() -> None:
    assert derive(failure(SECOND), event("requires_action", SECOND + 1)) == (
        PaymentStatus.REQUIRES_ACTION
    )
    surely_later = NOW + 999 + CLOCK_SKEW_MS + 1
    assert derive(failure(SECOND), fact("requires_action", surely_later)) == (
        PaymentStatus.REQUIRES_ACTION
    )
    declined = fact("requires_payment_method", NOW, error="card_declined")
    assert derive(declined, fact("requires_action", NOW + 1)) == PaymentStatus.REQUIRES_ACTION
    assert derive(declined, fact("processing", NOW + 1)) == PaymentStatus.PROCESSING


def test_clocks_apart_by_the_allowed_skew() -> None:
    # Stripe's clock behind paydesk's: a failure after our check names an earlier second.
    checked = fact("requires_action", NOW)
    behind = (NOW - CLOCK_SKEW_MS) // 1000
    assert derive(checked, failure(behind)) == PaymentStatus.FAILED
    assert derive(checked, failure(behind - 1)) == PaymentStatus.REQUIRES_ACTION
    # Stripe's clock ahead: an event from before our check names a later second.
    failed = fact("requires_payment_method", NOW, error="payment_intent_authentication_failure")
    ahead = (NOW + CLOCK_SKEW_MS) // 1000
    assert derive(failed, event("requires_action", ahead)) == PaymentStatus.FAILED
    assert derive(failed, event("requires_action", ahead + 1)) == PaymentStatus.REQUIRES_ACTION


def test_requires_capture_then_canceled_or_captured() -> None:
    held = fact("requires_capture", 1000)
    assert derive(held) == PaymentStatus.REQUIRES_CAPTURE
    assert derive(held, fact("canceled", 2000)) == PaymentStatus.CANCELED
    assert derive(fact("succeeded", 2000, received=AMOUNT), held) == PaymentStatus.SUCCEEDED


def test_mismatched_amount_or_currency_never_pays_the_order() -> None:
    wrong_amount = Fact(
        PI, "pi_1", "succeeded", 1000, AMOUNT - 1, CURRENCY, amount_received=AMOUNT - 1
    )
    derived = derive_status([wrong_amount], amount=AMOUNT, currency=CURRENCY)
    assert derived.review_reason is not None
    assert order_status_for(derived) == OrderStatus.PENDING_PAYMENT
    wrong_currency = Fact(PI, "pi_1", "succeeded", 1000, AMOUNT, "eur", amount_received=AMOUNT)
    derived = derive_status([wrong_currency], amount=AMOUNT, currency=CURRENCY)
    assert "currency" in (derived.review_reason or "")
    assert order_status_for(derived) == OrderStatus.PENDING_PAYMENT


def test_order_follows_payment() -> None:
    assert (
        order_status_for(
            derive_status([fact("succeeded", 1, received=AMOUNT)], amount=AMOUNT, currency=CURRENCY)
        )
        == OrderStatus.PAID
    )
    failed = derive_status(
        [fact("requires_payment_method", 1, error="card_declined")],
        amount=AMOUNT,
        currency=CURRENCY,
    )
    assert order_status_for(failed) == OrderStatus.PAYMENT_FAILED


STATUSES = [
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "processing",
    "requires_capture",
    "succeeded",
    "canceled",
]

# When a fact was true, as paydesk stamps it: its own clock to the millisecond, or an
# event's whole second. The range is a few seconds, so that many stamps overlap.
api_times = st.builds(lambda at: (at, Clock.PAYDESK), st.integers(0, 5000))
event_times = st.builds(lambda second: (second * 1000, Clock.STRIPE), st.integers(0, 5))
times = st.one_of(api_times, event_times)


def stamped(time: tuple[int, Clock], **fields: Any) -> Fact:
    at, clock = time
    return Fact(observed_at=at, clock=clock, **fields)


intent_facts = st.builds(
    stamped,
    time=times,
    kind=st.just(PI),
    object_id=st.just("pi_1"),
    status=st.sampled_from(STATUSES),
    amount=st.sampled_from([AMOUNT, AMOUNT + 1]),
    currency=st.sampled_from([CURRENCY, "eur"]),
    amount_received=st.sampled_from([0, AMOUNT]),
    amount_capturable=st.sampled_from([0, AMOUNT]),
    amount_refunded=st.sampled_from([0, 0, 500]),
    error_code=st.sampled_from(["", "card_declined"]),
)
refund_facts = st.builds(
    stamped,
    time=times,
    kind=st.just(FactKind.REFUND),
    object_id=st.sampled_from(["re_1", "re_2"]),
    status=st.sampled_from(["pending", "succeeded", "failed", "canceled"]),
    amount=st.sampled_from([500, AMOUNT]),
    currency=st.just(CURRENCY),
)
dispute_facts = st.builds(
    stamped,
    time=times,
    kind=st.just(FactKind.DISPUTE),
    object_id=st.just("dp_1"),
    status=st.sampled_from(["needs_response", "under_review", "won", "lost", "warning_closed"]),
    amount=st.just(AMOUNT),
    currency=st.just(CURRENCY),
)
facts_strategy = st.one_of(intent_facts, intent_facts, refund_facts, dispute_facts)


@given(
    facts=st.lists(facts_strategy, min_size=0, max_size=8),
    data=st.data(),
)
def test_any_order_and_any_repetition_give_the_same_status(
    facts: list[Fact], data: st.DataObject
) -> None:
    expected = derive_status(facts, amount=AMOUNT, currency=CURRENCY)
    repeated = facts + data.draw(st.lists(st.sampled_from(facts), max_size=8)) if facts else []
    shuffled = data.draw(st.permutations(repeated))
    assert derive_status(shuffled, amount=AMOUNT, currency=CURRENCY) == expected


def test_succeeded_is_final_whatever_comes_after() -> None:
    paid = [fact("succeeded", 1, received=AMOUNT), event("succeeded", 0)]
    for succeeded, status, error, later in itertools.product(
        paid, STATUSES, ["", "card_declined"], [99, 1000, 1999]
    ):
        for after in (fact(status, later, error=error), event(status, later // 1000, error=error)):
            assert derive(succeeded, after) == PaymentStatus.SUCCEEDED


def refund(refund_id: str, status: str, amount: int, at: int = 50) -> Fact:
    return Fact(FactKind.REFUND, refund_id, status, at, amount, CURRENCY)


def dispute(status: str, at: int = 60) -> Fact:
    return Fact(FactKind.DISPUTE, "dp_1", status, at, AMOUNT, CURRENCY)


def test_refunds_partial_full_and_failed() -> None:
    paid = fact("succeeded", 10, received=AMOUNT)
    assert derive(paid, refund("re_1", "pending", 500)) == PaymentStatus.SUCCEEDED
    assert derive(paid, refund("re_1", "succeeded", 500)) == PaymentStatus.PARTIALLY_REFUNDED
    both = [refund("re_1", "succeeded", 500), refund("re_2", "succeeded", AMOUNT - 500)]
    assert derive(paid, *both) == PaymentStatus.REFUNDED
    failed_later = refund("re_1", "failed", 500, at=90)
    assert derive(paid, refund("re_1", "succeeded", 500), failed_later) == PaymentStatus.SUCCEEDED
    assert derive(
        paid, refund("re_1", "pending", 500, at=99), refund("re_1", "succeeded", 500)
    ) == (PaymentStatus.PARTIALLY_REFUNDED)


def test_a_refund_before_the_success_it_follows() -> None:
    derived = derive_status([refund("re_1", "succeeded", AMOUNT)], amount=AMOUNT, currency=CURRENCY)
    assert (derived.status, derived.capture_seen) == (PaymentStatus.REFUNDED, False)
    late_success = fact("succeeded", 5, received=AMOUNT)
    assert derive(refund("re_1", "succeeded", AMOUNT), late_success) == PaymentStatus.REFUNDED


def test_the_charges_own_refunded_amount_counts() -> None:
    charge = Fact(PI, "pi_1", "succeeded", 10, AMOUNT, CURRENCY, AMOUNT, 0, AMOUNT)
    assert derive(charge) == PaymentStatus.REFUNDED


def test_disputes_open_won_and_lost() -> None:
    paid = fact("succeeded", 10, received=AMOUNT)
    assert derive(paid, dispute("needs_response")) == PaymentStatus.DISPUTED
    assert derive(paid, dispute("needs_response"), dispute("won", at=70)) == PaymentStatus.SUCCEEDED
    assert derive(paid, dispute("won", at=5), dispute("under_review", at=99)) == (
        PaymentStatus.SUCCEEDED
    )
    assert derive(paid, dispute("lost", at=70)) == PaymentStatus.DISPUTED
    partially = [paid, refund("re_1", "succeeded", 500), dispute("won", at=70)]
    assert derive(*partially) == PaymentStatus.PARTIALLY_REFUNDED


def test_a_refund_that_failed_counts_for_nothing_whatever_the_charge_said() -> None:
    charge = Fact(PI, "pi_1", "succeeded", 10, AMOUNT, CURRENCY, AMOUNT, 0, 500)
    failed = refund("re_1", "failed", 500, at=90)
    assert derive(charge) == PaymentStatus.PARTIALLY_REFUNDED
    assert derive(charge, refund("re_1", "succeeded", 500), failed) == PaymentStatus.SUCCEEDED


# A SEPA debit: confirmed by paydesk (processing), told by payment_intent.processing and
# charge.pending, then settled days later by the PaymentIntent's event and its charge's.
DEBIT_PROCESSING = [
    fact("processing", 1_000),
    event("processing", 1),
    event("processing", 2),  # charge.pending, a second later
]
DEBIT_SETTLED = {
    PaymentStatus.SUCCEEDED: [
        event("succeeded", 259_200),
        fact("succeeded", 259_200_500, received=AMOUNT),  # verify, or the reconciler
    ],
    PaymentStatus.FAILED: [
        event("requires_payment_method", 259_200, error="generic_could_not_process"),
        event("requires_payment_method", 259_201, error="generic_could_not_process"),
    ],
}


@given(outcome=st.sampled_from(sorted(DEBIT_SETTLED)), data=st.data())
def test_a_debit_settles_whatever_the_order_and_repetition_of_its_news(
    outcome: PaymentStatus, data: st.DataObject
) -> None:
    told = data.draw(st.lists(st.sampled_from(DEBIT_PROCESSING), min_size=0, max_size=4))
    settled = data.draw(st.lists(st.sampled_from(DEBIT_SETTLED[outcome]), min_size=1, max_size=4))
    assert derive(*data.draw(st.permutations(told + settled))) == outcome
    if told:
        assert derive(*data.draw(st.permutations(told))) == PaymentStatus.PROCESSING
