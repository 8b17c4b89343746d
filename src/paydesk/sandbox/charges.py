"""Charges, read-only: each confirmation of a PaymentIntent makes one."""

from paydesk.sandbox.errors import ResourceMissingError, StripeObject
from paydesk.sandbox.forms import Params
from paydesk.sandbox.listing import LIST_PARAMS, paginate
from paydesk.sandbox.params import optional_str, reject_unknown
from paydesk.sandbox.store import SandboxStore


def retrieve_charge(store: SandboxStore, ch_id: str) -> StripeObject:
    charge = store.charges.get(ch_id)
    if charge is None:
        raise ResourceMissingError("charge", ch_id)
    return charge


def list_charges(store: SandboxStore, params: Params) -> StripeObject:
    reject_unknown(params, LIST_PARAMS | {"payment_intent", "created", "customer"})
    payment_intent = optional_str(params, "payment_intent")
    return paginate(
        store.charges,
        params,
        "/v1/charges",
        "charge",
        lambda charge: payment_intent is None or charge["payment_intent"] == payment_intent,
    )
