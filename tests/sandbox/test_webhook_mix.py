"""A standing random webhook mix: drops, duplicates and reordering, for convergence tests."""

from collections import Counter
from collections.abc import Iterator
from itertools import pairwise

import httpx
import orjson
import pytest

from paydesk.sandbox import SandboxConfig, SandboxServer, WebhookEndpointConfig
from tests.sandbox.conftest import ClientFactory, wait_for
from tests.sandbox.receiver import WebhookReceiver

DROPPED = "dropped by webhook chaos"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


def endpoint_for(receiver: WebhookReceiver) -> WebhookEndpointConfig:
    return WebhookEndpointConfig(
        url=receiver.url, secret="whsec_mix", enabled_events=("payment_intent.created",)
    )


@pytest.fixture
def server(receiver: WebhookReceiver) -> Iterator[SandboxServer]:
    config = SandboxConfig(
        webhook_endpoints=(endpoint_for(receiver),), delivery_base_delay_seconds=0.01
    )
    with SandboxServer(config) as running:
        yield running


def create_payments(client_for: ClientFactory, server: SandboxServer, count: int) -> list[str]:
    """The ids of the `payment_intent.created` events, in creation order."""
    client = client_for(server.url)
    for _ in range(count):
        client.v1.payment_intents.create({"amount": 1000, "currency": "eur"})
    events = list(server.store.events.oldest_first(-1))
    return [e["id"] for e in events if e["type"] == "payment_intent.created"][-count:]


def settled(server: SandboxServer) -> None:
    wait_for(lambda: True if not server.store.pending_deliveries else None, timeout=10)


def dropped(server: SandboxServer) -> set[str]:
    return {a.event_id for a in server.store.delivery_attempts if a.error == DROPPED}


def arrivals(receiver: WebhookReceiver) -> list[str]:
    return [orjson.loads(webhook.body)["id"] for webhook in receiver.received]


def test_the_mix_drops_duplicates_and_reorders(
    server: SandboxServer, receiver: WebhookReceiver, client_for: ClientFactory
) -> None:
    answer = httpx.post(
        f"{server.url}/_sandbox/chaos/webhooks",
        json={
            "drop_rate": 0.2,
            "duplicate_rate": 0.3,
            "shuffle_window_seconds": 0.5,
            "delay_seconds": [0, 0.1],
            "seed": 42,
        },
    )
    assert answer.status_code == 200
    assert answer.json()["active"] is True

    created = create_payments(client_for, server, 200)
    settled(server)

    lost = dropped(server)
    counts = Counter(arrivals(receiver))
    assert 20 <= len(lost) <= 60
    assert set(counts) == set(created) - lost
    twice = [event_id for event_id, n in counts.items() if n == 2]
    assert set(counts.values()) <= {1, 2}
    assert 0.15 <= len(twice) / len(counts) <= 0.45
    first_arrivals = list(dict.fromkeys(arrivals(receiver)))
    position = {event_id: index for index, event_id in enumerate(created)}
    overtaken = sum(1 for a, b in pairwise(first_arrivals) if position[a] > position[b])
    assert overtaken >= 20
    health = httpx.get(f"{server.url}/_sandbox/health").json()
    assert health["webhook_chaos_mix"]["seed"] == 42
    for event_id in list(lost)[:5]:
        listed = httpx.get(
            f"{server.url}/v1/events/{event_id}", headers={"Authorization": "Bearer sk_test_x"}
        )
        assert listed.status_code == 200


def test_the_same_seed_makes_the_same_choices(
    server: SandboxServer, receiver: WebhookReceiver, client_for: ClientFactory
) -> None:
    choices: list[list[bool]] = []
    for _ in range(2):
        server.mix_webhooks(drop_rate=0.5, seed=7)
        created = create_payments(client_for, server, 30)
        settled(server)
        lost = dropped(server)
        choices.append([event_id in lost for event_id in created])
    assert choices[0] == choices[1]
    assert 5 <= sum(choices[0]) <= 25


def test_delete_turns_it_off(
    server: SandboxServer, receiver: WebhookReceiver, client_for: ClientFactory
) -> None:
    server.mix_webhooks(drop_rate=1.0)
    create_payments(client_for, server, 3)
    settled(server)
    assert receiver.received == []

    assert httpx.delete(f"{server.url}/_sandbox/chaos/webhooks").status_code == 200
    created = create_payments(client_for, server, 5)

    receiver.wait_for(5)
    settled(server)
    assert sorted(arrivals(receiver)) == sorted(created)
    assert httpx.get(f"{server.url}/_sandbox/health").json()["webhook_chaos_mix"] is None


def test_all_zero_turns_it_off(server: SandboxServer) -> None:
    server.mix_webhooks(duplicate_rate=1.0)
    answer = httpx.post(f"{server.url}/_sandbox/chaos/webhooks", json={"drop_rate": 0})
    assert answer.json()["active"] is False
    assert server.webhook_chaos.mix is None


def test_from_the_config(receiver: WebhookReceiver, client_for: ClientFactory) -> None:
    config = SandboxConfig(
        webhook_endpoints=(endpoint_for(receiver),),
        webhook_drop_rate=1.0,
        webhook_chaos_seed=1,
    )
    with SandboxServer(config) as server:
        created = create_payments(client_for, server, 3)
        settled(server)
        assert dropped(server) == set(created)
    assert receiver.received == []


@pytest.mark.parametrize(
    "body",
    [
        {"drop_rate": 1.5},
        {"duplicate_rate": "often"},
        {"delay_seconds": [2, 1]},
        {"shuffle_window_seconds": -1},
        {"drop_rate": 0.1, "seed": "x"},
    ],
)
def test_the_mix_is_validated(server: SandboxServer, body: dict[str, object]) -> None:
    answer = httpx.post(f"{server.url}/_sandbox/chaos/webhooks", json=body)
    assert answer.status_code == 400
    assert server.webhook_chaos.mix is None
