"""Money is an integer count of a currency's minor units; each currency has its own exponent."""

from __future__ import annotations

# What Stripe documents of each currency (https://docs.stripe.com/currencies). An API
# `amount` counts minor units: whole units in a zero-decimal currency, thousandths in a
# three-decimal one, hundredths in any other. UGX is on Stripe's zero-decimal list yet is
# sent with two decimals that are always 00 (Stripe's special cases), so it is not here.
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf vnd vuv xaf xof xpf".split())
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())

# Stripe's partners take three-decimal amounts only when their last digit is 0: an amount
# in those currencies must be a multiple of 10 minor units (5.124 KWD is charged as 5120 or
# 5130, never 5124). Amounts in every other currency here may end in any digit.
AMOUNT_STEP: dict[str, int] = dict.fromkeys(THREE_DECIMAL, 10)

# Stripe's minimum charge per currency, in minor units, as its minimum charge table lists
# them (BGN's as listed before Bulgaria took up the euro). Stripe lists none for the
# three-decimal currencies, where a charge must convert to at least USD 0.50: theirs are
# that much or a little more, in whole steps of 10.
MINIMUM_CHARGE: dict[str, int] = {
    "usd": 50, "aed": 200, "aud": 50, "bgn": 100, "brl": 50, "cad": 50, "chf": 50,
    "czk": 1500, "dkk": 250, "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50,
    "jpy": 50, "krw": 50, "mxn": 1000, "myr": 200, "nok": 300, "nzd": 50, "pln": 200,
    "ron": 200, "sek": 300, "sgd": 50, "thb": 1000, "bhd": 200, "jod": 500, "kwd": 200,
    "omr": 200, "tnd": 2000,
}  # fmt: skip

# Eight digits of minor units: the most Stripe's PaymentIntent API reference allows, and no
# payment method takes fewer in any currency here.
MAXIMUM_CHARGE = 99_999_999

SUPPORTED_CURRENCIES = frozenset(MINIMUM_CHARGE)


def exponent(currency: str) -> int:
    """How many decimals a Stripe `amount` in `currency` has: 0, 2 or 3."""
    currency = currency.lower()
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def amount_step(currency: str) -> int:
    """The number of minor units every Stripe amount in `currency` is a multiple of."""
    return AMOUNT_STEP.get(currency.lower(), 1)


def step_refusal(amount: int, currency: str) -> str | None:
    """Why Stripe would refuse `amount` of `currency` for not being a whole step (three-
    decimal currencies go by tens of their minor unit); None when it is one."""
    step = amount_step(currency)
    if amount % step == 0:
        return None
    return (
        f"{format_amount(amount, currency)} cannot be charged or refunded: Stripe takes "
        f"{currency.upper()} amounts only in whole steps of {format_amount(step, currency)}."
    )


def format_amount(amount: int, currency: str) -> str:
    """`1999, "usd"` → `"19.99 USD"`; `500, "jpy"` → `"500 JPY"`; `1250, "kwd"` → `"1.250 KWD"`."""
    digits = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, minor = divmod(abs(amount), 10**digits) if digits else (abs(amount), 0)
    text = f"{whole:,}" if not digits else f"{whole:,}.{minor:0{digits}d}"
    return f"{sign}{text} {currency.upper()}"


def _digits(text: str) -> bool:
    """Decimal digits of any script (`int` reads them all); `str.isdigit` would also take
    `²` and other digits that `int` refuses."""
    return text.isdecimal()


def parse_amount(text: str, currency: str) -> int:
    """What a person types, in major units, as minor units: `"12.5", "eur"` → `1250`,
    `"1,000", "jpy"` → `1000`. Raises ValueError, with a message for that person, when the
    text is not an amount of that currency (too many decimals, a sign, letters)."""
    digits = exponent(currency)
    cleaned = text.strip().replace(",", "").replace(" ", "")
    whole, dot, minor = cleaned.partition(".")
    if not _digits(whole) and not (dot and whole == "" and _digits(minor)):
        raise ValueError(f"“{text}” is not an amount.")
    if dot and not _digits(minor):
        raise ValueError(f"“{text}” is not an amount.")
    if len(minor) > digits:
        places = "no decimals" if digits == 0 else f"at most {digits} decimals"
        raise ValueError(f"{currency.upper()} amounts have {places}.")
    scale: int = 10**digits
    return int(whole or "0") * scale + int(minor.ljust(digits, "0") or "0")
