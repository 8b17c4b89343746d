"""Early fraud warnings: a card issuer reporting a succeeded charge as fraud, before any
dispute (`radar.early_fraud_warning`, `GET /v1/radar/early_fraud_warnings`).

The test card 4000000000005423 gets one as soon as its charge has succeeded and been
captured; `POST /_sandbox/charges/{id}/early_fraud_warning` raises one on any captured
charge. A warning is `actionable` while its charge is neither disputed nor fully refunded;
when that changes, `radar.early_fraud_warning.updated` tells of it.
"""

from paydesk.sandbox import objects
from paydesk.sandbox.errors import InvalidRequestError, ResourceMissingError, StripeObject
from paydesk.sandbox.events import EventLog, RequestContext
from paydesk.sandbox.forms import Params
from paydesk.sandbox.ids import new_id
from paydesk.sandbox.listing import LIST_PARAMS, paginate
from paydesk.sandbox.params import optional_str, reject_unknown
from paydesk.sandbox.store import SandboxStore

FRAUD_TYPES = (
    "card_never_received",
    "fraudulent_card_application",
    "made_with_counterfeit_card",
    "made_with_lost_card",
    "made_with_stolen_card",
    "misc",
    "unauthorized_use_of_card",
)
# What the sandbox's issuer reports when not told (Stripe's test card does not say).
DEFAULT_FRAUD_TYPE = "made_with_stolen_card"
LIST_WARNING_PARAMS = LIST_PARAMS | {"charge", "payment_intent", "created"}
CONTROL_KEYS = frozenset({"fraud_type"})


def early_fraud_warning(
    efw_id: str, *, charge: StripeObject, fraud_type: str, actionable: bool
) -> StripeObject:
    return {
        "actionable": actionable,
        "charge": charge["id"],
        "created": objects.now(),
        "fraud_type": fraud_type,
        "id": efw_id,
        "livemode": False,
        "object": "radar.early_fraud_warning",
        "payment_intent": charge["payment_intent"],
    }


def is_actionable(charge: StripeObject) -> bool:
    """Stripe's rule: not disputed, and not refunded in full."""
    return not charge["disputed"] and charge["amount_refunded"] < charge["amount"]


class EarlyFraudWarnings:
    def __init__(self, store: SandboxStore, events: EventLog) -> None:
        self._store = store
        self._events = events

    # -- raising -------------------------------------------------------------------------

    def raise_for(
        self, charge: StripeObject, fraud_type: str, context: RequestContext | None
    ) -> StripeObject:
        warning = early_fraud_warning(
            new_id("issfr"),
            charge=charge,
            fraud_type=fraud_type,
            actionable=is_actionable(charge),
        )
        self._store.early_fraud_warnings.add(warning)
        self._events.record("radar.early_fraud_warning.created", warning, context)
        return warning

    def raise_on_demand(self, ch_id: str, body: StripeObject) -> StripeObject:
        """`POST /_sandbox/charges/{id}/early_fraud_warning` `{"fraud_type": ...}`."""
        unknown = sorted(set(body) - CONTROL_KEYS)
        if unknown:
            raise InvalidRequestError(
                f"Received unknown parameter: {unknown[0]}",
                code="parameter_unknown",
                param=unknown[0],
            )
        charge = self._store.charges.get(ch_id)
        if charge is None:
            raise ResourceMissingError("charge", ch_id)
        if charge["status"] != "succeeded" or not charge["captured"]:
            raise InvalidRequestError(
                f"Charge {ch_id} has not taken any money, so there is nothing to report as fraud.",
                param="charge",
            )
        if self.for_charge(ch_id) is not None:
            raise InvalidRequestError(
                f"Charge {ch_id} already has an early fraud warning.", param="charge"
            )
        fraud_type = body.get("fraud_type", DEFAULT_FRAUD_TYPE)
        if fraud_type not in FRAUD_TYPES:
            raise InvalidRequestError(
                f"Invalid fraud_type: must be one of {', '.join(FRAUD_TYPES[:-1])}, or "
                f"{FRAUD_TYPES[-1]}",
                param="fraud_type",
            )
        return self.raise_for(charge, fraud_type, None)

    # -- keeping up with the charge ------------------------------------------------------

    def reassess(self, charge: StripeObject, context: RequestContext | None) -> None:
        """After a refund, a failed refund or a dispute: whether the warning is still
        actionable, with `radar.early_fraud_warning.updated` when that changed."""
        warning = self.for_charge(charge["id"])
        if warning is None:
            return
        actionable = is_actionable(charge)
        if warning["actionable"] == actionable:
            return
        warning["actionable"] = actionable
        self._events.record(
            "radar.early_fraud_warning.updated",
            warning,
            context,
            {"actionable": not actionable},
        )

    def for_charge(self, ch_id: str) -> StripeObject | None:
        for warning in self._store.early_fraud_warnings.newest_first():
            if warning["charge"] == ch_id:
                return warning
        return None

    # -- the API -------------------------------------------------------------------------

    def retrieve(self, efw_id: str) -> StripeObject:
        warning = self._store.early_fraud_warnings.get(efw_id)
        if warning is None:
            raise ResourceMissingError("early_fraud_warning", efw_id)
        return warning

    def list(self, params: Params) -> StripeObject:
        reject_unknown(params, LIST_WARNING_PARAMS)
        charge = optional_str(params, "charge")
        payment_intent = optional_str(params, "payment_intent")

        def matches(warning: StripeObject) -> bool:
            return (charge is None or warning["charge"] == charge) and (
                payment_intent is None or warning["payment_intent"] == payment_intent
            )

        return paginate(
            self._store.early_fraud_warnings,
            params,
            "/v1/radar/early_fraud_warnings",
            "radar.early_fraud_warning",
            matches,
        )
