"""PaymentMethods: cards, SEPA Direct Debit, iDEAL and Bancontact, from their details or from
Stripe's test tokens (`pm_card_visa`, `pm_success_de`, ...).

What Stripe requires is required here: a card's number and expiry; a SEPA debit's IBAN (a
valid one, see iban.py), the holder's name and e-mail, and for the IBANs of the countries
Stripe names the billing address' country and first line; a Bancontact holder's name. An
iDEAL bank is optional, and one of Stripe's list when given. Neither a card number nor an
IBAN is kept, only what Stripe shows of it.
"""

import hashlib
import hmac
from typing import Any

from paydesk.sandbox import bank_objects, objects, sepa
from paydesk.sandbox.bank_redirects import IDEAL_BANKS
from paydesk.sandbox.cards import TEST_PAYMENT_METHODS, behaviour_for_number, last4_of
from paydesk.sandbox.errors import (
    InvalidRequestError,
    ResourceMissingError,
    StripeObject,
    parameter_missing,
)
from paydesk.sandbox.forms import Params
from paydesk.sandbox.iban import normalized, parse_iban, parts_of
from paydesk.sandbox.ids import new_id
from paydesk.sandbox.params import merge_metadata, optional_dict, optional_int, reject_unknown
from paydesk.sandbox.store import SandboxStore

KINDS = ("card", "sepa_debit", "ideal", "bancontact")
CREATE_PARAMS = frozenset(
    {"type", "billing_details", "metadata", "expand", "allow_redisplay", *KINDS}
)
# IBANs of these countries need the holder's address (docs.stripe.com/payments/sepa-debit/
# accept-a-payment: "addressCountry and addressLine1 must be provided").
ADDRESS_REQUIRED = frozenset(
    {"AD", "PF", "TF", "GI", "GB", "GG", "VA", "IM", "JE", "MC", "NC", "BL", "PM", "SM", "CH", "WF"}
)
# Who Stripe's SEPA test tokens belong to.
_TOKEN_HOLDER = {"name": "Jenny Rosen", "email": "jenny@example.com"}


def create_payment_method(store: SandboxStore, params: Params) -> StripeObject:
    reject_unknown(params, CREATE_PARAMS)
    if params.get("type") is None:
        raise parameter_missing("type")
    return payment_method_from_details(store, params, within=None)


def payment_method_from_details(
    store: SandboxStore, params: Params, *, within: str | None
) -> StripeObject:
    """A PaymentMethod from `type` and its details, as `POST /v1/payment_methods` takes them
    or `payment_method_data` (`within`) holds them."""
    kind = params.get("type", "card")
    if kind == "card":
        return card_from_details(store, params, f"{within}[card]" if within else "card")
    if kind == "sepa_debit":
        return sepa_debit_from_details(store, params, within)
    if kind in ("ideal", "bancontact"):
        return _redirect_method(store, kind, params, within)
    raise InvalidRequestError(
        f"The sandbox supports {', '.join(KINDS)} PaymentMethods, not {kind!r}.",
        code="parameter_invalid_string",
        param=_name(within, "type"),
    )


def card_from_details(store: SandboxStore, params: Params, prefix: str) -> StripeObject:
    """A card PaymentMethod from `card[number]` & co.; the number itself is never kept."""
    card = optional_dict(params, "card")
    if card is None:
        raise parameter_missing(f"{prefix}[number]" if prefix != "card" else "card")
    number = card.get("number")
    if not isinstance(number, str) or not number:
        raise parameter_missing(f"{prefix}[number]" if prefix != "card" else "card[number]")
    behaviour = behaviour_for_number(number)
    exp_month = optional_int(card, "exp_month", param="exp_month")
    exp_year = optional_int(card, "exp_year", param="exp_year")
    if exp_month is None:
        raise parameter_missing("card[exp_month]")
    if exp_year is None:
        raise parameter_missing("card[exp_year]")
    if not 1 <= exp_month <= 12:
        raise InvalidRequestError(
            "Your card's expiration month is invalid.",
            code="invalid_expiry_month",
            param="exp_month",
        )
    if exp_year < 100:
        exp_year += 2000
    billing = optional_dict(params, "billing_details")
    payment_method = objects.card_payment_method(
        new_id("pm"),
        brand=behaviour.brand,
        last4=last4_of(number),
        exp_month=exp_month,
        exp_year=exp_year,
        funding=behaviour.funding,
        fingerprint=_fingerprint(store, number),
        metadata=merge_metadata({}, params),
        billing_details=billing,
    )
    store.card_behaviours[payment_method["id"]] = behaviour
    return store.payment_methods.add(payment_method)


