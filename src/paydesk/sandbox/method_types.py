"""The payment method types a PaymentIntent takes, and which of them it offers.

The sandbox's account enables card, SEPA Direct Debit, iDEAL and Bancontact. With automatic
payment methods (the default since API version 2023-08-16 when `payment_method_types` is not
given) a PaymentIntent offers those that can pay its currency: an EUR one all four, any other
card alone; `allow_redirects=never` leaves out the two that send the customer to their bank,
and manual capture the three that cannot be captured later (Stripe lists "Manual capture
support: No" for each). An explicit `payment_method_types` is refused, as Stripe refuses it,
when it names a type the account has not enabled, one that cannot pay the currency, or one
that cannot be captured manually on a `capture_method=manual` PaymentIntent.
"""

from dataclasses import dataclass
from typing import Any

from paydesk.sandbox.bank_redirects import BANCONTACT_LANGUAGES
from paydesk.sandbox.errors import InvalidRequestError, StripeObject, parameter_missing

ALLOW_REDIRECTS = ("always", "never")


@dataclass(frozen=True, slots=True)
class MethodType:
    name: str
    # The currencies it can pay; None: every currency the sandbox supports.
    currencies: frozenset[str] | None = None
    # The customer authorizes at their bank's page and comes back to the return_url.
    redirect: bool = False
    manual_capture: bool = True

    def pays(self, currency: str) -> bool:
        return self.currencies is None or currency in self.currencies


_EUR = frozenset({"eur"})
CARD = MethodType("card")
SEPA_DEBIT = MethodType("sepa_debit", _EUR, manual_capture=False)
IDEAL = MethodType("ideal", _EUR, redirect=True, manual_capture=False)
BANCONTACT = MethodType("bancontact", _EUR, redirect=True, manual_capture=False)

# What the sandbox's account enables, in the order automatic payment methods list them.
METHOD_TYPES: dict[str, MethodType] = {m.name: m for m in (CARD, SEPA_DEBIT, IDEAL, BANCONTACT)}


def automatic_types(currency: str, *, allow_redirects: str, capture_method: str) -> list[str]:
    """What an automatic-payment-methods PaymentIntent offers."""
    return [
        m.name
        for m in METHOD_TYPES.values()
        if m.pays(currency)
        and not (m.redirect and allow_redirects == "never")
        and (m.manual_capture or capture_method != "manual")
    ]


def checked_types(names: list[str], currency: str, capture_method: str) -> list[str]:
    """An explicit `payment_method_types`, refused as Stripe refuses one it cannot take."""
    for name in names:
        method = METHOD_TYPES.get(name)
        if method is None:
            raise InvalidRequestError(
                f"The payment method type provided: {name} is invalid. Please ensure the "
                "provided type is activated in your dashboard "
                "(https://dashboard.stripe.com/account/payments/settings) and your account is "
                "enabled for any preview features that you are trying to use.",
                param="payment_method_types",
            )
    check_currency(names, currency)
    check_capture_method(names, capture_method)
    return list(dict.fromkeys(names))


def check_currency(names: list[str], currency: str) -> None:
    for name in names:
        method = METHOD_TYPES[name]
        if not method.pays(currency):
            accepted = ", ".join(sorted(method.currencies or ()))
            raise InvalidRequestError(
                f"The currency provided ({currency}) is invalid. Payments with {name} support "
                f"the following currencies: {accepted}.",
                param="payment_method_types",
            )


def check_capture_method(names: list[str], capture_method: str) -> None:
    if capture_method != "manual":
        return
    for name in names:
        if not METHOD_TYPES[name].manual_capture:
            raise InvalidRequestError(
                f"capture_method=manual is not supported by payment method type {name}",
                param="capture_method",
            )


def is_redirect(name: str) -> bool:
    method = METHOD_TYPES.get(name)
    return method is not None and method.redirect


