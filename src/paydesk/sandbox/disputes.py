"""Disputes of succeeded charges: opened by test cards or on demand, answered, closed."""

from paydesk.sandbox import objects
from paydesk.sandbox.balance import Balance
from paydesk.sandbox.errors import InvalidRequestError, ResourceMissingError, StripeObject
from paydesk.sandbox.events import EventLog, RequestContext, snapshot
from paydesk.sandbox.forms import Params
from paydesk.sandbox.fraud_warnings import EarlyFraudWarnings
from paydesk.sandbox.ids import new_id
from paydesk.sandbox.listing import LIST_PARAMS, paginate
from paydesk.sandbox.params import (
    merge_metadata,
    optional_bool,
    optional_dict,
    optional_str,
    reject_unknown,
)
from paydesk.sandbox.store import SandboxStore
from paydesk.sandbox.timers import Scheduler

DISPUTE_FEE = 1500
RESPONSE_WINDOW_SECONDS = 7 * 86_400
UPDATE_PARAMS = frozenset({"evidence", "metadata", "submit", "expand"})
LIST_DISPUTE_PARAMS = LIST_PARAMS | {"charge", "payment_intent", "created"}
REASONS = frozenset(
    {
        "bank_cannot_process",
        "check_returned",
        "credit_not_processed",
        "customer_initiated",
        "debit_not_authorized",
        "duplicate",
        "fraudulent",
        "general",
        "incorrect_account_details",
        "insufficient_funds",
        "noncompliant",
        "product_not_received",
        "product_unacceptable",
        "subscription_canceled",
        "unrecognized",
    }
)
OPEN = frozenset(
    {"needs_response", "under_review", "warning_needs_response", "warning_under_review"}
)
CLOSED = frozenset({"won", "lost", "warning_closed"})
OUTCOMES = ("won", "lost")


