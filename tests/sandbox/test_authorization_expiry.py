"""Uncaptured authorizations expire after seven days of the sandbox's clock, as Stripe's do:
the charge is refunded in full (`charge.expired`), the PaymentIntent canceled
(`cancellation_reason: "automatic"`, `payment_intent.canceled`).

The clock moves a week here, so this module has a sandbox of its own."""

import asyncio
from collections.abc import Iterator

import pytest
import stripe

from paydesk.sandbox import SandboxServer
from paydesk.sandbox.authorizations import AUTHORIZATION_WINDOW_SECONDS
from paydesk.sandbox.timers import Scheduler
from tests.sandbox.conftest import ClientFactory, form

WEEK = AUTHORIZATION_WINDOW_SECONDS


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as running:
        yield running


@pytest.fixture
def client(server: SandboxServer, client_for: ClientFactory) -> stripe.StripeClient:
    return client_for(server.url)


def authorize(client: stripe.StripeClient, amount: int = 5000) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(
        form(
            {
                "amount": amount,
                "currency": "usd",
                "payment_method_types": ["card"],
                "capture_method": "manual",
                "payment_method": "pm_card_visa",
                "confirm": True,
            }
        )
    )


def event_types(client: stripe.StripeClient, ids: set[str]) -> list[str]:
    events = client.v1.events.list({"limit": 30}).data
    return [
        event.type for event in reversed(events) if event.data.object.to_dict().get("id") in ids
    ]


def test_an_uncaptured_authorization_expires_after_seven_days(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    pi = authorize(client)
    assert pi.status == "requires_capture"
    charge_id = str(pi.latest_charge)

    server.advance_clock(WEEK - 60)
    assert client.v1.payment_intents.retrieve(pi.id).status == "requires_capture"
    server.advance_clock(60)

    expired = client.v1.payment_intents.retrieve(pi.id)
    assert (expired.status, expired.cancellation_reason) == ("canceled", "automatic")
    assert expired.canceled_at is not None
    assert (expired.amount_capturable, expired.amount_received) == (0, 0)
    charge = client.v1.charges.retrieve(charge_id)
    assert (charge.status, charge.captured, charge.paid) == ("succeeded", False, True)
    assert (charge.refunded, charge.amount_refunded, charge.amount_captured) == (True, 5000, 0)
    assert charge.balance_transaction is None
    assert event_types(client, {pi.id, charge_id}) == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.amount_capturable_updated",
        "charge.expired",
        "payment_intent.canceled",
    ]
    expiry = client.v1.events.list({"type": "charge.expired", "limit": 1}).data[0]
    assert expiry.data.object["id"] == charge_id
    assert expiry.request is not None
    assert expiry.request.id is None

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.capture(pi.id)
    assert raised.value.code == "payment_intent_unexpected_state"


def test_a_capture_in_time_takes_the_timer_away(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    pi = authorize(client, amount=4000)
    waiting = server.app.scheduler.waiting
    server.advance_clock(WEEK / 2)
    captured = client.v1.payment_intents.capture(pi.id, {"amount_to_capture": 3000})
    assert captured.status == "succeeded"
    assert server.app.scheduler.waiting == waiting - 1
    server.advance_clock(WEEK)
    after = client.v1.payment_intents.retrieve(pi.id)
    assert (after.status, after.amount_received) == ("succeeded", 3000)
    charge = client.v1.charges.retrieve(str(pi.latest_charge))
    assert (charge.amount_refunded, charge.refunded) == (1000, False)
    assert "charge.expired" not in event_types(client, {pi.id, charge.id})


def test_a_cancellation_in_time_keeps_its_reason(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    pi = authorize(client, amount=4500)
    client.v1.payment_intents.cancel(pi.id, {"cancellation_reason": "requested_by_customer"})
    server.advance_clock(WEEK + 1)
    after = client.v1.payment_intents.retrieve(pi.id)
    assert (after.status, after.cancellation_reason) == ("canceled", "requested_by_customer")
    assert event_types(client, {pi.id, str(pi.latest_charge)})[-2:] == [
        "charge.refunded",
        "payment_intent.canceled",
    ]


def test_a_restart_neither_expires_it_early_nor_forgets_it(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    pi = authorize(client, amount=4600)
    server.restart()
    assert client.v1.payment_intents.retrieve(pi.id).status == "requires_capture"
    server.advance_clock(WEEK)
    assert client.v1.payment_intents.retrieve(pi.id).cancellation_reason == "automatic"


async def test_what_runs_only_when_due_waits_through_a_stop_and_can_be_canceled() -> None:
    scheduler = Scheduler()
    ran: list[str] = []
    scheduler.later(10, lambda: ran.append("unattached"), only_when_due=True)
    assert ran == []  # not at once, though nothing is serving
    scheduler.attach(asyncio.get_running_loop())
    eager = scheduler.later(5, lambda: ran.append("eager"))
    number = scheduler.later(20, lambda: ran.append("canceled"), only_when_due=True)
    assert number is not None
    assert eager is not None
    assert scheduler.cancel(number) is True
    assert scheduler.cancel(number) is False
    scheduler.detach()
    assert ran == ["eager"]
    assert scheduler.waiting == 1
    scheduler.attach(asyncio.get_running_loop())
    scheduler.advance(10)
    assert ran == ["eager", "unattached"]
    scheduler.detach()
