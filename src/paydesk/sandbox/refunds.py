"""Refunds of captured payments, whole or in part.

Most succeed at once. Stripe's test cards change that: refunds to 4000000000007726 stay
`pending` and succeed a little later; refunds to 4000000000005126 succeed, then fail. A
refund of a SEPA debit stays `pending` until it settles, after sepa.REFUND_SETTLE_SECONDS of
the sandbox's clock (Stripe takes days), and then succeeds the same way.
"""

from paydesk.sandbox import objects
from paydesk.sandbox.balance import Balance
from paydesk.sandbox.cards import RefundOutcome
from paydesk.sandbox.currencies import check_step
from paydesk.sandbox.disputes import open_chargeback
from paydesk.sandbox.errors import InvalidRequestError, ResourceMissingError, StripeObject
from paydesk.sandbox.events import EventLog, RequestContext
from paydesk.sandbox.forms import Params
from paydesk.sandbox.fraud_warnings import EarlyFraudWarnings
from paydesk.sandbox.ids import new_id
from paydesk.sandbox.listing import LIST_PARAMS, paginate
from paydesk.sandbox.params import merge_metadata, optional_int, optional_str, reject_unknown
from paydesk.sandbox.sepa import REFUND_SETTLE_SECONDS
from paydesk.sandbox.store import SandboxStore
from paydesk.sandbox.timers import Scheduler

CREATE_PARAMS = frozenset(
    {"payment_intent", "charge", "amount", "reason", "metadata", "expand", "instructions_email"}
)
UPDATE_PARAMS = frozenset({"metadata", "expand"})
REASONS = ("duplicate", "fraudulent", "requested_by_customer")
FAILURE_REASON = "expired_or_canceled_card"


class Refunds:
    def __init__(
        self,
        store: SandboxStore,
        events: EventLog,
        scheduler: Scheduler | None = None,
        delay_seconds: float = 1.0,
        balance: Balance | None = None,
        fraud_warnings: EarlyFraudWarnings | None = None,
    ) -> None:
        self._store = store
        self._events = events
        self._scheduler = scheduler or Scheduler()
        self._delay_seconds = delay_seconds
        self._balance = balance or Balance(store, self._scheduler)
        self._fraud_warnings = fraud_warnings or EarlyFraudWarnings(store, events)

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
        check_step(amount, charge["currency"], "amount")
        disputed = open_chargeback(self._store, charge["id"])
        if disputed is not None:
            raise InvalidRequestError(
                f"Charge {charge['id']} has been charged back; cannot issue a refund.",
                code="charge_disputed",
                param="charge",
            )
        reason = optional_str(params, "reason")
        if reason is not None and reason not in REASONS:
            raise InvalidRequestError(
                f"Invalid reason: must be one of {', '.join(REASONS)}", param="reason"
            )
        re_id = new_id("re")
        refund = objects.refund(
            re_id,
            charge=charge,
            amount=amount,
            reason=reason,
            metadata=merge_metadata({}, params),
            balance_transaction=self._balance.record_refund(re_id, amount, charge),
        )
        outcome, delay = self._outcome_for(charge)
        if outcome is RefundOutcome.PENDING:
            refund["status"] = "pending"
        self._store.refunds.add(refund)
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        charge["refunds"]["data"].insert(0, refund)
        self._events.record("refund.created", refund, context)
        self._events.record("charge.refunded", charge, context)
        self._fraud_warnings.reassess(charge, context)
        if outcome is RefundOutcome.PENDING:
            self._scheduler.later(delay, lambda: self._settle(refund["id"]))
        elif outcome is RefundOutcome.FAIL:
            self._scheduler.later(delay, lambda: self._fail(refund["id"]))
        return refund

    def update(self, re_id: str, params: Params, context: RequestContext) -> StripeObject:
        reject_unknown(params, UPDATE_PARAMS)
        refund = self.retrieve(re_id)
        before = refund["metadata"]
        refund["metadata"] = merge_metadata(before, params)
        if refund["metadata"] != before:
            self._changed(refund, {"metadata": before}, context)
        return refund

    def _outcome_for(self, charge: StripeObject) -> tuple[RefundOutcome, float]:
        """What a refund of `charge` does, and when its pending state ends."""
        if charge["payment_method_details"]["type"] == "sepa_debit":
            return RefundOutcome.PENDING, REFUND_SETTLE_SECONDS
        behaviour = self._store.card_behaviours.get(charge["payment_method"])
        outcome = RefundOutcome.SUCCEED if behaviour is None else behaviour.refund
        return outcome, self._delay_seconds

    def _settle(self, re_id: str) -> None:
        """A pending refund goes through."""
        refund = self._store.refunds.get(re_id)
        if refund is None or refund["status"] != "pending":
            return
        refund["status"] = "succeeded"
        self._changed(refund, {"status": "pending"}, None)

    def _fail(self, re_id: str) -> None:
        """The card can no longer take the money back: the refund fails and is undone."""
        refund = self._store.refunds.get(re_id)
        if refund is None or refund["status"] not in ("pending", "succeeded"):
            return
        previous = {
            "status": refund["status"],
            "failure_reason": None,
            "failure_balance_transaction": None,
        }
        refund.update(
            status="failed",
            failure_reason=FAILURE_REASON,
            failure_balance_transaction=self._balance.record_refund_failure(refund),
        )
        charge = self._store.charges.get(refund["charge"])
        if charge is not None:
            charge["amount_refunded"] = max(0, charge["amount_refunded"] - refund["amount"])
            charge["refunded"] = False
        self._changed(refund, previous, None)
        self._events.record("refund.failed", refund, None)
        if charge is not None:
            self._fraud_warnings.reassess(charge, None)

    def _changed(
        self, refund: StripeObject, previous: StripeObject, context: RequestContext | None
    ) -> None:
        """Stripe tells of a changed refund twice: as itself, and as part of its charge."""
        self._events.record("refund.updated", refund, context, previous)
        self._events.record("charge.refund.updated", refund, context, previous)

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
