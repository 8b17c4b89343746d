"""Refunds of captured payments, whole or in parts, with their events."""

import pytest
import stripe


def paid(client: stripe.StripeClient, amount: int = 5000) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(
        {"amount": amount, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True}
    )


def test_full_refund(stripe_client: stripe.StripeClient) -> None:
    pi = paid(stripe_client)

    refund = stripe_client.v1.refunds.create(
        {"payment_intent": pi.id, "reason": "requested_by_customer", "metadata": {"r": "1"}},
        options={"idempotency_key": f"refund-{pi.id}"},
    )

    assert refund.id.startswith("re_")
    assert (refund.amount, refund.status, refund.charge) == (5000, "succeeded", pi.latest_charge)
    assert refund.payment_intent == pi.id
    charge = stripe_client.v1.charges.retrieve(pi.latest_charge)  # type: ignore[arg-type]
    assert (charge.amount_refunded, charge.refunded) == (5000, True)
    types = [e.type for e in stripe_client.v1.events.list({"limit": 2}).data]
    assert types == ["charge.refunded", "refund.created"]
    with pytest.raises(stripe.InvalidRequestError) as again:
        stripe_client.v1.refunds.create({"payment_intent": pi.id})
    assert again.value.code == "charge_already_refunded"


def test_partial_refunds_up_to_the_amount(stripe_client: stripe.StripeClient) -> None:
    pi = paid(stripe_client)
    stripe_client.v1.refunds.create({"payment_intent": pi.id, "amount": 2000})
    assert isinstance(pi.latest_charge, str)
    stripe_client.v1.refunds.create({"charge": pi.latest_charge, "amount": 1000})

    with pytest.raises(stripe.InvalidRequestError) as too_much:
        stripe_client.v1.refunds.create({"payment_intent": pi.id, "amount": 2001})

    assert too_much.value.code == "amount_too_large"
    assert too_much.value.param == "amount"
    listed = stripe_client.v1.refunds.list({"payment_intent": pi.id})
    assert [r.amount for r in listed.data] == [1000, 2000]
    last = stripe_client.v1.refunds.create({"payment_intent": pi.id})
    assert last.amount == 2000
    assert stripe_client.v1.refunds.retrieve(last.id).amount == 2000


def test_partial_capture_refunds_only_what_was_captured(
    stripe_client: stripe.StripeClient,
) -> None:
    pi = stripe_client.v1.payment_intents.create(
        {
            "amount": 5000,
            "currency": "eur",
            "capture_method": "manual",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    stripe_client.v1.payment_intents.capture(pi.id, {"amount_to_capture": 3000})

    refund = stripe_client.v1.refunds.create({"payment_intent": pi.id})

    assert refund.amount == 3000


def test_only_succeeded_payments_refund(stripe_client: stripe.StripeClient) -> None:
    pi = stripe_client.v1.payment_intents.create({"amount": 5000, "currency": "eur"})
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.refunds.create({"payment_intent": pi.id})
    assert raised.value.param == "payment_intent"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.refunds.create({})
    assert missing.value.code == "parameter_missing"
