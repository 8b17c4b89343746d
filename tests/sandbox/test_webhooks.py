"""Webhook endpoints and signed delivery, retried against a real receiver on 127.0.0.1."""

import time
from collections.abc import Iterator

import orjson
import pytest
import stripe

from paydesk.sandbox import SandboxConfig, SandboxServer, WebhookEndpointConfig
from tests.sandbox.conftest import ClientFactory
from tests.sandbox.receiver import WebhookReceiver

SECRET = "whsec_test_paydesk"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(fail_first=2) as running:
        yield running


@pytest.fixture
def delivering_sandbox(receiver: WebhookReceiver) -> Iterator[SandboxServer]:
    config = SandboxConfig(
        webhook_endpoints=(WebhookEndpointConfig(url=receiver.url, secret=SECRET),),
        delivery_base_delay_seconds=0.01,
        delivery_max_attempts=5,
    )
    with SandboxServer(config) as server:
        yield server


def test_endpoint_crud(stripe_client: stripe.StripeClient) -> None:
    created = stripe_client.v1.webhook_endpoints.create(
        {
            "url": "http://127.0.0.1:9/hooks",
            "enabled_events": ["payment_intent.succeeded"],
            "description": "shop",
        }
    )

    assert created.id.startswith("we_")
    assert created.secret is not None
    assert created.secret.startswith("whsec_")
    fetched = stripe_client.v1.webhook_endpoints.retrieve(created.id)
    assert "secret" not in fetched
    assert fetched.enabled_events == ["payment_intent.succeeded"]
    listed = stripe_client.v1.webhook_endpoints.list({"limit": 100})
    assert created.id in {endpoint.id for endpoint in listed.data}
    updated = stripe_client.v1.webhook_endpoints.update(created.id, {"disabled": True})
    assert updated.status == "disabled"
    deleted = stripe_client.v1.webhook_endpoints.delete(created.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.webhook_endpoints.retrieve(created.id)


def test_endpoint_needs_url_and_events(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.webhook_endpoints.create({"url": "http://127.0.0.1:9/hooks"})  # type: ignore[typeddict-item]
    assert raised.value.param == "enabled_events"


def test_events_are_delivered_signed_and_retried(
    delivering_sandbox: SandboxServer, receiver: WebhookReceiver, client_for: ClientFactory
) -> None:
    client = client_for(delivering_sandbox.url)
    pi = client.v1.payment_intents.create(
        {"amount": 2000, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True}
    )

    delivered = receiver.wait_for(3)

    assert len(delivered) == 3
    assert receiver.answered[:2] == [500, 500]
    types = set()
    for webhook in delivered:
        header = webhook.headers["Stripe-Signature"]
        assert header.startswith("t=")
        assert ",v1=" in header
        assert webhook.headers["Content-Type"].startswith("application/json")
        payload = webhook.body.decode()
        assert stripe.WebhookSignature.verify_header(payload, header, SECRET, tolerance=300)
        event = stripe.Webhook.construct_event(payload, header, SECRET)
        assert event.data.object["id"] in (pi.id, pi.latest_charge)
        types.add(event.type)
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.WebhookSignature.verify_header(payload, header, "whsec_other", tolerance=300)
    assert types == {"payment_intent.created", "charge.succeeded", "payment_intent.succeeded"}
    # Both refused deliveries were recorded before they were retried and acknowledged.
    attempts = delivering_sandbox.store.delivery_attempts
    assert [a.status for a in attempts].count(500) == 2


def test_enabled_events_choose_what_is_sent(
    delivering_sandbox: SandboxServer, client_for: ClientFactory
) -> None:
    client = client_for(delivering_sandbox.url)
    with WebhookReceiver() as picky:
        client.v1.webhook_endpoints.create(
            {"url": picky.url, "enabled_events": ["payment_intent.succeeded"]}
        )
        client.v1.payment_intents.create(
            {"amount": 2000, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True}
        )
        received = picky.wait_for(1)
        assert [orjson.loads(w.body)["type"] for w in received] == ["payment_intent.succeeded"]


def test_gives_up_after_max_attempts(client_for: ClientFactory) -> None:
    with WebhookReceiver(fail_first=100) as failing:
        config = SandboxConfig(
            webhook_endpoints=(
                WebhookEndpointConfig(
                    url=failing.url, secret=SECRET, enabled_events=("payment_intent.created",)
                ),
            ),
            delivery_base_delay_seconds=0.001,
            delivery_max_attempts=3,
        )
        with SandboxServer(config) as server:
            client = client_for(server.url)
            pi = client.v1.payment_intents.create({"amount": 2000, "currency": "eur"})
            deadline = 200
            while server.store.pending_deliveries and deadline:
                deadline -= 1
                time.sleep(0.01)
            assert not server.store.pending_deliveries
            assert len(failing.answered) == 3
            event = client.v1.events.list({"limit": 1}).data[0]
            assert event.data.object["id"] == pi.id
            assert event.pending_webhooks == 1


def test_deliveries_owed_survive_a_restart(client_for: ClientFactory) -> None:
    with WebhookReceiver(fail_first=1) as flaky:
        endpoint = WebhookEndpointConfig(
            url=flaky.url, secret=SECRET, enabled_events=("payment_intent.created",)
        )
        config = SandboxConfig(
            webhook_endpoints=(endpoint,), delivery_base_delay_seconds=0.5, delivery_max_attempts=3
        )
        server = SandboxServer(config).start()
        try:
            client_for(server.url).v1.payment_intents.create({"amount": 900, "currency": "eur"})
            deadline = time.monotonic() + 5
            while not server.store.delivery_attempts and time.monotonic() < deadline:
                time.sleep(0.01)
            server.stop()
            assert list(server.store.pending_deliveries.values()) == [1]

            server.start()

            assert len(flaky.wait_for(1)) == 1
            assert flaky.answered == [500, 200]
        finally:
            server.stop()
