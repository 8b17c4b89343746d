"""PaymentIntents and their state machine, with the Charges and Events each step makes."""

import hmac
from typing import Any, NoReturn

from paydesk.sandbox import objects
from paydesk.sandbox.authorizations import AuthorizationExpiry
from paydesk.sandbox.balance import Balance
from paydesk.sandbox.cards import Outcome
from paydesk.sandbox.confirmations import (
    THREE_D_SECURE,
    authentication_action,
    check_allowed,
    check_return_url,
    missing_payment_method,
    not_confirmable,
)
from paydesk.sandbox.currencies import SUPPORTED, check_charge_amount
from paydesk.sandbox.disputes import Disputes
from paydesk.sandbox.errors import (
    CardError,
    InvalidRequestError,
    ResourceMissingError,
    StripeObject,
    parameter_missing,
    unexpected_state,
)
from paydesk.sandbox.events import EventLog, RequestContext, snapshot
from paydesk.sandbox.forms import Params
from paydesk.sandbox.fraud_warnings import DEFAULT_FRAUD_TYPE, EarlyFraudWarnings
from paydesk.sandbox.ids import new_id, random_token
from paydesk.sandbox.listing import LIST_PARAMS, paginate
from paydesk.sandbox.mandates import MANDATE_REQUIRED, customer_acceptance
from paydesk.sandbox.method_types import (
    check_capture_method,
    choice_from,
    given_names,
    is_redirect,
    options_for,
    rechosen_types,
)
from paydesk.sandbox.params import (
    merge_metadata,
    optional_bool,
    optional_dict,
    optional_int,
    optional_str,
    reject_unknown,
    required_int,
)
from paydesk.sandbox.payment_methods import payment_method_from_details, resolve_payment_method
from paydesk.sandbox.radar import blocked_details, card_outcome
from paydesk.sandbox.redirects import BankRedirects
from paydesk.sandbox.sepa_debits import SepaDebits
from paydesk.sandbox.store import SandboxStore
from paydesk.sandbox.timers import Scheduler

_ACCEPTED_AND_IGNORED = frozenset(
    {
        "expand",
        "customer",
        "setup_future_usage",
        "shipping",
        "statement_descriptor",
        "statement_descriptor_suffix",
        "transfer_group",
        "off_session",
        "error_on_requires_action",
        "use_stripe_sdk",
        "radar_options",
        "confirmation_method",
    }
)
CREATE_PARAMS = _ACCEPTED_AND_IGNORED | {
    "payment_method_options",
    "payment_method_types",
    "mandate_data",
    "amount",
    "currency",
    "metadata",
    "capture_method",
    "payment_method",
    "confirm",
    "return_url",
    "description",
    "receipt_email",
    "automatic_payment_methods",
    "payment_method_data",
}
UPDATE_PARAMS = _ACCEPTED_AND_IGNORED | {
    "payment_method_options",
    "payment_method_types",
    "amount",
    "currency",
    "metadata",
    "capture_method",
    "payment_method",
    "description",
    "receipt_email",
    "payment_method_data",
}
CONFIRM_PARAMS = _ACCEPTED_AND_IGNORED | {
    "payment_method_options",
    "mandate_data",
    "payment_method",
    "payment_method_data",
    "return_url",
    "capture_method",
    "client_secret",
    "receipt_email",
}
CAPTURE_PARAMS = frozenset({"amount_to_capture", "expand", "metadata", "final_capture"})
CANCEL_PARAMS = frozenset({"cancellation_reason", "expand"})
PI_LIST_PARAMS = LIST_PARAMS | {"created", "customer"}

CAPTURE_METHODS = ("automatic", "automatic_async", "manual")
CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = (*CONFIRMABLE, "requires_capture", "processing")
AUTHENTICATION_FAILED = (
    "We are unable to authenticate your payment method. Please choose a different payment "
    "method and try again."
)


