"""PaymentIntents through the official SDK over real HTTP: Stripe's state machine."""

import uuid
from typing import Any

import pytest
import stripe

from paydesk.sandbox import SandboxServer


def create(client: stripe.StripeClient, **params: object) -> stripe.PaymentIntent:
    body: Any = {"amount": 2000, "currency": "eur", **params}
    return client.v1.payment_intents.create(
        body,
        options={"idempotency_key": str(uuid.uuid4())},
    )


def test_visa_succeeds_with_a_captured_charge(stripe_client: stripe.StripeClient) -> None:
    pi = create(
        stripe_client, payment_method="pm_card_visa", confirm=True, metadata={"order_id": "o-1"}
    )

    assert pi.status == "succeeded"
    assert pi.amount_received == 2000
    assert pi.amount_capturable == 0
    assert isinstance(pi.payment_method, str)
    assert pi.payment_method.startswith("pm_")
    assert pi.client_secret is not None
    assert pi.client_secret.startswith(f"{pi.id}_secret_")
    charge = stripe_client.v1.charges.retrieve(pi.latest_charge)  # type: ignore[arg-type]
    assert charge.status == "succeeded"
    assert charge.captured is True
    assert charge.amount_captured == 2000
    assert charge.payment_intent == pi.id
    assert charge.metadata.to_dict() == {"order_id": "o-1"}
    assert charge.payment_method_details.card.last4 == "4242"  # type: ignore[union-attr]


def test_create_then_confirm(stripe_client: stripe.StripeClient) -> None:
    pi = create(stripe_client)
    assert pi.status == "requires_payment_method"

    confirmed = stripe_client.v1.payment_intents.confirm(
        pi.id,
        {"payment_method": "pm_card_mastercard"},
        options={"idempotency_key": str(uuid.uuid4())},
    )

    assert confirmed.status == "succeeded"
    got = stripe_client.v1.payment_intents.retrieve(pi.id)
    assert got.status == "succeeded"
    assert got.latest_charge == confirmed.latest_charge


def test_card_details_through_payment_method_data(stripe_client: stripe.StripeClient) -> None:
    pi = create(stripe_client)
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
    params: Any = {"payment_method_data": {"type": "card", "card": card}}
    confirmed = stripe_client.v1.payment_intents.confirm(pi.id, params)

    assert confirmed.status == "succeeded"
    pm = stripe_client.v1.payment_methods.retrieve(confirmed.payment_method)  # type: ignore[arg-type]
    assert pm.card is not None
    assert (pm.card.brand, pm.card.last4, pm.card.exp_month, pm.card.exp_year) == (
        "visa",
        "4242",
        12,
        2031,
    )
    assert "4242424242424242" not in str(pm)


def test_payment_method_create_and_retrieve(stripe_client: stripe.StripeClient) -> None:
    pm = stripe_client.v1.payment_methods.create(
        {
            "type": "card",
            "card": {"number": "5555555555554444", "exp_month": 1, "exp_year": 2030, "cvc": "314"},
        }
    )

    assert pm.id.startswith("pm_")
    assert pm.card is not None
    assert pm.card.brand == "mastercard"
    assert stripe_client.v1.payment_methods.retrieve(pm.id).id == pm.id


@pytest.mark.parametrize(
    ("payment_method", "code", "decline_code"),
    [
        ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_chargeDeclinedLostCard", "card_declined", "lost_card"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"),
    ],
)
def test_declines(
    stripe_client: stripe.StripeClient, payment_method: str, code: str, decline_code: str
) -> None:
    pi = create(stripe_client)
    with pytest.raises(stripe.CardError) as raised:
        stripe_client.v1.payment_intents.confirm(pi.id, {"payment_method": payment_method})

    error = raised.value
    assert error.http_status == 402
    assert error.code == code
    assert error.error is not None
    assert error.error.decline_code == decline_code
    assert error.error.payment_intent is not None
    assert error.error.payment_intent.id == pi.id
    assert error.error.payment_intent.status == "requires_payment_method"
    assert error.request_id is not None
    got = stripe_client.v1.payment_intents.retrieve(pi.id)
    assert got.status == "requires_payment_method"
    assert got.last_payment_error is not None
    assert got.last_payment_error.code == code
    assert got.last_payment_error.decline_code == decline_code
    assert got.payment_method is None
    charge = stripe_client.v1.charges.retrieve(got.latest_charge)  # type: ignore[arg-type]
    assert charge.status == "failed"
    assert charge.failure_code == code


@pytest.mark.parametrize(
    ("number", "code", "decline_code"),
    [
        ("4000000000000002", "card_declined", "generic_decline"),
        ("4000000000009995", "card_declined", "insufficient_funds"),
        ("4000000000009987", "card_declined", "lost_card"),
        ("4000000000000069", "expired_card", "expired_card"),
    ],
)
def test_declining_card_numbers(
    stripe_client: stripe.StripeClient, number: str, code: str, decline_code: str
) -> None:
    pi = create(stripe_client)
    card = {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}
    confirm: Any = {"payment_method_data": {"type": "card", "card": card}}
    with pytest.raises(stripe.CardError) as raised:
        stripe_client.v1.payment_intents.confirm(pi.id, confirm)

    assert raised.value.code == code
    assert raised.value.error is not None
    assert raised.value.error.decline_code == decline_code


