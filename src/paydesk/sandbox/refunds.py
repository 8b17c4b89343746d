"""Refunds of captured card payments, whole or in part; they succeed at once."""

from paydesk.sandbox import objects
from paydesk.sandbox.errors import InvalidRequestError, ResourceMissingError, StripeObject
from paydesk.sandbox.events import EventLog, RequestContext
from paydesk.sandbox.forms import Params
from paydesk.sandbox.ids import new_id
from paydesk.sandbox.listing import LIST_PARAMS, paginate
from paydesk.sandbox.params import merge_metadata, optional_int, optional_str, reject_unknown
from paydesk.sandbox.store import SandboxStore

CREATE_PARAMS = frozenset(
    {"payment_intent", "charge", "amount", "reason", "metadata", "expand", "instructions_email"}
)
REASONS = ("duplicate", "fraudulent", "requested_by_customer")


class Refunds:
    def __init__(self, store: SandboxStore, events: EventLog) -> None:
        self._store = store
        self._events = events

    def create(self, params: Params, context: RequestContext) -> StripeObject:
        reject_unknown(params, CREATE_PARAMS)
        charge = self._charge_to_refund(params)
        refundable = charge["amount"] - charge["amount_refunded"]
        if charge["refunded"] or refundable <= 0:
            raise InvalidRequestError(
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = optional_int(params, "amount")
        if amount is None:
            amount = refundable
        if amount <= 0:
            raise InvalidRequestError(
                "Refund amount must be positive.", code="parameter_invalid_integer", param="amount"
            )
        if amount > refundable:
            raise InvalidRequestError(
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({refundable})",
                code="amount_too_large",
                param="amount",
            )
        reason = optional_str(params, "reason")
        if reason is not None and reason not in REASONS:
            raise InvalidRequestError(
                f"Invalid reason: must be one of {', '.join(REASONS)}", param="reason"
            )
        refund = objects.refund(
            new_id("re"),
            charge=charge,
            amount=amount,
            reason=reason,
            metadata=merge_metadata({}, params),
            balance_transaction=new_id("txn"),
        )
        self._store.refunds.add(refund)
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        charge["refunds"]["data"].insert(0, refund)
        self._events.record("refund.created", refund, context)
        self._events.record("charge.refunded", charge, context)
        return refund

    def retrieve(self, re_id: str) -> StripeObject:
        refund = self._store.refunds.get(re_id)
        if refund is None:
            raise ResourceMissingError("refund", re_id)
        return refund

    def list(self, params: Params) -> StripeObject:
        reject_unknown(params, LIST_PARAMS | {"payment_intent", "charge", "created"})
        payment_intent = optional_str(params, "payment_intent")
        charge = optional_str(params, "charge")

        def matches(refund: StripeObject) -> bool:
            return (payment_intent is None or refund["payment_intent"] == payment_intent) and (
                charge is None or refund["charge"] == charge
            )

        return paginate(self._store.refunds, params, "/v1/refunds", "refund", matches)

    def _charge_to_refund(self, params: Params) -> StripeObject:
        pi_id = optional_str(params, "payment_intent")
        ch_id = optional_str(params, "charge")
        if pi_id is None and ch_id is None:
            raise InvalidRequestError(
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                code="parameter_missing",
                param="payment_intent",
            )
        if pi_id is not None:
            intent = self._store.payment_intents.get(pi_id)
            if intent is None:
                raise ResourceMissingError("payment_intent", pi_id, param="payment_intent")
            if intent["status"] != "succeeded" or intent["latest_charge"] is None:
                raise InvalidRequestError(
                    f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                    code="charge_not_refundable" if intent["status"] != "succeeded" else None,
                    param="payment_intent",
                )
            ch_id = intent["latest_charge"]
        assert ch_id is not None
        charge = self._store.charges.get(ch_id)
        if charge is None:
            raise ResourceMissingError("charge", ch_id, param="charge")
        if not charge["captured"]:
            raise InvalidRequestError(
                f"Charge {ch_id} has not been captured; cancel its PaymentIntent instead.",
                code="charge_not_refundable",
                param="charge",
            )
        return charge
