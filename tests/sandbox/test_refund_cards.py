"""Refunds that take a while or fail later, as Stripe's refund test cards make them."""

from collections.abc import Iterator

import pytest
import stripe

from paydesk.sandbox import SandboxConfig, SandboxServer
from tests.sandbox.conftest import ClientFactory, pay, wait_for

REFUND_EVENTS = ("refund.*", "charge.refund.updated", "charge.refunded")


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(refund_delay_seconds=0.1)) as running:
        yield running


@pytest.fixture
def client(server: SandboxServer, client_for: ClientFactory) -> stripe.StripeClient:
    return client_for(server.url)


def types_for(client: stripe.StripeClient, charge_id: str) -> list[str]:
    """Refund and charge events about one charge, oldest first."""
    listed = client.v1.events.list({"types": list(REFUND_EVENTS), "limit": 100}).data
    about = [(e.type, e.data.object.to_dict()) for e in reversed(listed)]
    return [kind for kind, obj in about if charge_id in (obj.get("charge"), obj["id"])]


def refund_status(client: stripe.StripeClient, refund_id: str, status: str) -> stripe.Refund:
    def probe() -> stripe.Refund | None:
        refund = client.v1.refunds.retrieve(refund_id)
        return refund if refund.status == status else None

    return wait_for(probe)


def test_pending_refund_succeeds_later(client: stripe.StripeClient) -> None:
    pi = pay(client, "4000000000007726", amount=3000)
    charge_id = str(pi.latest_charge)

    refund = client.v1.refunds.create({"payment_intent": pi.id, "amount": 1000})

    assert refund.status == "pending"
    charge = client.v1.charges.retrieve(charge_id)
    assert (charge.amount_refunded, charge.refunded) == (1000, False)
    refund_status(client, refund.id, "succeeded")
    assert types_for(client, charge_id) == [
        "refund.created",
        "charge.refunded",
        "refund.updated",
        "charge.refund.updated",
    ]
    updated = client.v1.events.list({"type": "refund.updated", "limit": 1}).data[0]
    previous = updated.data.previous_attributes
    assert previous is not None
    assert previous.to_dict() == {"status": "pending"}


def test_refund_to_a_closed_card_fails_afterwards(client: stripe.StripeClient) -> None:
    pi = pay(client, "4000000000005126", amount=3000)
    charge_id = str(pi.latest_charge)

    refund = client.v1.refunds.create({"payment_intent": pi.id})

    assert refund.status == "succeeded"
    assert client.v1.charges.retrieve(charge_id).refunded is True
    failed = refund_status(client, refund.id, "failed")
    assert failed.failure_reason == "expired_or_canceled_card"
    assert str(failed.failure_balance_transaction).startswith("txn_")
    charge = client.v1.charges.retrieve(charge_id)
    assert (charge.amount_refunded, charge.refunded) == (0, False)
    assert types_for(client, charge_id) == [
        "refund.created",
        "charge.refunded",
        "refund.updated",
        "charge.refund.updated",
        "refund.failed",
    ]
    again = client.v1.refunds.create({"charge": charge_id, "amount": 3000})
    assert again.amount == 3000


def test_over_refund_counts_pending_refunds(client: stripe.StripeClient) -> None:
    pi = pay(client, "4000000000007726", amount=3000)
    client.v1.refunds.create({"payment_intent": pi.id, "amount": 2500})

    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create({"payment_intent": pi.id, "amount": 501})

    assert (too_much.value.code, too_much.value.param) == ("amount_too_large", "amount")
    client.v1.refunds.create({"payment_intent": pi.id, "amount": 500})
    with pytest.raises(stripe.InvalidRequestError) as done:
        client.v1.refunds.create({"payment_intent": pi.id})
    assert done.value.code == "charge_already_refunded"


def test_refund_metadata_update(client: stripe.StripeClient) -> None:
    pi = pay(client, "4242424242424242")
    refund = client.v1.refunds.create({"payment_intent": pi.id})

    updated = client.v1.refunds.update(refund.id, {"metadata": {"ticket": "9"}})

    assert updated.metadata is not None
    assert updated.metadata.to_dict() == {"ticket": "9"}
    assert types_for(client, str(pi.latest_charge))[-2:] == [
        "refund.updated",
        "charge.refund.updated",
    ]
