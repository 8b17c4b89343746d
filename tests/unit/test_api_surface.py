"""The API's surface as a client sees it: who may call each route, and what the OpenAPI
document promises about every answer."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from paydesk.app import create_app
from paydesk.config import Settings
from paydesk.deps import Caller, required_caller
from paydesk.gateway.fake import FakeGateway
from paydesk.openapi import api_routes

# Every route under /api/ and the caller it lets in. A new route fails here until it is
# added, so its caller is a decision, never a default.
CALLERS = {
    ("POST", "/api/orders"): Caller.SHOP,
    ("GET", "/api/orders/{order_id}"): Caller.SHOP_OR_CHECKOUT,
    ("PATCH", "/api/orders/{order_id}"): Caller.SHOP,
    ("POST", "/api/payments"): Caller.SHOP_OR_CHECKOUT,
    ("POST", "/api/payments/verify"): Caller.SHOP_OR_CHECKOUT,
    ("GET", "/api/payments/{payment_id}"): Caller.SHOP_OR_CHECKOUT,
    ("GET", "/api/payments"): Caller.SHOP,
    ("POST", "/api/payments/{payment_id}/capture"): Caller.SHOP,
    ("POST", "/api/payments/{payment_id}/cancel"): Caller.SHOP,
    ("POST", "/api/payments/{payment_id}/refunds"): Caller.SHOP,
    ("GET", "/api/payments/{payment_id}/refunds"): Caller.SHOP,
    ("GET", "/api/payments/{payment_id}/ledger"): Caller.SHOP,
    ("GET", "/api/ledger"): Caller.SHOP,
    ("GET", "/api/disputes"): Caller.SHOP,
    ("GET", "/api/disputes/{dispute_id}"): Caller.SHOP,
    ("POST", "/api/disputes/{dispute_id}/evidence"): Caller.SHOP,
    ("GET", "/api/payouts"): Caller.SHOP,
    ("GET", "/api/payouts/{payout_id}"): Caller.SHOP,
    ("GET", "/api/balance"): Caller.SHOP,
    ("GET", "/api/webhooks/events"): Caller.SHOP,
    ("POST", "/api/webhook-endpoints"): Caller.SHOP,
    ("GET", "/api/webhook-endpoints"): Caller.SHOP,
    ("GET", "/api/webhook-endpoints/{endpoint_id}"): Caller.SHOP,
    ("PATCH", "/api/webhook-endpoints/{endpoint_id}"): Caller.SHOP,
    ("POST", "/api/webhook-endpoints/{endpoint_id}/rotate-secret"): Caller.SHOP,
    ("GET", "/api/notifications"): Caller.SHOP,
    ("GET", "/api/notifications/{notification_id}"): Caller.SHOP,
    ("POST", "/api/notifications/{notification_id}/retry"): Caller.SHOP,
}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings(stripe_webhook_secrets=("whsec_x",)), gateway=FakeGateway())


def test_every_api_route_names_its_caller(app: FastAPI) -> None:
    found = {key: required_caller(route.dependant) for key, route in api_routes(app).items()}
    assert found == CALLERS


@pytest.fixture(scope="module")
def spec(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def test_every_operation_declares_its_errors_with_the_error_schema(spec: dict[str, Any]) -> None:
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for method, path, operation in operations(spec):
        responses = operation["responses"]
        assert "422" not in responses, (method, path)
        expected = {"400", "401", "500", "503"}
        if CALLERS[(method, path)] is Caller.SHOP:
            expected.add("403")
        if "{" in path:
            expected.add("404")
        if method in ("POST", "PATCH"):
            expected |= {"408", "409", "413"}
        assert expected <= set(responses), (method, path, sorted(responses))
        for status, response in responses.items():
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == error
        assert responses["503"]["headers"]["Retry-After"]


def test_what_only_stripe_can_cause_is_declared_where_stripe_is_asked(
    spec: dict[str, Any],
) -> None:
    payments = spec["paths"]["/api/payments"]["post"]["responses"]
    assert {"402", "502"} <= set(payments)
    for path in ["/api/payments/verify", "/api/payments/{payment_id}/capture"]:
        assert "502" in spec["paths"][path]["post"]["responses"]
    assert "502" not in spec["paths"]["/api/orders"]["post"]["responses"]


def test_credentials_are_security_schemes_on_every_operation(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert {name: s["scheme"] for name, s in schemes.items()} == {
        "ShopKey": "bearer",
        "CheckoutToken": "bearer",
    }
    for method, path, operation in operations(spec):
        names = {name for requirement in operation["security"] for name in requirement}
        wanted = {"ShopKey"} if CALLERS[(method, path)] is Caller.SHOP else schemes.keys()
        assert names == set(wanted), (method, path)


def test_posts_take_an_idempotency_key_and_integers_say_they_are_strict(
    spec: dict[str, Any],
) -> None:
    for method, path, operation in operations(spec):
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert ("Idempotency-Key" in headers) == (method == "POST"), (method, path)
    unit_amount = spec["components"]["schemas"]["OrderItemIn"]["properties"]["unit_amount"]
    assert "never `1124.0`" in unit_amount["description"]
