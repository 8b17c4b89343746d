"""Helpers for the sandbox's own tests: SDK clients that close their connections."""

from collections.abc import Callable, Iterator

import httpx
import pytest
import stripe

from paydesk.sandbox import SandboxServer

ClientFactory = Callable[..., stripe.StripeClient]


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


def secret_auth(key: str = "sk_test_sandbox") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
