"""PaymentMethods: created from card details or Stripe's `pm_card_*` test ids."""

import hashlib
import hmac

from paydesk.sandbox import objects
from paydesk.sandbox.cards import TEST_PAYMENT_METHODS, behaviour_for_number, last4_of
from paydesk.sandbox.errors import (
    InvalidRequestError,
    ResourceMissingError,
    StripeObject,
    parameter_missing,
)
from paydesk.sandbox.forms import Params
from paydesk.sandbox.ids import new_id
from paydesk.sandbox.params import merge_metadata, optional_dict, optional_int, reject_unknown
from paydesk.sandbox.store import SandboxStore

CREATE_PARAMS = frozenset(
    {"type", "card", "billing_details", "metadata", "expand", "allow_redisplay"}
)


def create_payment_method(store: SandboxStore, params: Params) -> StripeObject:
    reject_unknown(params, CREATE_PARAMS)
    kind = params.get("type")
    if kind is None:
        raise parameter_missing("type")
    if kind != "card":
        raise InvalidRequestError(
            f"The sandbox only supports card PaymentMethods, not {kind!r}.",
            code="parameter_invalid_string",
            param="type",
        )
    return card_from_details(store, params, "card")


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
    digest = hmac.new(store.fingerprint_salt, number.encode(), hashlib.sha256).hexdigest()
    billing = optional_dict(params, "billing_details")
    payment_method = objects.card_payment_method(
        new_id("pm"),
        brand=behaviour.brand,
        last4=last4_of(number),
        exp_month=exp_month,
        exp_year=exp_year,
        funding=behaviour.funding,
        fingerprint=digest[:16],
        metadata=merge_metadata({}, params),
        billing_details=billing,
    )
    store.card_behaviours[payment_method["id"]] = behaviour
    return store.payment_methods.add(payment_method)


def resolve_payment_method(store: SandboxStore, pm_id: str, param: str) -> StripeObject:
    """An existing PaymentMethod, or a fresh one for a `pm_card_*` test id, as Stripe does."""
    number = TEST_PAYMENT_METHODS.get(pm_id)
    if number is not None:
        return card_from_details(
            store, {"card": {"number": number, "exp_month": "12", "exp_year": "2034"}}, "card"
        )
    payment_method = store.payment_methods.get(pm_id)
    if payment_method is None:
        raise ResourceMissingError("PaymentMethod", pm_id, param=param)
    return payment_method


def retrieve_payment_method(store: SandboxStore, pm_id: str) -> StripeObject:
    if pm_id in TEST_PAYMENT_METHODS:
        return resolve_payment_method(store, pm_id, "payment_method")
    payment_method = store.payment_methods.get(pm_id)
    if payment_method is None:
        raise ResourceMissingError("payment_method", pm_id)
    return payment_method
