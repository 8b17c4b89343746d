from __future__ import annotations

import pytest

from paydesk.money import MINIMUM_CHARGE, exponent, format_amount


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1999, "usd", "19.99 USD"),
        (5, "eur", "0.05 EUR"),
        (500, "jpy", "500 JPY"),
        (1250, "kwd", "1.250 KWD"),
        (123456789, "usd", "1,234,567.89 USD"),
        (-300, "gbp", "-3.00 GBP"),
    ],
)
def test_format_amount_uses_each_currencys_exponent(amount: int, currency: str, text: str) -> None:
    assert format_amount(amount, currency) == text


def test_exponents() -> None:
    assert (exponent("JPY"), exponent("usd"), exponent("kwd")) == (0, 2, 3)


def test_every_supported_currency_has_a_minimum() -> None:
    assert all(minimum > 0 for minimum in MINIMUM_CHARGE.values())
