"""Uncaptured card authorizations expire: seven days after it was authorized, Stripe cancels
a PaymentIntent still waiting for its capture.

As Stripe does (docs.stripe.com/payments/place-a-hold-on-a-payment-method; the API's
`capture`: "If a payment is not captured by that point, the payment is marked as refunded
and will no longer be capturable"), the charge keeps its status but is refunded in full
(`charge.expired`), and the PaymentIntent is `canceled` with `cancellation_reason:
"automatic"` (`payment_intent.canceled`). The seven days run on the sandbox's clock and
never early: a capture or a cancellation before then takes the timer away.
"""

from paydesk.sandbox import objects
from paydesk.sandbox.errors import StripeObject
from paydesk.sandbox.events import EventLog
from paydesk.sandbox.store import SandboxStore
from paydesk.sandbox.timers import Scheduler

# Stripe's validity window for online (customer-initiated) card authorizations.
AUTHORIZATION_WINDOW_SECONDS = 7 * 86_400


class AuthorizationExpiry:
    def __init__(self, store: SandboxStore, events: EventLog, scheduler: Scheduler) -> None:
        self._store = store
        self._events = events
        self._scheduler = scheduler
        self._timers: dict[str, int] = {}  # by PaymentIntent id

    def start(self, intent: StripeObject, charge: StripeObject) -> None:
        """The charge of `intent` was authorized and waits for its capture."""
        pi_id: str = intent["id"]
        ch_id: str = charge["id"]
        self.stop(pi_id)
        number = self._scheduler.later(
            AUTHORIZATION_WINDOW_SECONDS, lambda: self._expire(pi_id, ch_id), only_when_due=True
        )
        if number is not None:
            self._timers[pi_id] = number

    def stop(self, pi_id: str) -> None:
        """Captured or canceled in time: nothing expires."""
        number = self._timers.pop(pi_id, None)
        if number is not None:
            self._scheduler.cancel(number)

    def _expire(self, pi_id: str, ch_id: str) -> None:
        self._timers.pop(pi_id, None)
        intent = self._store.payment_intents.get(pi_id)
        charge = self._store.charges.get(ch_id)
        if intent is None or charge is None or charge["captured"]:
            return
        if intent["status"] != "requires_capture" or intent["latest_charge"] != ch_id:
            return
        charge.update(amount_refunded=charge["amount"], refunded=True)
        self._events.record("charge.expired", charge, None)
        intent.update(
            status="canceled",
            cancellation_reason="automatic",
            canceled_at=objects.now(),
            amount_capturable=0,
            next_action=None,
        )
        self._events.record("payment_intent.canceled", intent, None)
