"""iDEAL and Bancontact: the customer is sent to their bank's page and comes back.

Confirming (with a return_url, which Stripe requires for them) leaves the PaymentIntent
`requires_action` with a `redirect_to_url` next action to the sandbox's bank page,
`{base_url}/_sandbox/redirect/{pi_id}`. Its "Authorize test payment" button makes a
succeeded charge and a succeeded PaymentIntent (`charge.succeeded`,
`payment_intent.succeeded`); "Fail test payment" leaves it needing a payment method, as a
failed 3-D Secure challenge does (PaymentIntents.authenticate). Either way the customer is
sent back to the return_url with `payment_intent`, `payment_intent_client_secret` and
`redirect_status` added to its query.
"""

from paydesk.sandbox import bank_objects, objects
from paydesk.sandbox.balance import Balance
from paydesk.sandbox.errors import StripeObject
from paydesk.sandbox.events import EventLog, RequestContext
from paydesk.sandbox.ids import new_id
from paydesk.sandbox.store import SandboxStore


def bank_page_url(base_url: str, pi_id: str) -> str:
    return f"{base_url}/_sandbox/redirect/{pi_id}"


class BankRedirects:
    def __init__(self, store: SandboxStore, events: EventLog, balance: Balance) -> None:
        self._store = store
        self._balance = balance
        self._events = events

    def send_to_bank(
        self, intent: StripeObject, return_url: str, context: RequestContext
    ) -> StripeObject:
        intent.update(
            status="requires_action",
            next_action={
                "type": "redirect_to_url",
                "redirect_to_url": {
                    "url": bank_page_url(context.base_url, intent["id"]),
                    "return_url": return_url,
                },
            },
        )
        self._events.record("payment_intent.requires_action", intent, context)
        return intent

    def authorize(
        self,
        intent: StripeObject,
        payment_method: StripeObject,
        context: RequestContext | None,
    ) -> StripeObject:
        """The customer authorized the payment at their bank: it is paid."""
        if payment_method["type"] == "ideal":
            details = bank_objects.ideal_details(payment_method)
        else:
            language = intent["payment_method_options"].get("bancontact", {})
            details = bank_objects.bancontact_details(
                payment_method, language.get("preferred_language", "en")
            )
        charge = objects.charge(
            new_id("ch"),
            intent=intent,
            payment_method=payment_method,
            succeeded=True,
            captured=True,
            balance_transaction=None,
            payment_method_details=details,
        )
        charge["balance_transaction"] = self._balance.record_charge(charge)
        self._store.charges.add(charge)
        intent.update(
            status="succeeded",
            amount_received=intent["amount"],
            latest_charge=charge["id"],
            next_action=None,
        )
        self._events.record("charge.succeeded", charge, context)
        self._events.record("payment_intent.succeeded", intent, context)
        return intent
