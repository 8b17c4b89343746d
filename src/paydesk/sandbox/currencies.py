"""Currencies the sandbox accepts and Stripe's minimum charge amount in each."""

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
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)

# Smallest amounts Stripe accepts, in the currency's minor unit.
MINIMUM_AMOUNTS: dict[str, int] = {
    "usd": 50,
    "aed": 200,
    "aud": 50,
    "bgn": 100,
    "brl": 50,
    "cad": 50,
    "chf": 50,
    "czk": 1500,
    "dkk": 250,
    "eur": 50,
    "gbp": 30,
    "hkd": 400,
    "huf": 17500,
    "inr": 50,
    "jpy": 50,
    "mxn": 1000,
    "myr": 200,
    "nok": 300,
    "nzd": 50,
    "pln": 200,
    "ron": 200,
    "sek": 300,
    "sgd": 50,
    "thb": 1000,
}

SUPPORTED = (
    frozenset(MINIMUM_AMOUNTS)
    | ZERO_DECIMAL
    | frozenset(
        {
            "ars",
            "cny",
            "cop",
            "idr",
            "ils",
            "isk",
            "kzt",
            "mad",
            "ngn",
            "php",
            "pkr",
            "rub",
            "sar",
            "try",
            "twd",
            "uah",
            "zar",
            "egp",
            "kes",
        }
    )
)


def minimum_amount(currency: str) -> int:
    return MINIMUM_AMOUNTS.get(currency, 1 if currency in ZERO_DECIMAL else 50)


def format_minimum(currency: str) -> str:
    minimum = minimum_amount(currency)
    if currency in ZERO_DECIMAL:
        return f"{minimum} {currency}"
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency, "")
    return f"{symbol}{minimum / 100:.2f} {currency}"
