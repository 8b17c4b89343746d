"""SEPA debits after confirmation: processing, then settled one way or the other.

Confirming a PaymentIntent with a sepa_debit PaymentMethod records its mandate, makes a
`pending` charge and leaves the PaymentIntent `processing` (Stripe's `processing` hash
describes card payments only, so it stays null). When the sandbox's clock passes the debit's
settlement (see sepa.py for how long), the charge succeeds, with a balance transaction, and
the PaymentIntent with it; or both fail, and the PaymentIntent needs a payment method again,
with the charge's failure as its `last_payment_error`. The events are Stripe's:
`charge.pending`, `payment_intent.processing`, then `charge.succeeded`,
`payment_intent.succeeded` or `charge.failed`, `payment_intent.payment_failed`.
"""

from typing import Any

from paydesk.sandbox import bank_objects, objects
from paydesk.sandbox.balance import Balance
from paydesk.sandbox.disputes import Disputes
from paydesk.sandbox.errors import StripeObject
from paydesk.sandbox.events import EventLog, RequestContext, snapshot
from paydesk.sandbox.ids import new_id
from paydesk.sandbox.mandates import create_mandate
from paydesk.sandbox.sepa import DISPUTE_REASON, SUCCEEDS, DebitOutcome, SepaBehaviour
from paydesk.sandbox.store import SandboxStore
from paydesk.sandbox.timers import Scheduler


class SepaDebits:
    def __init__(
        self,
        store: SandboxStore,
        events: EventLog,
        scheduler: Scheduler,
        balance: Balance,
        disputes: Disputes | None = None,
    ) -> None:
        self._store = store
        self._balance = balance
        self._events = events
        self._scheduler = scheduler
        self._disputes = disputes

    def submit(
        self,
        intent: StripeObject,
        payment_method: StripeObject,
        acceptance: StripeObject,
        context: RequestContext,
    ) -> StripeObject:
        """The debit is on its way: a mandate, a pending charge, a processing PaymentIntent."""
        mandate = create_mandate(self._store, payment_method, acceptance, context.base_url)
        charge = objects.charge(
            new_id("ch"),
            intent=intent,
            payment_method=payment_method,
            succeeded=True,
            captured=True,
            balance_transaction=None,
            payment_method_details=bank_objects.sepa_debit_details(payment_method, mandate["id"]),
            pending=True,
        )
        self._store.charges.add(charge)
        intent.update(status="processing", latest_charge=charge["id"])
        self._events.record("charge.pending", charge, context)
        self._events.record("payment_intent.processing", intent, context)
        behaviour = self._store.sepa_behaviours.get(payment_method["id"], SUCCEEDS)
        pi_id, ch_id = intent["id"], charge["id"]
        self._scheduler.later(
            behaviour.settle_seconds, lambda: self._settle(pi_id, ch_id, behaviour)
        )
        return intent

    def _settle(self, pi_id: str, ch_id: str, behaviour: SepaBehaviour) -> None:
        """The bank's answer, once the settlement time has passed on the sandbox's clock."""
        intent = self._store.payment_intents.get(pi_id)
        charge = self._store.charges.get(ch_id)
        if intent is None or charge is None or charge["status"] != "pending":
            return
        if intent["status"] != "processing" or intent["latest_charge"] != ch_id:
            return
        if behaviour.outcome is DebitOutcome.FAIL:
            self._fail(intent, charge, behaviour)
            return
        charge.update(
            status="succeeded",
            paid=True,
            balance_transaction=self._balance.record_charge(charge),
            outcome=objects.charge_outcome(True),
        )
        intent.update(status="succeeded", amount_received=intent["amount"])
        self._events.record("charge.succeeded", charge, None)
        self._events.record("payment_intent.succeeded", intent, None)
        if behaviour.outcome is DebitOutcome.DISPUTE and self._disputes is not None:
            self._disputes.open_later(ch_id, DISPUTE_REASON, inquiry=False)

    def _fail(self, intent: StripeObject, charge: StripeObject, behaviour: SepaBehaviour) -> None:
        code = behaviour.failure_code
        message = behaviour.failure_message
        assert code is not None
        charge.update(
            status="failed",
            captured=False,
            amount_captured=0,
            failure_code=code,
            failure_message=message,
            outcome=objects.charge_outcome(False),
        )
        payment_method = self._store.payment_methods.get(charge["payment_method"])
        error: dict[str, Any] = {
            "charge": charge["id"],
            "code": code,
            "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
            "message": message,
            "payment_method": snapshot(payment_method) if payment_method else None,
            "type": "card_error",
        }
        intent.update(
            status="requires_payment_method", payment_method=None, last_payment_error=error
        )
        self._events.record("charge.failed", charge, None)
        self._events.record("payment_intent.payment_failed", intent, None)