class PaymentIntents:
    """The state machine; a SEPA debit's processing and settlement are SepaDebits', a bank
    redirect's BankRedirects', and what a confirmation must have is confirmations.py's.
    Radar's evaluation of a card is radar.py's, an uncaptured authorization's expiry
    authorizations.py's, the issuer's early fraud warning fraud_warnings.py's."""

    def __init__(
        self,
        store: SandboxStore,
        events: EventLog,
        disputes: Disputes | None = None,
        sepa_debits: SepaDebits | None = None,
        redirects: BankRedirects | None = None,
        balance: Balance | None = None,
        *,
        scheduler: Scheduler | None = None,
        fraud_warnings: EarlyFraudWarnings | None = None,
    ) -> None:
        self._store = store
        self._events = events
        self._disputes = disputes
        self._balance = balance or Balance(store, Scheduler())
        self._expiry = AuthorizationExpiry(store, events, scheduler or Scheduler())
        self._fraud_warnings = fraud_warnings or EarlyFraudWarnings(store, events)
        self._sepa_debits = sepa_debits or SepaDebits(
            store, events, Scheduler(), self._balance, disputes
        )
        self._redirects = redirects or BankRedirects(store, events, self._balance)

    # -- reading -------------------------------------------------------------------------

    def get(self, pi_id: str, param: str = "id") -> StripeObject:
        intent = self._store.payment_intents.get(pi_id)
        if intent is None:
            raise ResourceMissingError("payment_intent", pi_id, param=param)
        return intent

    def check_client_secret(self, intent: StripeObject, client_secret: str | None) -> None:
        if client_secret is None:
            raise parameter_missing("client_secret")
        if not hmac.compare_digest(client_secret, intent["client_secret"]):
            raise InvalidRequestError(
                "The client_secret provided does not match the client_secret associated with "
                "the PaymentIntent.",
                param="client_secret",
            )

    def list(self, params: Params) -> StripeObject:
        reject_unknown(params, PI_LIST_PARAMS)
        return paginate(
            self._store.payment_intents, params, "/v1/payment_intents", "payment_intent"
        )

    # -- changing ------------------------------------------------------------------------

    def create(self, params: Params, context: RequestContext) -> StripeObject:
        reject_unknown(params, CREATE_PARAMS)
        amount = required_int(params, "amount")
        currency = self._valid_currency(params, required=True)
        assert currency is not None
        check_charge_amount(amount, currency, "amount")
        capture_method = self._valid_capture_method(params) or "automatic_async"
        # Since API version 2023-08-16 Stripe turns automatic payment methods on unless
        # payment_method_types is given.
        choice = choice_from(params, currency, capture_method)
        intent = objects.payment_intent(
            new_id("pi"),
            amount=amount,
            currency=currency,
            client_secret="",
            capture_method=capture_method,
            metadata=merge_metadata({}, params),
            description=optional_str(params, "description"),
            receipt_email=optional_str(params, "receipt_email"),
            automatic_payment_methods=choice.automatic,
            payment_method_types=choice.types,
            payment_method_options=options_for(
                choice.types, optional_dict(params, "payment_method_options")
            ),
        )
        intent["client_secret"] = f"{intent['id']}_secret_{random_token(25)}"
        payment_method = self._payment_method_from(params)
        confirm = optional_bool(params, "confirm") is True
        if confirm and payment_method is None:
            raise missing_payment_method(None)
        if payment_method is not None:
            check_allowed(intent, payment_method)
            intent["payment_method"] = payment_method["id"]
            intent["status"] = "requires_confirmation"
        self._store.payment_intents.add(intent)
        if choice.implicit:
            self._store.implicit_automatic.add(intent["id"])
        self._events.record("payment_intent.created", intent, context)
        if confirm:
            return self._confirm(intent, params, context, publishable=False)
        return intent

    def update(self, pi_id: str, params: Params, context: RequestContext) -> StripeObject:
        reject_unknown(params, UPDATE_PARAMS)
        intent = self.get(pi_id)
        money_fields = {
            "amount",
            "currency",
            "payment_method",
            "payment_method_data",
            "capture_method",
            "payment_method_types",
        } & params.keys()
        if money_fields and intent["status"] not in CONFIRMABLE:
            field = sorted(money_fields)[0]
            raise unexpected_state(
                f"This PaymentIntent's {field} could not be updated because it has a status of "
                f"{intent['status']}. You may only update the {field} of a PaymentIntent with "
                "one of the following statuses: requires_payment_method, "
                "requires_confirmation, requires_action.",
                snapshot(intent),
            )
        amount = optional_int(params, "amount")
        currency = self._valid_currency(params, required=False)
        if amount is not None or currency is not None:
            check_charge_amount(
                intent["amount"] if amount is None else amount,
                intent["currency"] if currency is None else currency,
                "amount",
            )
        capture_method = self._valid_capture_method(params)
        payment_method = self._payment_method_from(params)
        names = given_names(params)
        types = intent["payment_method_types"]
        if currency is not None or capture_method is not None or names is not None:
            types = rechosen_types(
                {
                    **intent,
                    "currency": currency or intent["currency"],
                    "capture_method": capture_method or intent["capture_method"],
                    "automatic_payment_methods": (
                        None if names is not None else intent["automatic_payment_methods"]
                    ),
                },
                names,
            )
        if payment_method is not None:
            check_allowed({**intent, "payment_method_types": types}, payment_method)
        if amount is not None:
            intent["amount"] = amount
        if currency is not None:
            intent["currency"] = currency
        if capture_method is not None:
            intent["capture_method"] = capture_method
        if names is not None:
            intent["automatic_payment_methods"] = None
            self._store.implicit_automatic.discard(intent["id"])
        if types != intent["payment_method_types"] or "payment_method_options" in params:
            intent["payment_method_types"] = types
            intent["payment_method_options"] = options_for(
                types, optional_dict(params, "payment_method_options")
            )
        if payment_method is not None:
            intent["payment_method"] = payment_method["id"]
            intent["status"] = "requires_confirmation"
            intent["next_action"] = None
        for name in ("description", "receipt_email"):
            if name in params:
                intent[name] = optional_str(params, name)
        intent["metadata"] = merge_metadata(intent["metadata"], params)
        return intent

    def confirm(
        self, pi_id: str, params: Params, context: RequestContext, *, publishable: bool = False
    ) -> StripeObject:
        reject_unknown(params, CONFIRM_PARAMS)
        intent = self.get(pi_id)
        capture_method = self._valid_capture_method(params)
        if capture_method is not None and capture_method != intent["capture_method"]:
            types = rechosen_types({**intent, "capture_method": capture_method}, None)
            intent.update(
                capture_method=capture_method,
                payment_method_types=types,
                payment_method_options=options_for(types, None),
            )
        if "receipt_email" in params:
            intent["receipt_email"] = optional_str(params, "receipt_email")
        return self._confirm(intent, params, context, publishable=publishable)

    def capture(self, pi_id: str, params: Params, context: RequestContext) -> StripeObject:
        reject_unknown(params, CAPTURE_PARAMS)
        intent = self.get(pi_id)
        if intent["status"] != "requires_capture":
            raise unexpected_state(
                "This PaymentIntent could not be captured because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
                "may be captured: requires_capture.",
                snapshot(intent),
            )
        capturable: int = intent["amount_capturable"]
        amount = optional_int(params, "amount_to_capture")
        if amount is None:
            amount = capturable
        if amount > capturable:
            raise InvalidRequestError(
                "The amount to capture must be less than or equal to the amount capturable "
                f"({capturable}).",
                code="amount_too_large",
                param="amount_to_capture",
            )
        check_charge_amount(amount, intent["currency"], "amount_to_capture")
        charge = self._store.charges.get(intent["latest_charge"])
        assert charge is not None
        charge.update(
            captured=True,
            amount_captured=amount,
            amount_refunded=charge["amount"] - amount,
        )
        charge["balance_transaction"] = self._balance.record_charge(charge)
        intent.update(
            amount_received=amount,
            amount_capturable=0,
            status="succeeded",
            metadata=merge_metadata(intent["metadata"], params),
        )
        self._expiry.stop(intent["id"])
        self._events.record("charge.captured", charge, context)
        self._events.record("payment_intent.succeeded", intent, context)
        self._after_success(charge, context)
        return intent

    def cancel(self, pi_id: str, params: Params, context: RequestContext) -> StripeObject:
        reject_unknown(params, CANCEL_PARAMS)
        intent = self.get(pi_id)
        if intent["status"] not in CANCELABLE:
            raise unexpected_state(
                "You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
                "may be canceled: requires_payment_method, requires_capture, "
                "requires_confirmation, requires_action, processing.",
                snapshot(intent),
            )
        reason = optional_str(params, "cancellation_reason")
        if reason is not None and reason not in CANCELLATION_REASONS:
            *first, last = CANCELLATION_REASONS
            raise InvalidRequestError(
                f"Invalid cancellation_reason: must be one of {', '.join(first)}, or {last}",
                param="cancellation_reason",
            )
        self._expiry.stop(intent["id"])
        if intent["status"] == "requires_capture":
            charge = self._store.charges.get(intent["latest_charge"])
            assert charge is not None
            charge.update(amount_refunded=charge["amount"], refunded=True)
            self._events.record("charge.refunded", charge, context)
        intent.update(
            status="canceled",
            cancellation_reason=reason,
            canceled_at=objects.now(),
            amount_capturable=0,
            next_action=None,
        )
        self._events.record("payment_intent.canceled", intent, context)
        return intent

    def authenticate(
        self, pi_id: str, succeed: bool, context: RequestContext | None
    ) -> StripeObject:
        """The customer's answer to the 3-D Secure challenge, or at their bank's page."""
        intent = self.get(pi_id)
        if intent["status"] != "requires_action":
            raise unexpected_state(
                "This PaymentIntent does not need authentication; its status is "
                f"{intent['status']}.",
                snapshot(intent),
            )
        payment_method = self._store.payment_methods.get(intent["payment_method"])
        assert payment_method is not None
        intent["next_action"] = None
        if succeed and is_redirect(payment_method["type"]):
            return self._redirects.authorize(intent, payment_method, context)
        if succeed:
            return self._authorize(intent, payment_method, context, three_d_secure=True)
        intent.update(
            status="requires_payment_method",
            payment_method=None,
            last_payment_error={
                "code": "payment_intent_authentication_failure",
                "doc_url": "https://stripe.com/docs/error-codes/"
                "payment-intent-authentication-failure",
                "message": AUTHENTICATION_FAILED,
                "payment_method": snapshot(payment_method),
                "type": "invalid_request_error",
            },
        )
        self._events.record("payment_intent.payment_failed", intent, context)
        return intent

    # -- the state machine ---------------------------------------------------------------

    def _confirm(
        self, intent: StripeObject, params: Params, context: RequestContext, *, publishable: bool
    ) -> StripeObject:
        if intent["status"] not in CONFIRMABLE:
            raise unexpected_state(not_confirmable(intent), snapshot(intent))
        payment_method = self._payment_method_from(params)
        if payment_method is None and intent["payment_method"] is not None:
            payment_method = resolve_payment_method(
                self._store, intent["payment_method"], "payment_method"
            )
        if payment_method is None:
            raise missing_payment_method(intent)
        check_allowed(intent, payment_method)
        check_capture_method([payment_method["type"]], intent["capture_method"])
        return_url = optional_str(params, "return_url")
        check_return_url(self._store, intent, payment_method, return_url)
        kind = payment_method["type"]
        acceptance = None
        if kind == "sepa_debit":
            mandate_data = optional_dict(params, "mandate_data")
            acceptance = customer_acceptance(mandate_data, context, publishable=publishable)
        intent.update(
            payment_method=payment_method["id"], last_payment_error=None, next_action=None
        )
        if kind == "sepa_debit":
            if acceptance is None:
                intent["status"] = "requires_confirmation"
                raise InvalidRequestError(
                    MANDATE_REQUIRED, param="mandate_data", payment_intent=snapshot(intent)
                )
            return self._sepa_debits.submit(intent, payment_method, acceptance, context)
        if is_redirect(kind):
            assert return_url is not None
            return self._redirects.send_to_bank(intent, return_url, context)
        behaviour = self._store.card_behaviours[payment_method["id"]]
        if behaviour.outcome is Outcome.REQUIRE_3DS:
            intent["status"] = "requires_action"
            intent["next_action"] = authentication_action(
                f"{context.base_url}/_sandbox/3ds/{intent['id']}", return_url
            )
            self._events.record("payment_intent.requires_action", intent, context)
            return intent
        if behaviour.outcome in (Outcome.DECLINE, Outcome.BLOCK):
            self._decline(intent, payment_method, context)
        # Outcome.DISPUTE authorizes like any good card; the dispute comes a little later.
        return self._authorize(intent, payment_method, context, three_d_secure=False)

    def _authorize(
        self,
        intent: StripeObject,
        payment_method: StripeObject,
        context: RequestContext | None,
        *,
        three_d_secure: bool,
    ) -> StripeObject:
        automatic = intent["capture_method"] != "manual"
        behaviour = self._store.card_behaviours.get(payment_method["id"])
        charge = objects.charge(
            new_id("ch"),
            intent=intent,
            payment_method=payment_method,
            succeeded=True,
            captured=automatic,
            balance_transaction=None,
            outcome=card_outcome(behaviour, succeeded=True),
        )
        if automatic:
            charge["balance_transaction"] = self._balance.record_charge(charge)
        if three_d_secure:
            charge["payment_method_details"]["card"]["three_d_secure"] = dict(THREE_D_SECURE)
        self._store.charges.add(charge)
        intent["latest_charge"] = charge["id"]
        if automatic:
            intent.update(status="succeeded", amount_received=intent["amount"])
            self._events.record("charge.succeeded", charge, context)
            self._events.record("payment_intent.succeeded", intent, context)
            self._after_success(charge, context)
        else:
            intent.update(status="requires_capture", amount_capturable=intent["amount"])
            self._events.record("charge.succeeded", charge, context)
            self._events.record("payment_intent.amount_capturable_updated", intent, context)
            self._expiry.start(intent, charge)
        if behaviour is not None and behaviour.outcome is Outcome.DISPUTE and self._disputes:
            self._disputes.open_later(charge["id"], behaviour.dispute_reason, behaviour.inquiry)
        return intent

    def _after_success(self, charge: StripeObject, context: RequestContext | None) -> None:
        """A captured card charge: the early fraud warning test card's issuer speaks now."""
        behaviour = self._store.card_behaviours.get(charge["payment_method"])
        if behaviour is not None and behaviour.early_fraud_warning:
            self._fraud_warnings.raise_for(charge, DEFAULT_FRAUD_TYPE, context)

    def _decline(
        self, intent: StripeObject, payment_method: StripeObject, context: RequestContext
    ) -> NoReturn:
        behaviour = self._store.card_behaviours[payment_method["id"]]
        assert behaviour.code is not None
        assert behaviour.message is not None
        charge = objects.charge(
            new_id("ch"),
            intent=intent,
            payment_method=payment_method,
            succeeded=False,
            captured=False,
            balance_transaction=None,
            failure_code=behaviour.code,
            failure_message=behaviour.message,
            decline_code=behaviour.decline_code,
            outcome=card_outcome(behaviour, succeeded=False),
            fraud_details=blocked_details(behaviour),
        )
        self._store.charges.add(charge)
        error: dict[str, Any] = {
            "charge": charge["id"],
            "code": behaviour.code,
            "decline_code": behaviour.decline_code,
            "doc_url": f"https://stripe.com/docs/error-codes/{behaviour.code.replace('_', '-')}",
            "message": behaviour.message,
            "payment_method": snapshot(payment_method),
            "type": "card_error",
        }
        intent.update(
            status="requires_payment_method",
            latest_charge=charge["id"],
            payment_method=None,
            last_payment_error=error,
        )
        self._events.record("charge.failed", charge, context)
        self._events.record("payment_intent.payment_failed", intent, context)
        raise CardError(
            behaviour.message,
            code=behaviour.code,
            decline_code=behaviour.decline_code,
            charge=charge["id"],
            payment_intent=snapshot(intent),
            payment_method=snapshot(payment_method),
        )

    # -- validation ----------------------------------------------------------------------

    def _payment_method_from(self, params: Params) -> StripeObject | None:
        data = optional_dict(params, "payment_method_data")
        if data is not None:
            return payment_method_from_details(self._store, data, within="payment_method_data")
        pm_id = optional_str(params, "payment_method")
        if pm_id is None:
            return None
        return resolve_payment_method(self._store, pm_id, "payment_method")

    def _valid_currency(self, params: Params, *, required: bool) -> str | None:
        currency = optional_str(params, "currency")
        if currency is None:
            if required:
                raise parameter_missing("currency")
            return None
        currency = currency.lower()
        if currency not in SUPPORTED:
            raise InvalidRequestError(
                f"Invalid currency: {currency}. Stripe currently supports these currencies: "
                f"{', '.join(sorted(SUPPORTED))}",
                param="currency",
            )
        return currency

    def _valid_capture_method(self, params: Params) -> str | None:
        capture_method = optional_str(params, "capture_method")
        if capture_method is not None and capture_method not in CAPTURE_METHODS:
            raise InvalidRequestError(
                "Invalid capture_method: must be one of automatic, automatic_async, or manual",
                param="capture_method",
            )
        return capture_method
