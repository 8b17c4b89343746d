"""The sandbox's fixed exchange rates, and turning an amount in one currency into another.

Stripe converts a charge in a currency other than the account's into its settlement
currency at the day's rate and records that rate as the balance transaction's
`exchange_rate`: the amount in the charge's currency, in major units, times the rate is the
amount in the settlement currency. The sandbox has no market: every currency it takes
(currencies.SUPPORTED) has one fixed value in US dollars below, close to late-2025 rates
and never updated, so that tests can compute the same numbers. Amounts are rounded to the
nearest minor unit of the target currency, halves away from zero.
"""

from decimal import ROUND_HALF_UP, Context, Decimal

from paydesk.sandbox.currencies import exponent

# US dollars for one major unit of each currency.
USD_VALUE: dict[str, Decimal] = {
    currency: Decimal(value)
    for currency, value in {
        "usd": "1",
        "aed": "0.2723",
        "ars": "0.00072",
        "aud": "0.65",
        "bgn": "0.55",
        "bhd": "2.6596",
        "bif": "0.00034",
        "brl": "0.18",
        "cad": "0.72",
        "chf": "1.25",
        "clp": "0.00105",
        "cny": "0.14",
        "cop": "0.00025",
        "czk": "0.044",
        "djf": "0.0056",
        "dkk": "0.145",
        "egp": "0.021",
        "eur": "1.08",
        "gbp": "1.27",
        "gnf": "0.000116",
        "hkd": "0.128",
        "huf": "0.0028",
        "idr": "0.000063",
        "ils": "0.27",
        "inr": "0.012",
        "isk": "0.0072",
        "jod": "1.41",
        "jpy": "0.0067",
        "kes": "0.0077",
        "kmf": "0.0022",
        "krw": "0.00072",
        "kwd": "3.25",
        "kzt": "0.002",
        "mad": "0.1",
        "mga": "0.00022",
        "mxn": "0.055",
        "myr": "0.23",
        "ngn": "0.00065",
        "nok": "0.095",
        "nzd": "0.59",
        "omr": "2.6",
        "php": "0.017",
        "pkr": "0.0036",
        "pln": "0.25",
        "pyg": "0.000127",
        "ron": "0.22",
        "rub": "0.011",
        "rwf": "0.00069",
        "sar": "0.2667",
        "sek": "0.095",
        "sgd": "0.75",
        "thb": "0.029",
        "tnd": "0.32",
        "try": "0.024",
        "twd": "0.031",
        "uah": "0.024",
        "ugx": "0.00027",
        "vnd": "0.000039",
        "vuv": "0.0083",
        "xaf": "0.00165",
        "xof": "0.00165",
        "xpf": "0.0091",
        "zar": "0.055",
    }.items()
}

# Enough digits for any rate between the table's currencies.
_RATE_CONTEXT = Context(prec=12)


def exchange_rate(source: str, target: str) -> Decimal | None:
    """Units of `target` for one unit of `source` (major units), None for the same currency."""
    if source == target:
        return None
    return _RATE_CONTEXT.divide(USD_VALUE[source], USD_VALUE[target]).normalize()


def round_minor(value: Decimal) -> int:
    """The nearest whole minor unit, halves away from zero."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def in_major_units(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-exponent(currency))


def converted_exactly(amount: int, source: str, target: str) -> Decimal:
    """`amount` minor units of `source` in minor units of `target`, not yet rounded."""
    rate = exchange_rate(source, target)
    if rate is None:
        return Decimal(amount)
    return (in_major_units(amount, source) * rate).scaleb(exponent(target))


def convert(amount: int, source: str, target: str) -> int:
    """`amount` minor units of `source` in minor units of `target`, rounded."""
    return round_minor(converted_exactly(amount, source, target))
