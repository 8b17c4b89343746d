"""`POST /v1/payment_intents/{id}` and cancellation reasons, by Stripe's rules: the amount
changes only before the payment (requires_payment_method, requires_confirmation,
requires_action), metadata any time, and a repeated idempotency key replays."""

import uuid

import httpx
import pytest
import stripe

from paydesk.sandbox import SandboxServer
from tests.sandbox.conftest import form, secret_auth


def card_intent(client: stripe.StripeClient, **extra: object) -> stripe.PaymentIntent:
    params = {"amount": 2000, "currency": "usd", "payment_method_types": ["card"], **extra}
    return client.v1.payment_intents.create(form(params))


def test_a_new_amount_is_the_amount_charged(stripe_client: stripe.StripeClient) -> None:
    pi = card_intent(stripe_client)
    updated = stripe_client.v1.payment_intents.update(pi.id, {"amount": 2750})
    assert (updated.amount, updated.status) == (2750, "requires_payment_method")
    paid = stripe_client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_visa"})
    assert (paid.status, paid.amount_received) == ("succeeded", 2750)
    charge = stripe_client.v1.charges.retrieve(str(paid.latest_charge))
    assert (charge.amount, charge.amount_captured) == (2750, 2750)


def test_the_amount_changes_before_confirmation_and_after_a_decline(
    stripe_client: stripe.StripeClient,
) -> None:
    pi = card_intent(stripe_client, payment_method="pm_card_visa")
    assert pi.status == "requires_confirmation"
    assert stripe_client.v1.payment_intents.update(pi.id, {"amount": 1500}).amount == 1500
    declined = card_intent(stripe_client)
    with pytest.raises(stripe.CardError):
        stripe_client.v1.payment_intents.confirm(
            declined.id, {"payment_method": "pm_card_chargeDeclined"}
        )
    stripe_client.v1.payment_intents.update(declined.id, {"amount": 1250})
    paid = stripe_client.v1.payment_intents.confirm(declined.id, {"payment_method": "pm_card_visa"})
    assert (paid.status, paid.amount_received) == ("succeeded", 1250)


@pytest.mark.parametrize("capture_method", ["automatic", "manual"])
def test_the_amount_is_refused_once_paid_or_authorized(
    stripe_client: stripe.StripeClient, capture_method: str
) -> None:
    pi = card_intent(
        stripe_client, payment_method="pm_card_visa", confirm=True, capture_method=capture_method
    )
    status = "succeeded" if capture_method == "automatic" else "requires_capture"
    assert pi.status == status
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.update(pi.id, {"amount": 999})
    error = raised.value
    assert error.code == "payment_intent_unexpected_state"
    assert error.user_message == (
        "This PaymentIntent's amount could not be updated because it has a status of "
        f"{status}. You may only update the amount of a PaymentIntent with one of the "
        "following statuses: requires_payment_method, requires_confirmation, requires_action."
    )
    assert stripe_client.v1.payment_intents.retrieve(pi.id).amount == 2000
    tagged = stripe_client.v1.payment_intents.update(pi.id, {"metadata": {"order": "A-1"}})
    assert (tagged.status, tagged.metadata.to_dict()) == (status, {"order": "A-1"})


def test_metadata_changes_even_once_canceled(stripe_client: stripe.StripeClient) -> None:
    pi = card_intent(stripe_client)
    stripe_client.v1.payment_intents.cancel(pi.id)
    tagged = stripe_client.v1.payment_intents.update(pi.id, {"metadata": {"note": "late"}})
    assert tagged.metadata.to_dict() == {"note": "late"}


def test_an_update_replays_for_its_idempotency_key(
    stripe_client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    pi = card_intent(stripe_client)
    key = str(uuid.uuid4())
    with httpx.Client(base_url=sandbox.url, headers=secret_auth()) as http:
        first = http.post(
            f"/v1/payment_intents/{pi.id}",
            data={"amount": "3100"},
            headers={"Idempotency-Key": key},
        )
        stripe_client.v1.payment_intents.update(pi.id, {"amount": 3300})
        again = http.post(
            f"/v1/payment_intents/{pi.id}",
            data={"amount": "3100"},
            headers={"Idempotency-Key": key},
        )
        other = http.post(
            f"/v1/payment_intents/{pi.id}",
            data={"amount": "3200"},
            headers={"Idempotency-Key": key},
        )
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert stripe_client.v1.payment_intents.retrieve(pi.id).amount == 3300  # not applied again
    assert other.status_code == 400
    assert other.json()["error"]["type"] == "idempotency_error"


@pytest.mark.parametrize(
    "reason", ["duplicate", "fraudulent", "requested_by_customer", "abandoned"]
)
def test_a_cancellation_keeps_the_reason_given(
    stripe_client: stripe.StripeClient, reason: str
) -> None:
    pi = card_intent(stripe_client)
    canceled = stripe_client.v1.payment_intents.cancel(pi.id, {"cancellation_reason": reason})
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", reason)


@pytest.mark.parametrize("reason", ["automatic", "expired", "bored"])
def test_only_the_callers_reasons_are_taken(
    stripe_client: stripe.StripeClient, reason: str
) -> None:
    pi = card_intent(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.cancel(pi.id, form({"cancellation_reason": reason}))
    assert raised.value.param == "cancellation_reason"  # type: ignore[attr-defined]
    assert raised.value.user_message == (
        "Invalid cancellation_reason: must be one of duplicate, fraudulent, "
        "requested_by_customer, or abandoned"
    )
    assert stripe_client.v1.payment_intents.retrieve(pi.id).status == "requires_payment_method"
