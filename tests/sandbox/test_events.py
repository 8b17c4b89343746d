"""Events: one per change, with a snapshot of the object, listed and filtered like Stripe."""

import contextlib
import time
import uuid
from typing import Any

import pytest
import stripe


def test_a_payment_records_its_events(stripe_client: stripe.StripeClient) -> None:
    key = str(uuid.uuid4())
    pi = stripe_client.v1.payment_intents.create(
        {"amount": 1200, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True},
        options={"idempotency_key": key},
    )

    events = [
        e
        for e in stripe_client.v1.events.list({"limit": 10}).data
        if e.data.object["id"] in (pi.id, pi.latest_charge)
    ]

    assert [e.type for e in reversed(events)] == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]
    created, _, succeeded = reversed(events)
    assert created.data.object["status"] == "requires_confirmation"
    assert succeeded.data.object["status"] == "succeeded"
    assert succeeded.request is not None
    assert succeeded.request.idempotency_key == key
    assert succeeded.request.id is not None
    assert succeeded.request.id.startswith("req_")
    assert succeeded.livemode is False
    assert succeeded.api_version
    assert stripe_client.v1.events.retrieve(succeeded.id).id == succeeded.id


@pytest.mark.parametrize(
    ("payment_method", "capture_method", "types"),
    [
        ("pm_card_chargeDeclined", "automatic", ["charge.failed", "payment_intent.payment_failed"]),
        (
            "pm_card_visa",
            "manual",
            ["charge.succeeded", "payment_intent.amount_capturable_updated"],
        ),
        ("pm_card_authenticationRequired", "automatic", ["payment_intent.requires_action"]),
    ],
)
def test_event_types_per_outcome(
    stripe_client: stripe.StripeClient,
    payment_method: str,
    capture_method: str,
    types: list[str],
) -> None:
    body: Any = {"amount": 1200, "currency": "eur", "capture_method": capture_method}
    pi = stripe_client.v1.payment_intents.create(body)
    with contextlib.suppress(stripe.CardError):
        stripe_client.v1.payment_intents.confirm(pi.id, {"payment_method": payment_method})
    events = stripe_client.v1.events.list({"limit": len(types)}).data
    assert [e.type for e in reversed(events)] == types


def test_capture_and_cancel_events(stripe_client: stripe.StripeClient) -> None:
    pi = stripe_client.v1.payment_intents.create(
        {
            "amount": 1200,
            "currency": "eur",
            "capture_method": "manual",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    stripe_client.v1.payment_intents.capture(pi.id)
    assert [e.type for e in stripe_client.v1.events.list({"limit": 2}).data] == [
        "payment_intent.succeeded",
        "charge.captured",
    ]
    other = stripe_client.v1.payment_intents.create({"amount": 1200, "currency": "eur"})
    stripe_client.v1.payment_intents.cancel(other.id)
    assert stripe_client.v1.events.list({"limit": 1}).data[0].type == "payment_intent.canceled"


def test_filters_by_type_types_and_created(stripe_client: stripe.StripeClient) -> None:
    since = int(time.time())
    pi = stripe_client.v1.payment_intents.create(
        {"amount": 1300, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True}
    )

    only = stripe_client.v1.events.list({"type": "payment_intent.succeeded", "limit": 3}).data
    several = stripe_client.v1.events.list(
        {"types": ["payment_intent.created", "charge.succeeded"], "limit": 2}
    ).data
    wildcard = stripe_client.v1.events.list({"type": "charge.*", "limit": 1}).data
    recent = stripe_client.v1.events.list({"created": {"gte": since}, "limit": 100}).data
    future = stripe_client.v1.events.list({"created": {"gt": since + 3600}}).data

    assert {e.type for e in only} == {"payment_intent.succeeded"}
    assert only[0].data.object["id"] == pi.id
    assert [e.type for e in several] == ["charge.succeeded", "payment_intent.created"]
    assert wildcard[0].type == "charge.succeeded"
    assert {e.data.object["id"] for e in recent} >= {pi.id}
    assert future == []


def test_events_paginate(stripe_client: stripe.StripeClient) -> None:
    for _ in range(3):
        stripe_client.v1.payment_intents.create({"amount": 1000, "currency": "eur"})
    first = stripe_client.v1.events.list({"limit": 2})
    second = stripe_client.v1.events.list({"limit": 2, "starting_after": first.data[-1].id})
    assert first.has_more is True
    assert first.url == "/v1/events"
    assert not {e.id for e in first.data} & {e.id for e in second.data}
    back = stripe_client.v1.events.list({"limit": 2, "ending_before": second.data[0].id})
    assert [e.id for e in back.data] == [e.id for e in first.data]


def test_unknown_event_is_404(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.events.retrieve("evt_missing")
    assert raised.value.http_status == 404
