"""Disputes as Stripe's test cards make them, answered with evidence and closed."""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import stripe

from paydesk.sandbox import SandboxConfig, SandboxServer, WebhookEndpointConfig
from paydesk.sandbox.errors import StripeError
from tests.sandbox.conftest import ClientFactory, pay, wait_for
from tests.sandbox.receiver import WebhookReceiver

FIXTURES: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "data" / "stripe_fixtures.json").read_text()
)
DISPUTE_EVENTS = "charge.dispute.*"


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def server(receiver: WebhookReceiver) -> Iterator[SandboxServer]:
    endpoint = WebhookEndpointConfig(
        url=receiver.url,
        secret="whsec_disputes",
        enabled_events=("charge.dispute.created", "charge.dispute.funds_withdrawn"),
    )
    config = SandboxConfig(webhook_endpoints=(endpoint,), dispute_delay_seconds=0.05)
    with SandboxServer(config) as running:
        yield running


@pytest.fixture
def client(server: SandboxServer, client_for: ClientFactory) -> stripe.StripeClient:
    return client_for(server.url)


def dispute_of(client: stripe.StripeClient, pi: stripe.PaymentIntent) -> stripe.Dispute:
    def probe() -> stripe.Dispute | None:
        listed = client.v1.disputes.list({"payment_intent": pi.id}).data
        return listed[0] if listed else None

    return wait_for(probe)


def events_of(client: stripe.StripeClient, object_id: str) -> list[stripe.Event]:
    """The object's events, oldest first."""
    listed = client.v1.events.list({"type": DISPUTE_EVENTS, "limit": 100}).data
    return [e for e in reversed(listed) if e.data.object["id"] == object_id]


def types_of(client: stripe.StripeClient, object_id: str) -> list[str]:
    return [e.type for e in events_of(client, object_id)]


def raw(server: SandboxServer, path: str) -> dict[str, Any]:
    answer = httpx.get(f"{server.url}{path}", headers={"Authorization": "Bearer sk_test_x"})
    body: dict[str, Any] = answer.json()
    return body


def test_fraudulent_card_is_disputed_after_the_charge(
    server: SandboxServer, client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    pi = pay(client, "4000000000000259")
    assert pi.status == "succeeded"

    dispute = dispute_of(client, pi)

    assert dispute.id.startswith("dp_")
    assert (dispute.status, dispute.reason, dispute.amount) == (
        "needs_response",
        "fraudulent",
        4200,
    )
    assert (dispute.charge, dispute.payment_intent, dispute.currency) == (
        pi.latest_charge,
        pi.id,
        "usd",
    )
    assert (dispute.evidence_details.due_by or 0) > time.time()
    [withdrawal] = dispute.balance_transactions
    assert (withdrawal.amount, withdrawal.fee, withdrawal.currency) == (-4200, 1500, "usd")
    assert withdrawal.net == -5700
    assert wait_for(lambda: types_of(client, dispute.id) or None) == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
    ]
    charge = client.v1.charges.retrieve(pi.latest_charge)  # type: ignore[arg-type]
    assert charge.disputed is True
    assert client.v1.disputes.retrieve(dispute.id).id == dispute.id

    delivered = wait_for(
        lambda: (
            [
                body["type"]
                for body in (orjson.loads(w.body) for w in receiver.received)
                if body["data"]["object"]["id"] == dispute.id
            ]
            or None
        )
    )
    assert set(delivered) <= {"charge.dispute.created", "charge.dispute.funds_withdrawn"}


def test_dispute_has_stripes_shape(server: SandboxServer, client: stripe.StripeClient) -> None:
    pi = pay(client, "4000000000000259")
    dispute = raw(server, f"/v1/disputes/{dispute_of(client, pi).id}")
    fixture = FIXTURES["dispute"]

    assert set(dispute) == set(fixture)
    for path in (
        ("evidence",),
        ("evidence_details",),
        ("payment_method_details",),
        ("payment_method_details", "card"),
    ):
        node, expected = dispute, fixture
        for part in path:
            node, expected = node[part], expected[part]
        assert set(node) == set(expected), path
    [event] = [e for e in events_of(client, dispute["id"]) if e.type == "charge.dispute.created"]
    assert set(raw(server, f"/v1/events/{event.id}")) == set(FIXTURES["event"])


