"""SandboxServer: a free port, a context manager, and restarts that keep every object."""

import socket

import httpx
import pytest
import stripe

from paydesk.sandbox import SandboxServer, SandboxStore
from tests.sandbox.conftest import ClientFactory


def test_port_zero_picks_a_free_port_on_loopback() -> None:
    with SandboxServer() as server:
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert httpx.get(f"{server.url}/_sandbox/health").json()["status"] == "ok"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/_sandbox/health")


def test_port_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        _ = SandboxServer().port


def test_restart_on_the_same_port_keeps_state(client_for: ClientFactory) -> None:
    server = SandboxServer().start()
    try:
        client = client_for(server.url)
        pi = client.v1.payment_intents.create(
            {
                "amount": 2000,
                "currency": "eur",
                "capture_method": "manual",
                "payment_method": "pm_card_visa",
                "confirm": True,
            },
            options={"idempotency_key": "restart-1"},
        )
        port = server.port
        server.stop()
        with pytest.raises(stripe.APIConnectionError):
            client.v1.payment_intents.retrieve(pi.id)

        server.start()

        assert server.port == port
        assert client.v1.payment_intents.retrieve(pi.id).status == "requires_capture"
        captured = client.v1.payment_intents.capture(pi.id)
        assert captured.status == "succeeded"
        replay = client.v1.payment_intents.create(
            {
                "amount": 2000,
                "currency": "eur",
                "capture_method": "manual",
                "payment_method": "pm_card_visa",
                "confirm": True,
            },
            options={"idempotency_key": "restart-1"},
        )
        assert replay.id == pi.id
        server.restart()
        assert client.v1.events.list({"limit": 1}).data[0].type == "payment_intent.succeeded"
    finally:
        server.stop()


def test_a_store_can_be_shared_by_servers(client_for: ClientFactory) -> None:
    store = SandboxStore()
    with SandboxServer(store=store) as first:
        pi = client_for(first.url).v1.payment_intents.create({"amount": 700, "currency": "eur"})
    with SandboxServer(store=store) as second:
        assert client_for(second.url).v1.payment_intents.retrieve(pi.id).amount == 700


def test_a_busy_port_is_an_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match="in use"):
            SandboxServer(port=taken.getsockname()[1]).start()
