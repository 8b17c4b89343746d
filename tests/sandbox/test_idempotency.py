"""Idempotency keys: the first answer replayed, other parameters refused, one object per key."""

import asyncio
import uuid

import httpx
import pytest
import stripe

from paydesk.sandbox import SandboxServer
from tests.sandbox.conftest import secret_auth


def test_same_key_same_params_replays(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    key = str(uuid.uuid4())
    params = {"amount": "2500", "currency": "eur", "metadata[order_id]": "i-1"}

    first = http.post(
        "/v1/payment_intents", data=params, headers={**secret_auth(), "Idempotency-Key": key}
    )
    second = http.post(
        "/v1/payment_intents", data=params, headers={**secret_auth(), "Idempotency-Key": key}
    )

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Original-Request"] == first.headers["Request-Id"]
    assert second.headers["Request-Id"] != first.headers["Request-Id"]


def test_sdk_replay_returns_the_same_object(stripe_client: stripe.StripeClient) -> None:
    key = str(uuid.uuid4())
    params = {"amount": 2600, "currency": "eur"}
    first = stripe_client.v1.payment_intents.create(params, options={"idempotency_key": key})  # type: ignore[arg-type]
    second = stripe_client.v1.payment_intents.create(params, options={"idempotency_key": key})  # type: ignore[arg-type]
    assert first.id == second.id


def test_same_key_other_params_is_an_error(stripe_client: stripe.StripeClient) -> None:
    key = str(uuid.uuid4())
    stripe_client.v1.payment_intents.create(
        {"amount": 2500, "currency": "eur"}, options={"idempotency_key": key}
    )

    with pytest.raises(stripe.IdempotencyError) as raised:
        stripe_client.v1.payment_intents.create(
            {"amount": 9900, "currency": "eur"}, options={"idempotency_key": key}
        )

    assert raised.value.http_status == 400
    assert raised.value.error is not None
    assert raised.value.error.type == "idempotency_error"


def test_a_decline_is_replayed_too(stripe_client: stripe.StripeClient) -> None:
    pi = stripe_client.v1.payment_intents.create({"amount": 2500, "currency": "eur"})
    key = str(uuid.uuid4())
    errors = []
    for _ in range(2):
        with pytest.raises(stripe.CardError) as raised:
            stripe_client.v1.payment_intents.confirm(
                pi.id,
                {"payment_method": "pm_card_chargeDeclined"},
                options={"idempotency_key": key},
            )
        errors.append(raised.value)

    assert errors[0].json_body == errors[1].json_body
    charges = stripe_client.v1.charges.list({"payment_intent": pi.id})
    assert len(charges.data) == 1


def test_a_validation_error_is_not_kept(stripe_client: stripe.StripeClient) -> None:
    key = str(uuid.uuid4())
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.payment_intents.create(
            {"currency": "eur"},  # type: ignore[typeddict-item]
            options={"idempotency_key": key},
        )
    pi = stripe_client.v1.payment_intents.create(
        {"currency": "eur"} | {"amount": 700},  # type: ignore[arg-type]
        options={"idempotency_key": key},
    )
    assert pi.amount == 700


async def test_concurrent_requests_with_one_key_make_one_object(sandbox: SandboxServer) -> None:
    key = str(uuid.uuid4())
    data = {
        "amount": "4100",
        "currency": "eur",
        "payment_method": "pm_card_visa",
        "confirm": "true",
    }
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=10) as client:
        sandbox.fail_next_requests(1, "timeout", timeout_seconds=0.3)
        answers = await asyncio.gather(
            *(
                client.post(
                    "/v1/payment_intents",
                    data=data,
                    headers={**secret_auth(), "Idempotency-Key": key},
                )
                for _ in range(8)
            )
        )

    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert sum(answer.headers.get("Idempotent-Replayed") == "true" for answer in answers) == 7
    pi_id = answers[0].json()["id"]
    charges = [c for c in sandbox.store.charges.newest_first() if c["payment_intent"] == pi_id]
    assert len(charges) == 1


def test_keys_are_scoped_to_the_api_key(http: httpx.Client) -> None:
    key = str(uuid.uuid4())
    data = {"amount": "2500", "currency": "eur"}
    first = http.post(
        "/v1/payment_intents",
        data=data,
        headers={**secret_auth("sk_test_one"), "Idempotency-Key": key},
    )
    other = http.post(
        "/v1/payment_intents",
        data=data,
        headers={**secret_auth("sk_test_two"), "Idempotency-Key": key},
    )
    assert first.json()["id"] != other.json()["id"]
