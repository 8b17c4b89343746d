"""Every object the sandbox returns has the keys of Stripe's own example of its type.

Stripe's examples come from its openapi repository (tests/data/stripe_fixtures.json).
Deliberate differences:
- a webhook endpoint carries `secret` only in the answer to its creation, as Stripe does;
  the fixture is a retrieved endpoint, so it has none.
- a failed refund adds `failure_reason` and `failure_balance_transaction`, as Stripe does;
  the fixture is a succeeded refund.
- a card charge's `outcome` adds Radar's `risk_level`, `risk_score` and `rule`, which
  Stripe's charge schema has and its example leaves out (radar.py).
"""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.sandbox.conftest import secret_auth

FIXTURES: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "data" / "stripe_fixtures.json").read_text()
)


def fixture_keys(kind: str, *path: str) -> set[str]:
    node = FIXTURES[kind]
    for part in path:
        node = node[part]
    return set(node)


@pytest.fixture(scope="module")
def served(sandbox: Any) -> dict[str, dict[str, Any]]:
    """One object of each type, fetched over HTTP as raw JSON."""
    with httpx.Client(base_url=sandbox.url, headers=secret_auth()) as http:
        pi = http.post(
            "/v1/payment_intents",
            data={
                "amount": "1999",
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": "true",
            },
        ).json()
        refund = http.post("/v1/refunds", data={"payment_intent": pi["id"], "amount": "500"}).json()
        endpoint = http.post(
            "/v1/webhook_endpoints",
            data={"url": "http://127.0.0.1:9/hooks", "enabled_events[]": "*"},
        ).json()
        dispute = httpx.post(f"{sandbox.url}/_sandbox/charges/{pi['latest_charge']}/dispute").json()
        return {
            "dispute": http.get(f"/v1/disputes/{dispute['id']}").json(),
            "payment_intent": http.get(f"/v1/payment_intents/{pi['id']}").json(),
            "charge": http.get(f"/v1/charges/{pi['latest_charge']}").json(),
            "refund": http.get(f"/v1/refunds/{refund['id']}").json(),
            "payment_method": http.get(f"/v1/payment_methods/{pi['payment_method']}").json(),
            "event": http.get("/v1/events", params={"limit": 1}).json()["data"][0],
            "webhook_endpoint": http.get(f"/v1/webhook_endpoints/{endpoint['id']}").json(),
            "webhook_endpoint_created": endpoint,
        }


@pytest.mark.parametrize(
    "kind",
    [
        "payment_intent",
        "charge",
        "payment_method",
        "event",
        "webhook_endpoint",
        "refund",
        "dispute",
    ],
)
def test_top_level_keys_match_stripe(served: dict[str, dict[str, Any]], kind: str) -> None:
    assert set(served[kind]) == fixture_keys(kind)


def test_created_webhook_endpoint_adds_only_its_secret(
    served: dict[str, dict[str, Any]],
) -> None:
    assert set(served["webhook_endpoint_created"]) == fixture_keys("webhook_endpoint") | {"secret"}


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("payment_method", ("card",)),
        ("payment_method", ("billing_details",)),
        ("charge", ("outcome",)),
        ("charge", ("billing_details",)),
        ("charge", ("payment_method_details",)),
        ("charge", ("payment_method_details", "card")),
        ("charge", ("refunds",)),
        ("event", ("request",)),
        ("refund", ("destination_details",)),
        ("dispute", ("evidence",)),
        ("dispute", ("evidence_details",)),
        ("dispute", ("payment_method_details",)),
        ("dispute", ("payment_method_details", "card")),
    ],
)
def test_nested_keys_match_stripe(
    served: dict[str, dict[str, Any]], kind: str, path: tuple[str, ...]
) -> None:
    node = served[kind]
    for part in path:
        node = node[part]
    assert set(node) == fixture_keys(kind, *path) | RADAR_ADDS.get((kind, path), set())


# Radar's fields of a card charge's outcome: in Stripe's schema, not in its example.
RADAR_ADDS = {("charge", ("outcome",)): {"risk_level", "risk_score", "rule"}}


def test_fixtures_name_their_source() -> None:
    assert "fixtures3.json" in FIXTURES["_source"]
    assert {"refund", "dispute"} <= set(FIXTURES)