def test_a_declined_intent_can_be_retried_with_another_card(
    stripe_client: stripe.StripeClient,
) -> None:
    pi = create(stripe_client)
    with pytest.raises(stripe.CardError):
        stripe_client.v1.payment_intents.confirm(
            pi.id, {"payment_method": "pm_card_chargeDeclined"}
        )

    retried = stripe_client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_visa"})

    assert retried.status == "succeeded"
    assert retried.last_payment_error is None
    charges = stripe_client.v1.charges.list({"payment_intent": pi.id})
    assert [c.status for c in charges.data] == ["succeeded", "failed"]


def test_a_number_failing_luhn_is_incorrect(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.CardError) as raised:
        stripe_client.v1.payment_methods.create(
            {
                "type": "card",
                "card": {"number": "4242424242424241", "exp_month": 1, "exp_year": 2030},
            }
        )

    assert raised.value.code == "incorrect_number"
    assert raised.value.param == "number"


def test_unknown_valid_number_succeeds(stripe_client: stripe.StripeClient) -> None:
    pi = create(
        stripe_client,
        confirm=True,
        payment_method_data={
            "type": "card",
            "card": {"number": "4111111111111111", "exp_month": 3, "exp_year": 2032},
        },
    )
    assert pi.status == "succeeded"


def test_manual_capture_partial_releases_the_rest(stripe_client: stripe.StripeClient) -> None:
    pi = create(
        stripe_client,
        amount=5000,
        capture_method="manual",
        payment_method="pm_card_visa",
        confirm=True,
    )
    assert pi.status == "requires_capture"
    assert pi.amount_capturable == 5000
    assert pi.amount_received == 0

    with pytest.raises(stripe.InvalidRequestError) as too_much:
        stripe_client.v1.payment_intents.capture(pi.id, {"amount_to_capture": 6000})
    assert too_much.value.code == "amount_too_large"

    captured = stripe_client.v1.payment_intents.capture(
        pi.id, {"amount_to_capture": 3000}, options={"idempotency_key": str(uuid.uuid4())}
    )

    assert captured.status == "succeeded"
    assert captured.amount_received == 3000
    assert captured.amount_capturable == 0
    charge = stripe_client.v1.charges.retrieve(captured.latest_charge)  # type: ignore[arg-type]
    assert (charge.captured, charge.amount_captured, charge.amount_refunded) == (True, 3000, 2000)
    with pytest.raises(stripe.InvalidRequestError) as twice:
        stripe_client.v1.payment_intents.capture(pi.id)
    assert twice.value.code == "payment_intent_unexpected_state"


def test_cancel_an_authorization(stripe_client: stripe.StripeClient) -> None:
    pi = create(stripe_client, capture_method="manual", payment_method="pm_card_visa", confirm=True)

    canceled = stripe_client.v1.payment_intents.cancel(
        pi.id, {"cancellation_reason": "requested_by_customer"}
    )

    assert canceled.status == "canceled"
    assert canceled.cancellation_reason == "requested_by_customer"
    assert canceled.canceled_at is not None
    assert canceled.amount_capturable == 0
    charge = stripe_client.v1.charges.retrieve(canceled.latest_charge)  # type: ignore[arg-type]
    assert charge.refunded is True
    with pytest.raises(stripe.InvalidRequestError) as again:
        stripe_client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_visa"})
    assert again.value.code == "payment_intent_unexpected_state"


def test_cancel_is_refused_once_succeeded(stripe_client: stripe.StripeClient) -> None:
    pi = create(stripe_client, payment_method="pm_card_visa", confirm=True)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.cancel(pi.id)

    assert raised.value.http_status == 400
    assert raised.value.code == "payment_intent_unexpected_state"
    assert "succeeded" in str(raised.value.user_message)


def test_confirm_twice_is_refused(stripe_client: stripe.StripeClient) -> None:
    pi = create(stripe_client, payment_method="pm_card_visa", confirm=True)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.confirm(pi.id)
    assert raised.value.code == "payment_intent_unexpected_state"


