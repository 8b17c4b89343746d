"""Mandates: the customer's permission to debit their account, given when a SEPA debit is
confirmed (`mandate_data[customer_acceptance]`), kept and retrievable (`GET /v1/mandates/{id}`).

With a secret key Stripe requires the acceptance for a sepa_debit PaymentMethod, online (the
customer's IP address and user agent) or offline; with a publishable key Stripe.js sends it,
and what it leaves out (`online[infer_from_client]`, or no mandate_data at all) is taken from
the request, as Stripe takes it from the customer's browser.
"""

import secrets
import string
from typing import Any

from paydesk.sandbox import bank_objects, objects
from paydesk.sandbox.errors import (
    InvalidRequestError,
    ResourceMissingError,
    StripeObject,
    parameter_missing,
)
from paydesk.sandbox.events import RequestContext
from paydesk.sandbox.ids import new_id
from paydesk.sandbox.params import optional_bool, optional_dict, optional_int
from paydesk.sandbox.store import SandboxStore

ACCEPTANCE = "mandate_data[customer_acceptance]"
ACCEPTANCE_TYPES = ("online", "offline")
MANDATE_REQUIRED = (
    "This PaymentIntent requires a mandate, but no existing mandate was found. Collect "
    "mandate acceptance from the customer and try again, providing acceptance data in the "
    "mandate_data parameter."
)
_REFERENCE_ALPHABET = string.ascii_uppercase + string.digits


def customer_acceptance(
    mandate_data: dict[str, Any] | None, context: RequestContext, *, publishable: bool
) -> StripeObject | None:
    """The acceptance `mandate_data` records (None when none was given with a secret key),
    refused as Stripe refuses an incomplete one."""
    if mandate_data is None:
        return _from_browser(context) if publishable else None
    acceptance = optional_dict(mandate_data, "customer_acceptance")
    if acceptance is None:
        raise parameter_missing(ACCEPTANCE)
    kind = acceptance.get("type")
    if not kind:
        raise parameter_missing(f"{ACCEPTANCE}[type]")
    if kind not in ACCEPTANCE_TYPES:
        raise InvalidRequestError(
            f"Invalid {ACCEPTANCE}[type]: must be one of online or offline",
            param=f"{ACCEPTANCE}[type]",
        )
    accepted_at = optional_int(acceptance, "accepted_at", param=f"{ACCEPTANCE}[accepted_at]")
    accepted_at = objects.now() if accepted_at is None else accepted_at
    if kind == "offline":
        return {"accepted_at": accepted_at, "offline": {}, "type": "offline"}
    online = optional_dict(acceptance, "online")
    if online is None:
        raise parameter_missing(f"{ACCEPTANCE}[online]")
    if publishable and optional_bool(online, "infer_from_client") is True:
        return _from_browser(context, accepted_at)
    found = {}
    for name in ("ip_address", "user_agent"):
        value = online.get(name)
        if not isinstance(value, str) or not value:
            raise parameter_missing(f"{ACCEPTANCE}[online][{name}]")
        found[name] = value
    return {"accepted_at": accepted_at, "online": found, "type": "online"}


def _from_browser(context: RequestContext, accepted_at: int | None = None) -> StripeObject:
    return {
        "accepted_at": objects.now() if accepted_at is None else accepted_at,
        "online": {"ip_address": context.ip_address, "user_agent": context.user_agent},
        "type": "online",
    }


def create_mandate(
    store: SandboxStore, payment_method: StripeObject, acceptance: StripeObject, base_url: str
) -> StripeObject:
    mandate_id = new_id("mandate")
    reference = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(16))
    mandate = bank_objects.mandate(
        mandate_id,
        payment_method=payment_method["id"],
        customer_acceptance=acceptance,
        reference=reference,
        url=f"{base_url}/_sandbox/mandates/{mandate_id}",
    )
    return store.mandates.add(mandate)


def retrieve_mandate(store: SandboxStore, mandate_id: str) -> StripeObject:
    mandate = store.mandates.get(mandate_id)
    if mandate is None:
        raise ResourceMissingError("mandate", mandate_id)
    return mandate
