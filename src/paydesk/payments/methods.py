"""The ways a customer can pay, and which of them can pay an order's currency.

By default paydesk lets Stripe choose (`automatic_payment_methods`): Stripe offers what the
account enables that can pay the currency. `PAYDESK_PAYMENT_METHOD_TYPES` pins a list
instead; either way a method is never offered for a currency it cannot pay. The checkout
page offers, offline, the methods this module knows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Method:
    """A payment method type, as Stripe names it, and what the customer reads."""

    type: str
    label: str
    # The currencies it can pay (lower case); None: every currency Stripe supports.
    currencies: frozenset[str] | None = None
    # Stripe answers `processing`, and the money's fate comes days later.
    delayed: bool = False
    # The customer authorizes at the bank's own page and comes back to a return_url.
    redirect: bool = False


CARD = Method("card", "Card")
SEPA_DEBIT = Method("sepa_debit", "SEPA Direct Debit", frozenset({"eur"}), delayed=True)
IDEAL = Method("ideal", "iDEAL", frozenset({"eur"}), redirect=True)
BANCONTACT = Method("bancontact", "Bancontact", frozenset({"eur"}), redirect=True)

# Every method paydesk knows, in the order the checkout page offers them.
METHODS: dict[str, Method] = {m.type: m for m in (CARD, SEPA_DEBIT, IDEAL, BANCONTACT)}


def can_pay(method: Method, currency: str) -> bool:
    return method.currencies is None or currency.lower() in method.currencies


def offered(currency: str, configured: Sequence[str] | None) -> list[Method]:
    """The methods offered for an order in `currency`: those configured (all paydesk knows,
    when the choice is left to Stripe) that can pay it, in the checkout page's order."""
    chosen = METHODS.values() if configured is None else [METHODS[t] for t in configured]
    return [m for m in sorted(chosen, key=_position) if can_pay(m, currency)]


def label(method_type: str | None) -> str | None:
    """What the customer reads for a method type; Stripe's name for one paydesk does not know."""
    if method_type is None:
        return None
    known = METHODS.get(method_type)
    return known.label if known is not None else method_type.replace("_", " ")


def describe(
    method_type: str | None,
    *,
    brand: str | None = None,
    bank: str | None = None,
    last4: str | None = None,
    country: str | None = None,
) -> str | None:
    """A method's safe details in a few words: "Visa •••• 4242", "SEPA Direct Debit · DE
    •••• 3000", "iDEAL · ING"; None while the method is not known."""
    name = label(method_type)
    if name is None:
        return None
    account = " ".join(p for p in (country, f"•••• {last4}" if last4 else None) if p)
    if method_type == CARD.type:
        shown = BRANDS.get(brand, _words(brand)) if brand else name
        return " ".join(p for p in (shown, account) if p)
    return " · ".join(p for p in (name, _words(bank) if bank else None, account) if p)


class _Paid(Protocol):
    method_type: str | None
    method_brand: str | None
    method_bank: str | None
    method_last4: str | None
    method_country: str | None


def describe_payment_method(payment: _Paid) -> str | None:
    """`describe` for a payment's recorded method (a card's country is not shown)."""
    return describe(
        payment.method_type,
        brand=payment.method_brand,
        bank=payment.method_bank,
        last4=payment.method_last4,
        country=None if payment.method_type == CARD.type else payment.method_country,
    )


# Card brands as Stripe names them, where the code is not already the name in lower case.
BRANDS = {
    "amex": "American Express",
    "diners": "Diners Club",
    "jcb": "JCB",
    "unionpay": "UnionPay",
    "eftpos_au": "eftpos Australia",
}


def _words(code: str) -> str:
    """Stripe's code for a brand or a bank ("abn_amro", "ing"), as words ("ABN Amro",
    "ING"); a name Stripe already spells ("VAN DE PUT & CO") stays as it is."""
    if code != code.lower():
        return code
    return " ".join(w.upper() if len(w) <= 3 else w.title() for w in code.split("_"))


def _position(method: Method) -> int:
    return list(METHODS).index(method.type)
