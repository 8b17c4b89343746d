"""Helpers for the sandbox's own tests: SDK clients that close their connections, waiting."""

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
import stripe

from paydesk.sandbox import SandboxServer

ClientFactory = Callable[..., stripe.StripeClient]
T = TypeVar("T")


@pytest.fixture
def client_for() -> Iterator[ClientFactory]:
    """Build sync SDK clients for any sandbox URL or key; all closed after the test."""
    http_clients: list[stripe.RequestsClient] = []

    def build(
        url: str, api_key: str = "sk_test_sandbox", timeout: float = 80
    ) -> stripe.StripeClient:
        http_client = stripe.RequestsClient(timeout=timeout)
        http_clients.append(http_client)
        return stripe.StripeClient(
            api_key, base_addresses={"api": url}, max_network_retries=0, http_client=http_client
        )

    yield build
    for http_client in http_clients:
        http_client.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def http(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """A plain HTTP client on the shared sandbox, for what the SDK hides."""
    with httpx.Client(base_url=sandbox.url, timeout=10) as client:
        yield client


def form(params: dict[str, Any]) -> Any:
    """Parameters as the SDK sends them, untyped: its TypedDicts lag behind what Stripe takes
    (this API version's PaymentIntentCreateParams has no payment_method_types)."""
    return params


def secret_auth(key: str = "sk_test_sandbox") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def wait_for(probe: Callable[[], T | None], timeout: float = 5.0) -> T:
    """The first answer of `probe` that is not None, asking again until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing after {timeout} s")
        time.sleep(0.02)


def pay(client: stripe.StripeClient, card: str, amount: int = 4200) -> stripe.PaymentIntent:
    """A PaymentIntent confirmed at once with a test card number."""
    params: Any = {
        "amount": amount,
        "currency": "usd",
        "confirm": True,
        "payment_method_data": {
            "type": "card",
            "card": {"number": card, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        },
    }
    return client.v1.payment_intents.create(params)
