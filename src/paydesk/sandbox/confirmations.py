"""What Stripe checks when a PaymentIntent is confirmed, before any money moves, and its
answers when the PaymentIntent cannot be confirmed at all.

- The PaymentMethod's type must be one the PaymentIntent takes (`payment_method_types`).
- A `return_url`, when given, must be a URL. Without one, Stripe refuses a PaymentMethod
  that redirects (iDEAL, Bancontact) whatever the PaymentIntent, and any PaymentMethod on a
  PaymentIntent with automatic payment methods that allows redirects (`allow_redirects`
  `always`, the default), since the customer might have picked one. One leniency, for callers
  written before automatic payment methods became the API's default: a card confirmed without
  a return_url on a PaymentIntent that asked for neither `payment_method_types` nor
  `automatic_payment_methods` goes through (Stripe refuses it too; ask for
  `automatic_payment_methods[enabled]=true` to see its refusal here).
- A sepa_debit PaymentMethod needs the customer's acceptance of the mandate (mandates.py).

A card asking for 3-D Secure gets its next action here (`authentication_action`).
"""

from urllib.parse import urlsplit

from paydesk.sandbox.errors import InvalidRequestError, StripeObject
from paydesk.sandbox.events import snapshot
from paydesk.sandbox.ids import new_id
from paydesk.sandbox.method_types import is_redirect
from paydesk.sandbox.store import SandboxStore

# Stripe's answers, word for word.
AUTOMATIC_NEEDS_RETURN_URL = (
    "A `return_url` must be specified because this Payment Intent is configured to "
    "automatically accept the payment methods enabled in the Dashboard, some of which may "
    "require a full page redirect to succeed. If you do not want to accept redirect-based "
    "payment methods, set `automatic_payment_methods[enabled]` to `true` and "
    "`automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and "
    "Payment Intents."
)
REDIRECT_WITHOUT_RETURN_URL = "payment_intent_redirect_confirmation_without_return_url"
INCOMPATIBLE_METHOD = "payment_intent_incompatible_payment_method"


def check_allowed(intent: StripeObject, payment_method: StripeObject) -> None:
    """Refuses a PaymentMethod of a type the PaymentIntent does not take."""
    kind: str = payment_method["type"]
    types: list[str] = intent["payment_method_types"]
    if kind in types:
        return
    raise InvalidRequestError(
        f"The PaymentMethod provided ({kind}) is not allowed for this PaymentIntent. Please "
        f"attach a PaymentMethod of one of the following types: {', '.join(types)}. "
        "Alternatively, update the allowed payment_method_types for this PaymentIntent to "
        f'include "{kind}"',
        code=INCOMPATIBLE_METHOD,
        param="payment_method",
        payment_intent=snapshot(intent),
    )


def check_return_url(
    store: SandboxStore,
    intent: StripeObject,
    payment_method: StripeObject,
    return_url: str | None,
) -> None:
    """Refuses a confirmation without the return_url Stripe wants, or with a bad one."""
    if return_url is not None:
        parts = urlsplit(return_url)
        if not parts.scheme or not (parts.netloc or parts.path):
            raise InvalidRequestError("Not a valid URL", code="url_invalid", param="return_url")
        return
    kind: str = payment_method["type"]
    if is_redirect(kind):
        raise InvalidRequestError(
            "You must provide a `return_url` when confirming a PaymentIntent with the payment "
            f"method type {kind}.",
            code=REDIRECT_WITHOUT_RETURN_URL,
            param="return_url",
            payment_intent=snapshot(intent),
        )
    automatic = intent["automatic_payment_methods"]
    if automatic is None or automatic["allow_redirects"] != "always":
        return
    if kind == "card" and intent["id"] in store.implicit_automatic:
        return
    raise InvalidRequestError(
        AUTOMATIC_NEEDS_RETURN_URL, param="return_url", payment_intent=snapshot(intent)
    )


def not_confirmable(intent: StripeObject) -> str:
    """Stripe's message for a PaymentIntent whose status cannot be confirmed."""
    status = intent["status"]
    if status == "succeeded":
        return (
            "You cannot confirm this PaymentIntent because it has already succeeded after "
            "being previously confirmed."
        )
    return (
        f"This PaymentIntent's status is {status}, but the PaymentIntent must have one of "
        "the following statuses to be confirmed: requires_payment_method, "
        "requires_confirmation, requires_action."
    )


def missing_payment_method(intent: StripeObject | None) -> InvalidRequestError:
    return InvalidRequestError(
        "You cannot confirm this PaymentIntent because it's missing a payment method. "
        "Update the PaymentIntent with a payment method and then confirm it again.",
        code="payment_intent_unexpected_state",
        param="payment_method",
        payment_intent=snapshot(intent) if intent is not None else None,
    )


def authentication_action(challenge_url: str, return_url: str | None) -> StripeObject:
    """Stripe redirects when given a return_url, and otherwise leaves it to Stripe.js."""
    if return_url is not None:
        return {
            "type": "redirect_to_url",
            "redirect_to_url": {"url": challenge_url, "return_url": return_url},
        }
    return {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {
            "type": "three_d_secure_redirect",
            "stripe_js": challenge_url,
            "source": new_id("src"),
        },
    }


THREE_D_SECURE = {
    "authentication_flow": "challenge",
    "electronic_commerce_indicator": "05",
    "exemption_indicator": None,
    "result": "authenticated",
    "result_reason": None,
    "transaction_id": "sandbox-3ds-transaction",
    "version": "2.2.0",
}