def test_won_dispute_reinstates_the_funds(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    dispute = dispute_of(client, pay(client, "4000000000000259"))

    closed = httpx.post(
        f"{server.url}/_sandbox/disputes/{dispute.id}/close", json={"outcome": "won"}
    )

    assert closed.status_code == 200
    assert closed.json()["status"] == "won"
    withdrawal, reinstatement = closed.json()["balance_transactions"]
    assert (withdrawal["amount"], reinstatement["amount"]) == (-4200, 4200)
    assert types_of(client, dispute.id)[2:] == [
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
    ]
    again = httpx.post(
        f"{server.url}/_sandbox/disputes/{dispute.id}/close", json={"outcome": "lost"}
    )
    assert again.status_code == 400


def test_lost_dispute_only_closes(server: SandboxServer, client: stripe.StripeClient) -> None:
    dispute = dispute_of(client, pay(client, "4000000000000259"))

    lost = server.close_dispute(dispute.id, "lost")

    assert lost["status"] == "lost"
    assert types_of(client, dispute.id)[2:] == ["charge.dispute.closed"]
    with pytest.raises(StripeError, match="already closed"):
        server.close_dispute(dispute.id, "won")


def test_evidence_then_submission(server: SandboxServer, client: stripe.StripeClient) -> None:
    dispute = dispute_of(client, pay(client, "4000000000000259"))

    updated = client.v1.disputes.update(
        dispute.id,
        {
            "evidence": {"customer_name": "Ada", "uncategorized_text": "signed for"},
            "metadata": {"case": "7"},
        },
    )
    assert updated.status == "needs_response"
    assert updated.evidence.customer_name == "Ada"
    assert updated.evidence_details.has_evidence is True
    assert updated.metadata.to_dict() == {"case": "7"}

    submitted = client.v1.disputes.update(dispute.id, {"submit": True})

    assert submitted.status == "under_review"
    assert submitted.evidence_details.submission_count == 1
    events = events_of(client, dispute.id)
    assert [e.type for e in events][2:] == ["charge.dispute.updated", "charge.dispute.updated"]
    previous = events[-1].data.previous_attributes
    assert previous is not None
    assert previous["status"] == "needs_response"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.update(dispute.id, {"evidence": {"receipt": "file_1"}})
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.disputes.update(dispute.id, {"evidence": {"mood": "x"}})  # type: ignore[arg-type]
    assert unknown.value.param == "evidence[mood]"


def test_accepting_a_dispute_loses_it(server: SandboxServer, client: stripe.StripeClient) -> None:
    dispute = dispute_of(client, pay(client, "4000000000000259"))

    accepted = client.v1.disputes.close(dispute.id)

    assert accepted.status == "lost"
    assert types_of(client, dispute.id)[-1] == "charge.dispute.closed"


def test_inquiry_card(server: SandboxServer, client: stripe.StripeClient) -> None:
    pi = pay(client, "4000000000001976")
    inquiry = dispute_of(client, pi)

    assert inquiry.status == "warning_needs_response"
    assert inquiry.balance_transactions == []
    assert inquiry.payment_method_details.card.case_type == "inquiry"  # type: ignore[union-attr]
    assert wait_for(lambda: types_of(client, inquiry.id) or None) == ["charge.dispute.created"]
    assert client.v1.disputes.update(inquiry.id, {"submit": True}).status == (
        "warning_under_review"
    )
    closed = server.close_dispute(inquiry.id, "won")
    assert closed["status"] == "warning_closed"
    assert types_of(client, inquiry.id)[-1] == "charge.dispute.closed"
    refund = client.v1.refunds.create({"payment_intent": pi.id})
    assert refund.status == "succeeded"


def test_product_not_received_card(server: SandboxServer, client: stripe.StripeClient) -> None:
    dispute = dispute_of(client, pay(client, "4000000000002685"))
    assert (dispute.status, dispute.reason) == ("needs_response", "product_not_received")


def test_dispute_any_charge_on_demand(server: SandboxServer, client: stripe.StripeClient) -> None:
    pi = pay(client, "4242424242424242", amount=9000)

    answer = httpx.post(
        f"{server.url}/_sandbox/charges/{pi.latest_charge}/dispute",
        json={"reason": "duplicate", "amount": 3000},
    )

    assert answer.status_code == 200
    dispute = answer.json()
    assert (dispute["status"], dispute["reason"], dispute["amount"]) == (
        "needs_response",
        "duplicate",
        3000,
    )
    assert types_of(client, dispute["id"]) == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
    ]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create({"payment_intent": pi.id})
    assert refused.value.code == "charge_disputed"
    twice = httpx.post(f"{server.url}/_sandbox/charges/{pi.latest_charge}/dispute")
    assert twice.status_code == 400
    other = pay(client, "4242424242424242")
    made = server.dispute_charge(other.latest_charge, inquiry=True)  # type: ignore[arg-type]
    assert made["status"] == "warning_needs_response"


def test_list_filters(server: SandboxServer, client: stripe.StripeClient) -> None:
    first = dispute_of(client, pay(client, "4000000000000259"))
    second = dispute_of(client, pay(client, "4000000000000259"))

    by_charge = client.v1.disputes.list({"charge": str(second.charge)})
    assert [d.id for d in by_charge.data] == [second.id]
    recent = client.v1.disputes.list({"created": {"gte": first.created}, "limit": 100})
    assert {first.id, second.id} <= {d.id for d in recent.data}
    assert client.v1.disputes.list({"created": {"lt": first.created}, "limit": 100}).data == [
        d for d in client.v1.disputes.list({"limit": 100}).data if d.created < first.created
    ]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.retrieve("dp_missing")
