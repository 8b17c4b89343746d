from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from paydesk.orders.models import OrderStatus
from paydesk.payments.models import PaymentStatus
from paydesk.payments.state import Fact, FactKind, derive_status, order_status_for

AMOUNT, CURRENCY = 2599, "usd"


PI = FactKind.PAYMENT_INTENT


def fact(status: str, at: int, *, error: str = "", received: int = 0) -> Fact:
    return Fact(
        PI, "pi_1", status, at, AMOUNT, CURRENCY, amount_received=received, error_code=error
    )


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

intent_facts = st.builds(
    Fact,
    kind=st.just(PI),
    object_id=st.just("pi_1"),
    status=st.sampled_from(STATUSES),
    observed_at=st.integers(0, 20),
    amount=st.sampled_from([AMOUNT, AMOUNT + 1]),
    currency=st.sampled_from([CURRENCY, "eur"]),
    amount_received=st.sampled_from([0, AMOUNT]),
    amount_capturable=st.sampled_from([0, AMOUNT]),
    amount_refunded=st.sampled_from([0, 0, 500]),
    error_code=st.sampled_from(["", "card_declined"]),
)
refund_facts = st.builds(
    Fact,
    kind=st.just(FactKind.REFUND),
    object_id=st.sampled_from(["re_1", "re_2"]),
    status=st.sampled_from(["pending", "succeeded", "failed", "canceled"]),
    observed_at=st.integers(0, 20),
    amount=st.sampled_from([500, AMOUNT]),
    currency=st.just(CURRENCY),
)
dispute_facts = st.builds(
    Fact,
    kind=st.just(FactKind.DISPUTE),
    object_id=st.just("dp_1"),
    status=st.sampled_from(["needs_response", "under_review", "won", "lost", "warning_closed"]),
    observed_at=st.integers(0, 20),
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
    for later in itertools.product(STATUSES, ["", "card_declined"]):
        status, error = later
        assert derive(fact("succeeded", 1, received=AMOUNT), fact(status, 99, error=error)) == (
            PaymentStatus.SUCCEEDED
        )


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
