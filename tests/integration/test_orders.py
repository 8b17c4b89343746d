from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Api

ITEM = {"sku": "TEE-1", "name": "T-shirt", "unit_amount": 1999, "quantity": 1}


async def test_total_is_computed_from_the_items(api: Api) -> None:
    order = await api.create_order()
    assert order["amount"] == 1999 * 2 + 1200
    assert order["amount_display"] == "51.98 USD"
    assert order["status"] == "pending_payment"
    assert order["checkout_token"].startswith("pd_ct_")


@pytest.mark.parametrize(
    ("change", "param", "code"),
    [
        ({"currency": "xyz"}, "currency", "unsupported_currency"),
        ({"items": [{**ITEM, "unit_amount": 19.99}]}, "items[0].unit_amount", "parameter_invalid"),
        ({"items": [{**ITEM, "unit_amount": "1999"}]}, "items[0].unit_amount", "parameter_invalid"),
        ({"items": [{**ITEM, "unit_amount": 0}]}, "items[0].unit_amount", "parameter_invalid"),
        ({"items": [{**ITEM, "unit_amount": -5}]}, "items[0].unit_amount", "parameter_invalid"),
        ({"items": [{**ITEM, "quantity": 0}]}, "items[0].quantity", "parameter_invalid"),
        ({"items": [{**ITEM, "quantity": 10**6}]}, "items[0].quantity", "parameter_invalid"),
        ({"items": []}, "items", "parameter_invalid"),
        ({"items": [{**ITEM, "unit_amount": 49}]}, "items", "amount_too_small"),
        ({"items": [{**ITEM, "unit_amount": 49}], "currency": "jpy"}, "items", "amount_too_small"),
        (
            {"items": [{**ITEM, "unit_amount": 99_999_999, "quantity": 2}]},
            "items",
            "amount_too_large",
        ),
        ({"customer_email": "not-an-email"}, "customer_email", "parameter_invalid"),
        (
            {"customer_email": "victim,attacker@evil.example"},
            "customer_email",
            "parameter_invalid",
        ),
        (
            {"customer_email": "<script>alert(1)</script>@x.example"},
            "customer_email",
            "parameter_invalid",
        ),
        ({"customer_email": "Ada <ada@example.com>"}, "customer_email", "parameter_invalid"),
        ({"amount": 1}, "amount", "server_side_field"),
    ],
)
async def test_bad_orders_name_the_field(
    api: Api, change: dict[str, Any], param: str, code: str
) -> None:
    body = {"items": [ITEM], "currency": "usd", "customer_email": "ada@example.com", **change}
    response = await api.client.post("/api/orders", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", code, param)
    assert error["message"]


async def test_missing_field_and_bad_json(api: Api) -> None:
    response = await api.client.post("/api/orders", json={"items": [ITEM], "currency": "usd"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parameter_missing"
    assert response.json()["error"]["param"] == "customer_email"
    response = await api.client.post(
        "/api/orders", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


async def test_zero_and_three_decimal_currencies(api: Api) -> None:
    yen = await api.create_order(items=[{**ITEM, "unit_amount": 500}], currency="JPY")
    assert (yen["currency"], yen["amount_display"]) == ("jpy", "500 JPY")
    dinar = await api.create_order(items=[{**ITEM, "unit_amount": 1250}], currency="kwd")
    assert dinar["amount_display"] == "1.250 KWD"


async def test_checkout_token_sees_its_order_only(api: Api) -> None:
    mine = await api.create_order()
    other = await api.create_order()
    token = {"Authorization": f"Bearer {mine['checkout_token']}"}
    response = await api.client.get(f"/api/orders/{mine['id']}", headers=token)
    assert response.status_code == 200
    assert "checkout_token" not in response.json()
    response = await api.client.get(f"/api/orders/{other['id']}", headers=token)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"
    body = {"items": [ITEM], "currency": "usd", "customer_email": "ada@example.com"}
    response = await api.client.post("/api/orders", json=body, headers=token)
    assert response.status_code == 403


async def test_credentials_are_required(api: Api) -> None:
    for header in ["", "Bearer", "Basic abc", "Bearer pd_sk_wrong", "Bearer pd_ct_wrong"]:
        response = await api.client.get("/api/orders/ord_x", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["error"]["type"] == "authentication_error"