def test_update_while_open_and_after_success(stripe_client: stripe.StripeClient) -> None:
    pi = create(stripe_client, metadata={"a": "1", "b": "2"})

    updated = stripe_client.v1.payment_intents.update(
        pi.id, {"amount": 4500, "description": "two mugs", "metadata": {"b": "", "c": "3"}}
    )

    assert updated.amount == 4500
    assert updated.description == "two mugs"
    assert updated.metadata.to_dict() == {"a": "1", "c": "3"}
    done = stripe_client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_visa"})
    assert done.amount_received == 4500
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.update(pi.id, {"amount": 100})
    assert raised.value.code == "payment_intent_unexpected_state"
    # Stripe still accepts metadata on a finished payment.
    tagged = stripe_client.v1.payment_intents.update(pi.id, {"metadata": {"shipped": "yes"}})
    assert tagged.metadata["shipped"] == "yes"


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"currency": "eur"}, "parameter_missing", "amount"),
        ({"amount": 2000}, "parameter_missing", "currency"),
        ({"amount": 10, "currency": "usd"}, "amount_too_small", "amount"),
        ({"amount": "ten", "currency": "usd"}, "parameter_invalid_integer", "amount"),
        ({"amount": 2000, "currency": "xyz"}, None, "currency"),
        ({"amount": 2000, "currency": "eur", "capture_method": "later"}, None, "capture_method"),
        ({"amount": 2000, "currency": "eur", "colour": "red"}, "parameter_unknown", "colour"),
    ],
)
def test_create_validation(
    stripe_client: stripe.StripeClient, params: dict[str, object], code: str | None, param: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.create(params)  # type: ignore[arg-type]

    assert raised.value.http_status == 400
    assert raised.value.code == code
    assert raised.value.param == param


def test_confirm_without_a_payment_method(stripe_client: stripe.StripeClient) -> None:
    pi = create(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.confirm(pi.id)
    assert raised.value.code == "payment_intent_unexpected_state"
    assert raised.value.param == "payment_method"


def test_missing_objects_are_404(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.retrieve("pi_doesnotexist")
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.charges.retrieve("ch_doesnotexist")
    with pytest.raises(stripe.InvalidRequestError) as pm:
        create(stripe_client, payment_method="pm_nope", confirm=True)
    assert pm.value.param == "payment_method"


def test_expand_latest_charge_and_payment_method(stripe_client: stripe.StripeClient) -> None:
    pi = create(stripe_client, payment_method="pm_card_visa", confirm=True)

    got = stripe_client.v1.payment_intents.retrieve(
        pi.id, {"expand": ["latest_charge", "payment_method"]}
    )

    assert isinstance(got.latest_charge, stripe.Charge)
    assert isinstance(got.payment_method, stripe.PaymentMethod)


def test_list_paginates_newest_first(stripe_client: stripe.StripeClient) -> None:
    client = stripe_client
    ids = [create(client, amount=1000 + i).id for i in range(5)]
    newest_first = list(reversed(ids))

    page = client.v1.payment_intents.list({"limit": 2})
    assert [pi.id for pi in page.data] == newest_first[:2]
    assert page.has_more is True
    assert page.url == "/v1/payment_intents"
    second = client.v1.payment_intents.list({"limit": 2, "starting_after": page.data[-1].id})
    assert [pi.id for pi in second.data] == newest_first[2:4]
    back = client.v1.payment_intents.list({"limit": 2, "ending_before": second.data[0].id})
    assert [pi.id for pi in back.data] == newest_first[:2]
    seen = [pi.id for pi in client.v1.payment_intents.list({"limit": 3}).auto_paging_iter()]
    assert seen[:5] == newest_first


async def test_async_client_as_paydesk_uses_it(sandbox: SandboxServer) -> None:
    http_client = stripe.AIOHTTPClient()
    client = stripe.StripeClient(
        "sk_test_sandbox",
        base_addresses={"api": sandbox.url},
        http_client=http_client,
        max_network_retries=2,
    )
    try:
        pi = await client.v1.payment_intents.create_async(
            {"amount": 1500, "currency": "usd", "metadata": {"order_id": "async-1"}},
            options={"idempotency_key": f"create-{uuid.uuid4()}"},
        )
        confirmed = await client.v1.payment_intents.confirm_async(
            pi.id,
            {"payment_method": "pm_card_visa"},
            options={"idempotency_key": f"confirm-{uuid.uuid4()}"},
        )
        events = await client.v1.events.list_async({"type": "payment_intent.succeeded", "limit": 5})
    finally:
        await http_client.close_async()  # type: ignore[no-untyped-call]

    assert confirmed.status == "succeeded"
    assert any(e.data.object["id"] == pi.id for e in events.data)


def test_create_and_confirm_without_a_payment_method_creates_nothing(
    stripe_client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    before = len(sandbox.store.payment_intents)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.create({"amount": 800, "currency": "eur", "confirm": True})
    assert raised.value.code == "payment_intent_unexpected_state"
    assert len(sandbox.store.payment_intents) == before


def test_list_filters_by_created(stripe_client: stripe.StripeClient) -> None:
    pi = create(stripe_client)
    assert pi.id in {
        p.id for p in stripe_client.v1.payment_intents.list({"created": {"gte": pi.created}}).data
    }
    assert stripe_client.v1.payment_intents.list({"created": {"lt": pi.created - 3600}}).data == []
    assert stripe_client.v1.charges.list({"created": {"gt": pi.created + 3600}}).data == []
