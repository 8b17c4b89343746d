"""paydesk's currency table and the sandbox's, kept apart so that the sandbox stays an
independent fake of Stripe, say the same of every currency paydesk supports; and an order
total Stripe would refuse is refused when the order is made."""

from __future__ import annotations

import pytest

from paydesk import money
from paydesk.errors import InvalidRequest
from paydesk.orders.schemas import OrderCreate
from paydesk.orders.service import order_total
from paydesk.sandbox import currencies as sandbox


@pytest.mark.parametrize("currency", sorted(money.SUPPORTED_CURRENCIES))
def test_paydesk_and_the_sandbox_agree_on_each_currency(currency: str) -> None:
    assert currency in sandbox.SUPPORTED
    assert money.exponent(currency) == sandbox.exponent(currency)
    assert money.MINIMUM_CHARGE[currency] == sandbox.minimum_amount(currency)
    assert money.MAXIMUM_CHARGE == sandbox.MAXIMUM_AMOUNT
    assert money.amount_step(currency) == sandbox.amount_step(currency)


@pytest.mark.parametrize(
    ("currency", "exponent", "minimum", "step"),
    [
        ("usd", 2, 50, 1),
        ("gbp", 2, 30, 1),
        ("huf", 2, 17500, 1),
        ("jpy", 0, 50, 1),
        ("krw", 0, 50, 1),
        ("kwd", 3, 200, 10),
        ("bhd", 3, 200, 10),
        ("jod", 3, 500, 10),
        ("omr", 3, 200, 10),
        ("tnd", 3, 2000, 10),
    ],
)
def test_stripes_documented_rules(currency: str, exponent: int, minimum: int, step: int) -> None:
    assert (money.exponent(currency), money.amount_step(currency)) == (exponent, step)
    assert money.MINIMUM_CHARGE[currency] == minimum


def test_every_minimum_is_a_whole_number_of_steps() -> None:
    for currency, minimum in money.MINIMUM_CHARGE.items():
        assert minimum % money.amount_step(currency) == 0, currency


def order(currency: str, unit_amount: int, quantity: int = 1) -> OrderCreate:
    item = {"sku": "S-1", "name": "A thing", "unit_amount": unit_amount, "quantity": quantity}
    return OrderCreate.model_validate(
        {"items": [item], "currency": currency, "customer_email": "ada@example.com"}
    )


def test_a_three_decimal_total_must_end_in_zero() -> None:
    assert order_total(order("kwd", 1255, 2)) == 2510
    with pytest.raises(InvalidRequest) as refused:
        order_total(order("kwd", 1255))
    error = refused.value.to_body()["error"]
    assert (error["code"], error["param"]) == ("invalid_charge_amount", "items")
    assert "1.255 KWD" in error["message"]
    assert order_total(order("jpy", 1255)) == 1255
    assert order_total(order("usd", 1255)) == 1255