def options_for(names: list[str], given: dict[str, Any] | None) -> StripeObject:
    """`payment_method_options`: an entry for each type, as Stripe's answers have them."""
    given = given or {}
    options: StripeObject = {}
    for name in names:
        if name == CARD.name:
            options[name] = {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        elif name == BANCONTACT.name:
            options[name] = {"preferred_language": _preferred_language(given)}
        else:
            options[name] = {}
    return options


def _preferred_language(given: dict[str, Any]) -> str:
    bancontact = given.get("bancontact")
    language = bancontact.get("preferred_language") if isinstance(bancontact, dict) else None
    if language is None or language == "":
        return "en"
    if language not in BANCONTACT_LANGUAGES:
        raise InvalidRequestError(
            "Invalid payment_method_options[bancontact][preferred_language]: must be one of "
            f"{', '.join(BANCONTACT_LANGUAGES[:-1])}, or {BANCONTACT_LANGUAGES[-1]}",
            param="payment_method_options[bancontact][preferred_language]",
        )
    return str(language)


@dataclass(frozen=True, slots=True)
class Choice:
    """The types a new PaymentIntent takes, and its `automatic_payment_methods`."""

    types: list[str]
    automatic: StripeObject | None
    # Automatic by the API's default (neither parameter given), not asked for.
    implicit: bool = False


def choice_from(params: dict[str, Any], currency: str, capture_method: str) -> Choice:
    """What `automatic_payment_methods` and `payment_method_types` ask for on create."""
    automatic = params.get("automatic_payment_methods") or None
    if automatic is not None and not isinstance(automatic, dict):
        raise InvalidRequestError(
            "Invalid object: automatic_payment_methods", param="automatic_payment_methods"
        )
    given = "payment_method_types" in params
    if automatic is None:
        enabled = not given
    else:
        enabled = _flag(automatic.get("enabled"), "automatic_payment_methods[enabled]")
    if enabled and given:
        raise InvalidRequestError(
            "You may only specify one of these parameters: automatic_payment_methods, "
            "payment_method_types.",
            param="automatic_payment_methods",
        )
    if not enabled:
        return Choice(checked_types(_names(params), currency, capture_method), None)
    allow = (automatic or {}).get("allow_redirects") or "always"
    if allow not in ALLOW_REDIRECTS:
        raise InvalidRequestError(
            "Invalid automatic_payment_methods[allow_redirects]: must be one of always or never",
            param="automatic_payment_methods[allow_redirects]",
        )
    types = automatic_types(currency, allow_redirects=allow, capture_method=capture_method)
    return Choice(types, {"allow_redirects": allow, "enabled": True}, implicit=automatic is None)


def rechosen_types(intent: StripeObject, names: list[str] | None) -> list[str]:
    """The types after an update of the currency, the capture method or the list itself."""
    automatic = intent["automatic_payment_methods"]
    if names is None and automatic is not None:
        return automatic_types(
            intent["currency"],
            allow_redirects=automatic["allow_redirects"],
            capture_method=intent["capture_method"],
        )
    return checked_types(
        names if names is not None else intent["payment_method_types"],
        intent["currency"],
        intent["capture_method"],
    )


def given_names(params: dict[str, Any]) -> list[str] | None:
    """`payment_method_types` when the caller gave it."""
    return _names(params) if "payment_method_types" in params else None


def _names(params: dict[str, Any]) -> list[str]:
    value = params.get("payment_method_types")
    if value is None or value == "":
        return [CARD.name]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value or [CARD.name]
    raise InvalidRequestError("Invalid array: payment_method_types", param="payment_method_types")


def _flag(value: Any, param: str) -> bool:
    if value in ("true", "True", "1", True):
        return True
    if value in ("false", "False", "0", False):
        return False
    if value is None:
        raise parameter_missing(param)
    raise InvalidRequestError(
        f"Invalid boolean: {value}", code="parameter_invalid_boolean", param=param
    )
