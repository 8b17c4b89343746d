"""The sandbox charges in zero-, two- and three-decimal currencies as Stripe does: each with
its minimum and maximum, three-decimal amounts only when they end in 0."""

import uuid

import pytest
import stripe


def create(client: stripe.StripeClient, amount: int, currency: str) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(
        {"amount": amount, "currency": currency, "payment_method": "pm_card_visa"},
        options={"idempotency_key": str(uuid.uuid4())},
    )


@pytest.mark.parametrize(("amount", "currency"), [(2500, "kwd"), (200, "bhd"), (50, "krw")])
def test_charges_in_three_and_zero_decimal_currencies(
    stripe_client: stripe.StripeClient, amount: int, currency: str
) -> None:
    intent = create(stripe_client, amount, currency)
    done = stripe_client.v1.payment_intents.confirm(intent.id)
    assert (done.status, done.amount_received, done.currency) == ("succeeded", amount, currency)


@pytest.mark.parametrize(
    ("amount", "currency", "code", "message"),
    [
        (2505, "kwd", "invalid_charge_amount", "Amounts in kwd must be a multiple of 10"),
        (190, "kwd", "amount_too_small", "Amount must be at least 0.200 kwd"),
        (49, "krw", "amount_too_small", "Amount must be at least 50 krw"),
        (49, "usd", "amount_too_small", "Amount must be at least $0.50 usd"),
        (100_000_000, "usd", "amount_too_large", "Amount must be no more than $999,999.99 usd"),
        (150, "isk", "invalid_charge_amount", "Amounts in isk must be a multiple of 100"),
    ],
)
def test_amounts_stripe_refuses(
    stripe_client: stripe.StripeClient, amount: int, currency: str, code: str, message: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        create(stripe_client, amount, currency)
    assert (raised.value.code, raised.value.param) == (code, "amount")
    assert raised.value.user_message is not None
    assert raised.value.user_message.startswith(message)


def test_updates_captures_and_refunds_keep_the_last_digit_zero(
    stripe_client: stripe.StripeClient,
) -> None:
    intent = create(stripe_client, 2500, "kwd")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.update(intent.id, {"amount": 2501})
    assert raised.value.code == "invalid_charge_amount"
    held = stripe_client.v1.payment_intents.create(
        {
            "amount": 2500,
            "currency": "kwd",
            "payment_method": "pm_card_visa",
            "capture_method": "manual",
            "confirm": True,
        }
    )
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.capture(held.id, {"amount_to_capture": 1255})
    assert (raised.value.code, raised.value.param) == ("invalid_charge_amount", "amount_to_capture")
    captured = stripe_client.v1.payment_intents.capture(held.id, {"amount_to_capture": 1250})
    assert captured.amount_received == 1250
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.refunds.create({"payment_intent": held.id, "amount": 125})
    assert (raised.value.code, raised.value.param) == ("invalid_charge_amount", "amount")
    refund = stripe_client.v1.refunds.create({"payment_intent": held.id, "amount": 120})
    assert (refund.amount, refund.currency) == (120, "kwd")