class Disputes:
    def __init__(
        self,
        store: SandboxStore,
        events: EventLog,
        scheduler: Scheduler,
        delay_seconds: float,
        balance: Balance,
        fraud_warnings: EarlyFraudWarnings | None = None,
    ) -> None:
        self._store = store
        self._balance = balance
        self._fraud_warnings = fraud_warnings or EarlyFraudWarnings(store, events)
        self._events = events
        self._scheduler = scheduler
        self._delay_seconds = delay_seconds

    # -- opening -------------------------------------------------------------------------

    def open_later(self, ch_id: str, reason: str, inquiry: bool) -> None:
        """What a dispute test card does: the cardholder complains shortly after paying."""
        self._scheduler.later(
            self._delay_seconds, lambda: self._open_if_possible(ch_id, reason, inquiry)
        )

    def _open_if_possible(self, ch_id: str, reason: str, inquiry: bool) -> None:
        charge = self._store.charges.get(ch_id)
        if charge is None or not charge["captured"] or charge["disputed"]:
            return
        self.open(charge, reason=reason, amount=None, inquiry=inquiry, context=None)

    def open_on_demand(self, ch_id: str, body: StripeObject) -> StripeObject:
        """`POST /_sandbox/charges/{id}/dispute` `{"reason", "amount", "inquiry"}`."""
        charge = self._store.charges.get(ch_id)
        if charge is None:
            raise ResourceMissingError("charge", ch_id)
        if charge["status"] != "succeeded" or not charge["captured"]:
            raise InvalidRequestError(
                f"Charge {ch_id} has not taken any money, so there is nothing to dispute.",
                param="charge",
            )
        if charge["disputed"]:
            raise InvalidRequestError(f"Charge {ch_id} is already disputed.", param="charge")
        reason = body.get("reason", "fraudulent")
        if reason not in REASONS:
            raise InvalidRequestError(
                f"Invalid reason: must be one of {', '.join(sorted(REASONS))}", param="reason"
            )
        amount = body.get("amount")
        if amount is not None and (
            not isinstance(amount, int) or isinstance(amount, bool) or not amount > 0
        ):
            raise InvalidRequestError("amount must be a positive integer", param="amount")
        if amount is not None and amount > charge["amount"]:
            raise InvalidRequestError(
                f"amount must be at most the charge's amount ({charge['amount']})",
                param="amount",
            )
        inquiry = body.get("inquiry", False)
        if not isinstance(inquiry, bool):
            raise InvalidRequestError("inquiry must be true or false", param="inquiry")
        return self.open(charge, reason=reason, amount=amount, inquiry=inquiry, context=None)

    def open(
        self,
        charge: StripeObject,
        *,
        reason: str,
        amount: int | None,
        inquiry: bool,
        context: RequestContext | None,
    ) -> StripeObject:
        created = objects.now()
        due_by = (created + RESPONSE_WINDOW_SECONDS) // 86_400 * 86_400 + 86_399
        dispute = objects.dispute(
            new_id("dp"),
            charge=charge,
            amount=charge["amount"] if amount is None else amount,
            reason=reason,
            inquiry=inquiry,
            due_by=due_by,
        )
        self._store.disputes.add(dispute)
        charge["disputed"] = True
        if not inquiry:
            dispute["balance_transactions"].append(
                self._balance.record_dispute(dispute, fee_usd=DISPUTE_FEE, withdrawal=True)
            )
        self._events.record("charge.dispute.created", dispute, context)
        if not inquiry:
            self._events.record("charge.dispute.funds_withdrawn", dispute, context)
        self._fraud_warnings.reassess(charge, context)
        return dispute

    # -- the API -------------------------------------------------------------------------

    def retrieve(self, dp_id: str) -> StripeObject:
        dispute = self._store.disputes.get(dp_id)
        if dispute is None:
            raise ResourceMissingError("dispute", dp_id)
        return dispute

    def list(self, params: Params) -> StripeObject:
        reject_unknown(params, LIST_DISPUTE_PARAMS)
        charge = optional_str(params, "charge")
        payment_intent = optional_str(params, "payment_intent")

        def matches(dispute: StripeObject) -> bool:
            return (charge is None or dispute["charge"] == charge) and (
                payment_intent is None or dispute["payment_intent"] == payment_intent
            )

        return paginate(self._store.disputes, params, "/v1/disputes", "dispute", matches)

    def update(self, dp_id: str, params: Params, context: RequestContext) -> StripeObject:
        reject_unknown(params, UPDATE_PARAMS)
        dispute = self.retrieve(dp_id)
        evidence = optional_dict(params, "evidence") or {}
        submit = optional_bool(params, "submit") is True
        for name, value in evidence.items():
            if name not in objects.EVIDENCE_FIELDS:
                raise InvalidRequestError(
                    f"Received unknown parameter: evidence[{name}]",
                    code="parameter_unknown",
                    param=f"evidence[{name}]",
                )
            if not isinstance(value, str):
                raise InvalidRequestError(
                    f"Invalid string: evidence[{name}]",
                    code="parameter_invalid_string",
                    param=f"evidence[{name}]",
                )
        if (evidence or submit) and dispute["status"] not in (
            "needs_response",
            "warning_needs_response",
        ):
            raise InvalidRequestError(
                f"This dispute is {dispute['status']}, so its evidence can no longer be "
                "changed or submitted.",
                code="dispute_not_updatable" if dispute["status"] in OPEN else None,
            )
        before = snapshot(dispute)
        for name, value in evidence.items():
            dispute["evidence"][name] = value or None
        details = dispute["evidence_details"]
        if evidence:
            details["has_evidence"] = any(
                dispute["evidence"][name] is not None for name in objects.EVIDENCE_FIELDS
            )
        if submit:
            details["submission_count"] += 1
            dispute["status"] = (
                "warning_under_review"
                if dispute["status"] == "warning_needs_response"
                else "under_review"
            )
        dispute["metadata"] = merge_metadata(dispute["metadata"], params)
        changed = _previous_attributes(before, dispute)
        if changed:
            self._events.record("charge.dispute.updated", dispute, context, changed)
        return dispute

    def accept(self, dp_id: str, context: RequestContext) -> StripeObject:
        """`POST /v1/disputes/{id}/close`: give up, and the dispute is lost."""
        dispute = self.retrieve(dp_id)
        return self._close(dispute, "lost", context)

    def settle(self, dp_id: str, outcome: str) -> StripeObject:
        """The card network's verdict: `won` or `lost` (an inquiry just closes)."""
        if outcome not in OUTCOMES:
            raise InvalidRequestError('outcome must be "won" or "lost"', param="outcome")
        return self._close(self.retrieve(dp_id), outcome, None)

    def _close(
        self, dispute: StripeObject, outcome: str, context: RequestContext | None
    ) -> StripeObject:
        if dispute["status"] in CLOSED:
            raise InvalidRequestError(
                f"This dispute is already closed (status {dispute['status']}).",
                code="dispute_already_closed",
            )
        inquiry = is_inquiry(dispute)
        before = snapshot(dispute)
        dispute["status"] = "warning_closed" if inquiry else outcome
        dispute["is_charge_refundable"] = inquiry
        self._events.record(
            "charge.dispute.closed", dispute, context, _previous_attributes(before, dispute)
        )
        if dispute["status"] == "won":
            dispute["balance_transactions"].append(
                self._balance.record_dispute(dispute, fee_usd=0, withdrawal=False)
            )
            self._events.record("charge.dispute.funds_reinstated", dispute, context)
        return dispute


def open_chargeback(store: SandboxStore, ch_id: str) -> StripeObject | None:
    """The charge's dispute that took its money and is not over, if any."""
    for dispute in store.disputes.newest_first():
        if dispute["charge"] == ch_id and dispute["status"] in OPEN and not is_inquiry(dispute):
            return dispute
    return None


def is_inquiry(dispute: StripeObject) -> bool:
    """Whether a dispute only asks (a card inquiry): bank debit disputes have no details."""
    details = dispute["payment_method_details"]
    return details is not None and details["card"]["case_type"] == "inquiry"


def _previous_attributes(before: StripeObject, after: StripeObject) -> StripeObject:
    changed: StripeObject = {}
    for key, old in before.items():
        new = after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            changed[key] = {k: v for k, v in old.items() if new.get(k) != v}
        else:
            changed[key] = old
    return changed