def sepa_debit_from_details(
    store: SandboxStore,
    params: Params,
    within: str | None,
    behaviour: sepa.SepaBehaviour | None = None,
) -> StripeObject:
    """A sepa_debit PaymentMethod from `sepa_debit[iban]` and the holder's details."""
    account = optional_dict(params, "sepa_debit") or {}
    iban = account.get("iban")
    param = _name(within, "sepa_debit[iban]")
    if not isinstance(iban, str) or not iban.strip():
        raise parameter_missing(param)
    number = normalized(iban)
    parts = parts_of(number) if number in sepa.SEPA_BEHAVIOURS else parse_iban(iban, param)
    billing = _required_billing(params, within, ("name", "email"))
    if parts.country in ADDRESS_REQUIRED:
        address = optional_dict(billing, "address") or {}
        for name in ("country", "line1"):
            if not address.get(name):
                raise parameter_missing(_name(within, f"billing_details[address][{name}]"))
    payment_method = objects.payment_method(
        new_id("pm"),
        kind="sepa_debit",
        details=bank_objects.sepa_debit_hash(parts, _fingerprint(store, parts.number)),
        metadata=merge_metadata({}, params),
        billing=billing,
    )
    store.sepa_behaviours[payment_method["id"]] = behaviour or sepa.behaviour_for_iban(number)
    return store.payment_methods.add(payment_method)


def _redirect_method(
    store: SandboxStore, kind: str, params: Params, within: str | None
) -> StripeObject:
    """An ideal PaymentMethod (`ideal[bank]` optional) or a bancontact one (a name needed)."""
    if kind == "bancontact":
        billing = _required_billing(params, within, ("name",))
        details: StripeObject = {}
    else:
        billing = optional_dict(params, "billing_details") or {}
        bank = (optional_dict(params, "ideal") or {}).get("bank") or None
        if bank is not None and bank not in IDEAL_BANKS:
            banks = list(IDEAL_BANKS)
            raise InvalidRequestError(
                f"Invalid ideal[bank]: must be one of {', '.join(banks[:-1])}, or {banks[-1]}",
                param=_name(within, "ideal[bank]"),
            )
        details = bank_objects.ideal_hash(bank)
    payment_method = objects.payment_method(
        new_id("pm"),
        kind=kind,
        details=details,
        metadata=merge_metadata({}, params),
        billing=billing,
    )
    return store.payment_methods.add(payment_method)


def resolve_payment_method(store: SandboxStore, pm_id: str, param: str) -> StripeObject:
    """An existing PaymentMethod, or a fresh one for one of Stripe's test tokens, as Stripe
    does."""
    number = TEST_PAYMENT_METHODS.get(pm_id)
    if number is not None:
        return card_from_details(
            store, {"card": {"number": number, "exp_month": "12", "exp_year": "2034"}}, "card"
        )
    token = sepa.TEST_PAYMENT_METHODS.get(pm_id)
    if token is not None:
        iban, behaviour = token
        return sepa_debit_from_details(store, _token_details(iban), None, behaviour)
    payment_method = store.payment_methods.get(pm_id)
    if payment_method is None:
        raise ResourceMissingError("PaymentMethod", pm_id, param=param)
    return payment_method


def retrieve_payment_method(store: SandboxStore, pm_id: str) -> StripeObject:
    if pm_id in TEST_PAYMENT_METHODS or pm_id in sepa.TEST_PAYMENT_METHODS:
        return resolve_payment_method(store, pm_id, "payment_method")
    payment_method = store.payment_methods.get(pm_id)
    if payment_method is None:
        raise ResourceMissingError("payment_method", pm_id)
    return payment_method


def _token_details(iban: str) -> Params:
    billing: dict[str, Any] = dict(_TOKEN_HOLDER)
    if iban[:2] in ADDRESS_REQUIRED:
        billing["address"] = {"country": iban[:2], "line1": "1 Test Street"}
    return {"type": "sepa_debit", "sepa_debit": {"iban": iban}, "billing_details": billing}


def _required_billing(params: Params, within: str | None, names: tuple[str, ...]) -> dict[str, Any]:
    billing = optional_dict(params, "billing_details") or {}
    for name in names:
        value = billing.get(name)
        if not isinstance(value, str) or not value.strip():
            raise parameter_missing(_name(within, f"billing_details[{name}]"))
    return billing


def _fingerprint(store: SandboxStore, number: str) -> str:
    return hmac.new(store.fingerprint_salt, number.encode(), hashlib.sha256).hexdigest()[:16]


def _name(within: str | None, param: str) -> str:
    """`param` as Stripe names it inside `within` (`payment_method_data[sepa_debit][iban]`)."""
    if within is None:
        return param
    head, _, rest = param.partition("[")
    return f"{within}[{head}]" + (f"[{rest}" if rest else "")
