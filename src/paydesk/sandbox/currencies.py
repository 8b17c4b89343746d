"""Currencies the sandbox charges in, with Stripe's rules for an `amount` in each: how many
decimals it has, the smallest and largest charge, and the step it must be a multiple of.

As Stripe documents them at https://docs.stripe.com/currencies.
"""

from paydesk.sandbox.errors import InvalidRequestError

# `amount` counts whole units. UGX is on Stripe's zero-decimal list too, but Stripe takes it
# with two decimals that are always 00 (see AMOUNT_STEPS), so it is not here.
ZERO_DECIMAL = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)

# `amount` counts thousandths.
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

# Amounts Stripe takes only in whole multiples of a step: three-decimal ones must end in 0
# for Stripe's payment partners (5.124 KWD is 5120 or 5130); ISK and UGX no longer have
# fractions but keep two decimals that must be 00 (5 ISK is 500).
AMOUNT_STEPS: dict[str, int] = {
    "bhd": 10,
    "jod": 10,
    "kwd": 10,
    "omr": 10,
    "tnd": 10,
    "isk": 100,
    "ugx": 100,
}

# Stripe's minimum charge in each currency of its minimum charge table, in minor units.
MINIMUM_AMOUNTS: dict[str, int] = {
    "usd": 50,
    "aed": 200,
    "ars": 50,
    "aud": 50,
    "bgn": 100,
    "brl": 50,
    "cad": 50,
    "chf": 50,
    "cop": 50,
    "czk": 1500,
    "dkk": 250,
    "eur": 50,
    "gbp": 30,
    "hkd": 400,
    "huf": 17500,
    "idr": 50,
    "ils": 50,
    "inr": 50,
    "jpy": 50,
    "krw": 50,
    "mxn": 1000,
    "myr": 200,
    "nok": 300,
    "nzd": 50,
    "php": 50,
    "pln": 200,
    "ron": 200,
    "rub": 50,
    "sek": 300,
    "sgd": 50,
    "thb": 1000,
    "zar": 50,
    # Not in Stripe's table, which lists settlement currencies: a charge in these must
    # convert to the settlement minimum, here USD 0.50. These are that or a little more,
    # in whole steps.
    "bhd": 200,
    "jod": 500,
    "kwd": 200,
    "omr": 200,
    "tnd": 2000,
}

# Eight digits, the most Stripe's PaymentIntent API reference allows.
MAXIMUM_AMOUNT = 99_999_999

SUPPORTED = (
    frozenset(MINIMUM_AMOUNTS)
    | ZERO_DECIMAL
    | frozenset(AMOUNT_STEPS)
    | frozenset(
        {
            "cny",
            "kzt",
            "mad",
            "ngn",
            "pkr",
            "sar",
            "try",
            "twd",
            "uah",
            "egp",
            "kes",
        }
    )
)


def exponent(currency: str) -> int:
    """The number of decimals in an `amount` of this currency."""
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def minimum_amount(currency: str) -> int:
    """The smallest charge: from the table above, else 1 in a zero-decimal currency and 50
    in any other (a looser rule than Stripe's conversion to the settlement minimum)."""
    return MINIMUM_AMOUNTS.get(currency, 1 if currency in ZERO_DECIMAL else 50)


def amount_step(currency: str) -> int:
    """The number of minor units every amount in this currency is a multiple of."""
    return AMOUNT_STEPS.get(currency, 1)


def format_amount(amount: int, currency: str) -> str:
    """An amount as Stripe's messages write one: `$0.50 usd`, `0.200 kwd`, `5,000 jpy`."""
    digits = exponent(currency)
    whole, minor = divmod(amount, 10**digits)
    text = f"{whole:,}.{minor:0{digits}d}" if digits else f"{whole:,}"
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency, "")
    return f"{symbol}{text} {currency}"


def check_charge_amount(amount: int, currency: str, param: str) -> None:
    """Refuses, as Stripe does, a charge `amount` this currency cannot take."""
    if amount < minimum_amount(currency):
        raise InvalidRequestError(
            f"Amount must be at least {format_amount(minimum_amount(currency), currency)}",
            code="amount_too_small",
            param=param,
        )
    if amount > MAXIMUM_AMOUNT:
        raise InvalidRequestError(
            f"Amount must be no more than {format_amount(MAXIMUM_AMOUNT, currency)}",
            code="amount_too_large",
            param=param,
        )
    check_step(amount, currency, param)


def check_step(amount: int, currency: str, param: str) -> None:
    """Refuses an amount that is not a whole number of this currency's steps."""
    step = amount_step(currency)
    if amount % step:
        raise InvalidRequestError(
            f"Amounts in {currency} must be a multiple of {step} "
            f"({format_amount(step, currency)}); {amount} is not.",
            code="invalid_charge_amount",
            param=param,
        )
