"""Webhook misbehaviour on purpose: duplicated, dropped and late (so reordered) deliveries."""

import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from paydesk.sandbox import SandboxConfig, SandboxServer, WebhookEndpointConfig
from tests.sandbox.conftest import ClientFactory
from tests.sandbox.receiver import WebhookReceiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def server(receiver: WebhookReceiver) -> Iterator[SandboxServer]:
    endpoint = WebhookEndpointConfig(
        url=receiver.url, secret="whsec_chaos", enabled_events=("payment_intent.created",)
    )
    config = SandboxConfig(webhook_endpoints=(endpoint,), delivery_base_delay_seconds=0.01)
    with SandboxServer(config) as running:
        yield running


def event_ids(receiver: WebhookReceiver) -> list[str]:
    return [orjson.loads(webhook.body)["id"] for webhook in receiver.received]


def create_payments(client_for: ClientFactory, server: SandboxServer, count: int) -> None:
    client = client_for(server.url)
    for _ in range(count):
        client.v1.payment_intents.create({"amount": 1000, "currency": "eur"})


def test_duplicate_over_http(
    server: SandboxServer, receiver: WebhookReceiver, client_for: ClientFactory
) -> None:
    armed = httpx.post(
        f"{server.url}/_sandbox/chaos/webhooks", json={"next_deliveries": 1, "mode": "duplicate"}
    )
    assert armed.status_code == 200

    create_payments(client_for, server, 2)

    receiver.wait_for(3)
    ids = event_ids(receiver)
    assert len(ids) == 3
    assert len(set(ids)) == 2


def test_drop(server: SandboxServer, receiver: WebhookReceiver, client_for: ClientFactory) -> None:
    server.misdeliver_next_webhooks(1, "drop")

    create_payments(client_for, server, 2)

    receiver.wait_for(1)
    time.sleep(0.1)
    assert len(receiver.received) == 1
    assert any(a.error == "dropped by webhook chaos" for a in server.store.delivery_attempts)


def test_delay_reorders(
    server: SandboxServer, receiver: WebhookReceiver, client_for: ClientFactory
) -> None:
    server.misdeliver_next_webhooks(1, "delay", delay_seconds=0.3)

    create_payments(client_for, server, 2)

    receiver.wait_for(2)
    first, second = (e["id"] for e in server.store.events.oldest_first(-1))
    assert event_ids(receiver) == [second, first]


def test_webhook_chaos_control_validates(server: SandboxServer) -> None:
    answer = httpx.post(f"{server.url}/_sandbox/chaos/webhooks", json={"mode": "scramble"})
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "mode"
