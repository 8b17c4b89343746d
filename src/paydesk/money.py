"""Money is an integer count of a currency's minor units; each currency has its own exponent."""

from __future__ import annotations

from dataclasses import dataclass

# Stripe's zero- and three-decimal currencies; every other supported currency has two.
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())

# Stripe's minimum charge per currency, in minor units (about USD 0.50 each).
# https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts
MINIMUM_CHARGE: dict[str, int] = {
    "usd": 50, "aed": 200, "aud": 50, "bgn": 100, "brl": 50, "cad": 50, "chf": 50,
    "czk": 1500, "dkk": 250, "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50,
    "jpy": 50, "krw": 700, "mxn": 1000, "myr": 200, "nok": 300, "nzd": 50, "pln": 200,
    "ron": 200, "sek": 300, "sgd": 50, "thb": 1000, "bhd": 200, "jod": 500, "kwd": 200,
    "omr": 200, "tnd": 2000,
}  # fmt: skip

# Stripe accepts at most eight digits of minor units for a charge.
MAXIMUM_CHARGE = 99_999_999

SUPPORTED_CURRENCIES = frozenset(MINIMUM_CHARGE)


def exponent(currency: str) -> int:
    currency = currency.lower()
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __str__(self) -> str:
        return format_amount(self.amount, self.currency)


def format_amount(amount: int, currency: str) -> str:
    """`1999, "usd"` → `"19.99 USD"`; `500, "jpy"` → `"500 JPY"`; `1250, "kwd"` → `"1.250 KWD"`."""
    digits = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, minor = divmod(abs(amount), 10**digits) if digits else (abs(amount), 0)
    text = f"{whole:,}" if not digits else f"{whole:,}.{minor:0{digits}d}"
    return f"{sign}{text} {currency.upper()}"
