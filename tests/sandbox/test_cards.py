"""The test-card table and Luhn check."""

import pytest

from paydesk.sandbox.cards import (
    CARD_BEHAVIOURS,
    TEST_PAYMENT_METHODS,
    Outcome,
    behaviour_for_number,
    luhn_valid,
)
from paydesk.sandbox.errors import CardError


def test_every_listed_card_passes_luhn() -> None:
    assert all(luhn_valid(number) for number in CARD_BEHAVIOURS)
    assert set(TEST_PAYMENT_METHODS.values()) <= set(CARD_BEHAVIOURS)


@pytest.mark.parametrize(
    ("number", "outcome"),
    [
        ("4242424242424242", Outcome.SUCCEED),
        ("4242 4242 4242 4242", Outcome.SUCCEED),
        ("4000000000000002", Outcome.DECLINE),
        ("4000002760003184", Outcome.REQUIRE_3DS),
        ("4000000000000259", Outcome.DISPUTE),
        ("4012888888881881", Outcome.SUCCEED),
    ],
)
def test_behaviours(number: str, outcome: Outcome) -> None:
    assert behaviour_for_number(number).outcome is outcome


def test_luhn_failures_are_incorrect_numbers() -> None:
    with pytest.raises(CardError) as raised:
        behaviour_for_number("1234567812345678")
    assert raised.value.code == "incorrect_number"
