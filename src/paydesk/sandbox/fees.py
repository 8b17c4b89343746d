"""Stripe's standard pricing, as the sandbox charges it on a payment's balance transaction.

From Stripe's public price lists (stripe.com/pricing, stripe.com/ie/pricing):

| method      | fee                            | priced in |
| ----------- | ------------------------------ | --------- |
| card        | 2.9% + 0.30                    | USD       |
| sepa_debit  | 0.8%, at most 5.00             | EUR       |
| ideal       | 0.29 flat                      | EUR       |
| bancontact  | 1.4% + 0.25                    | EUR       |
| dispute     | 15.00 (disputes.DISPUTE_FEE)   | USD       |

The percentage is of the amount in the settlement currency; fixed parts and caps are
converted from the currency of their price list at the sandbox's fixed rates (exchange.py)
when the account settles in another currency. The fee is rounded once, to the nearest minor
unit, halves away from zero. Stripe's extras for international cards and currency
conversion are not charged.
"""

from dataclasses import dataclass
from decimal import Decimal

from paydesk.sandbox.exchange import converted_exactly, round_minor


@dataclass(frozen=True, slots=True)
class Price:
    percent: Decimal
    fixed: int = 0  # minor units of `currency`
    cap: int | None = None  # minor units of `currency`, for the percentage and fixed part
    currency: str = "usd"


PRICES: dict[str, Price] = {
    "card": Price(Decimal("2.9"), fixed=30, currency="usd"),
    "sepa_debit": Price(Decimal("0.8"), cap=500, currency="eur"),
    "ideal": Price(Decimal(0), fixed=29, currency="eur"),
    "bancontact": Price(Decimal("1.4"), fixed=25, currency="eur"),
}

FEE_DESCRIPTION = "Stripe processing fees"


def processing_fee(method: str, amount: int, settlement_currency: str) -> int:
    """Stripe's fee on a payment of `amount` minor units of the settlement currency."""
    price = PRICES.get(method, PRICES["card"])
    fee = Decimal(amount) * price.percent / 100
    fee += converted_exactly(price.fixed, price.currency, settlement_currency)
    if price.cap is not None:
        fee = min(fee, converted_exactly(price.cap, price.currency, settlement_currency))
    return round_minor(fee)


def fixed_fee(amount: int, currency: str, settlement_currency: str) -> int:
    """A flat fee priced in `currency` (a dispute's), in the settlement currency."""
    return round_minor(converted_exactly(amount, currency, settlement_currency))
