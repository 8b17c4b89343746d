"""Failure injection: errors, dropped connections and slow answers, by HTTP or Python."""

from collections.abc import Iterator

import httpx
import pytest
import stripe

from paydesk.sandbox import SandboxServer
from tests.sandbox.conftest import ClientFactory


@pytest.fixture(scope="module")
def chaotic() -> Iterator[SandboxServer]:
    """A sandbox of its own, so planned failures never reach other tests."""
    with SandboxServer() as server:
        yield server


@pytest.fixture
def client(chaotic: SandboxServer, client_for: ClientFactory) -> Iterator[stripe.StripeClient]:
    yield client_for(chaotic.url, timeout=2)
    chaotic.chaos.disarm()


def test_error_500_over_http(chaotic: SandboxServer, client: stripe.StripeClient) -> None:
    with httpx.Client(base_url=chaotic.url) as http:
        armed = http.post("/_sandbox/chaos", json={"fail_next_requests": 1, "mode": "error_500"})
    assert armed.status_code == 200

    with pytest.raises(stripe.APIError) as raised:
        client.v1.payment_intents.create({"amount": 2000, "currency": "eur"})

    assert raised.value.http_status == 500
    assert raised.value.error is not None
    assert raised.value.error.type == "api_error"
    assert raised.value.headers is not None
    assert raised.value.headers["Stripe-Should-Retry"] == "false"
    assert client.v1.payment_intents.create({"amount": 2000, "currency": "eur"}).id


def test_error_500_counts_down(chaotic: SandboxServer, client: stripe.StripeClient) -> None:
    chaotic.fail_next_requests(2)
    for _ in range(2):
        with pytest.raises(stripe.APIError):
            client.v1.events.list()
    assert client.v1.events.list() is not None


def test_disconnect(chaotic: SandboxServer, client: stripe.StripeClient) -> None:
    before = len(chaotic.store.payment_intents)
    chaotic.fail_next_requests(1, "disconnect")

    with pytest.raises(stripe.APIConnectionError):
        client.v1.payment_intents.create({"amount": 2000, "currency": "eur"})

    assert len(chaotic.store.payment_intents) == before


def test_disconnect_after_the_work_is_done(
    chaotic: SandboxServer, client: stripe.StripeClient
) -> None:
    """The classic: Stripe did it, the answer was lost; the same key gets the answer."""
    chaotic.fail_next_requests(1, "disconnect_after")
    params = {"amount": 2000, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True}

    with pytest.raises(stripe.APIConnectionError):
        client.v1.payment_intents.create(params, options={"idempotency_key": "lost-answer-1"})  # type: ignore[arg-type]
    replay = client.v1.payment_intents.create(params, options={"idempotency_key": "lost-answer-1"})  # type: ignore[arg-type]

    assert replay.status == "succeeded"
    assert replay.last_response is not None
    assert replay.last_response.headers["Idempotent-Replayed"] == "true"


def test_timeout(chaotic: SandboxServer, client_for: ClientFactory) -> None:
    impatient = client_for(chaotic.url, timeout=0.2)
    with httpx.Client(base_url=chaotic.url) as http:
        http.post(
            "/_sandbox/chaos",
            json={"fail_next_requests": 1, "mode": "timeout", "timeout_seconds": 0.6},
        )

    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.payment_intents.list()

    assert impatient.v1.payment_intents.list() is not None


def test_chaos_control_validates(chaotic: SandboxServer) -> None:
    with httpx.Client(base_url=chaotic.url) as http:
        wrong = http.post("/_sandbox/chaos", json={"fail_next_requests": 1, "mode": "gremlins"})
        health = http.get("/_sandbox/health")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["param"] == "mode"
    assert health.json()["chaos_remaining"] == 0
    assert health.json()["status"] == "ok"
