"""What every request meets before the routes: control characters refused, credentials
before bodies, bodies bounded, and every failure answered in paydesk's shape."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy.exc
from sqlalchemy import func, select

from paydesk.edge.limits import MAX_BODY_BYTES
from paydesk.idempotency.models import IdempotencyRecord
from paydesk.orders.models import Order, OrderItem
from tests.integration.conftest import Api

ITEM = {"sku": "TEE-1", "name": "T-shirt", "unit_amount": 1999, "quantity": 1}
ORDER = {"items": [ITEM], "currency": "usd", "customer_email": "ada@example.com"}


async def count(api: Api, model: type[Any]) -> int:
    async with api.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
async def anonymous(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=api.transport, base_url="http://paydesk.test") as client:
        yield client


# --- control characters ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"items": [{**ITEM, "name": "a\u0000b"}]}, "items[0].name"),
        ({"items": [{**ITEM, "sku": "\u0007"}]}, "items[0].sku"),
        ({"items": [ITEM, {**ITEM, "name": "half \ud800 a pair"}]}, "items[1].name"),
    ],
)
async def test_control_characters_in_a_body_are_refused_naming_the_field(
    api: Api, change: dict[str, Any], param: str
) -> None:
    # Escaped as JSON allows (`\ud800`), which is how a lone surrogate arrives at all.
    body = json.dumps({**ORDER, **change}, ensure_ascii=True)
    response = await api.client.post(
        "/api/orders", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_characters", param)
    assert (await count(api, Order), await count(api, OrderItem)) == (0, 0)


async def test_a_nul_in_a_path_or_a_query_is_refused(api: Api) -> None:
    order = await api.create_order()
    token = {"Authorization": f"Bearer {order['checkout_token']}"}
    response = await api.client.get("/api/payments/pay_%00", headers=token)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "path"
    response = await api.client.get("/api/payments", params={"order_id": "ord_\x00"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "code": "invalid_characters",
        "message": "The query parameter 'order_id' holds the control character U+0000.",
        "param": "order_id",
    }


async def test_a_nul_in_the_login_form_is_a_page_saying_so(
    api: Api, anonymous: httpx.AsyncClient
) -> None:
    await anonymous.get("/dashboard/login")
    response = await anonymous.post(
        "/dashboard/login",
        content=b"csrf_token="
        + anonymous.cookies["paydesk_login_csrf"].encode()
        + b"&email=a%00b&password=whatever12345",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "email" in response.text
    assert "U+0000" in response.text


async def test_a_nul_in_a_dashboard_path_is_a_page(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/dashboard/payments/pay_%00")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")


# --- credentials before bodies -----------------------------------------------------------


async def test_an_unauthenticated_caller_hears_401_before_anything_about_its_body(
    api: Api, anonymous: httpx.AsyncClient
) -> None:
    for body in [b"{nope", b"[]", b'{"amount": 1}', b"x" * (MAX_BODY_BYTES + 1)]:
        response = await anonymous.post(
            "/api/orders",
            content=body,
            headers={"content-type": "application/json", "Idempotency-Key": "k1"},
        )
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert await count(api, IdempotencyRecord) == 0


async def test_fifty_unauthenticated_keys_store_nothing_and_reveal_nothing(
    api: Api, anonymous: httpx.AsyncClient
) -> None:
    for n in range(50):
        response = await anonymous.post(
            "/api/orders", json=ORDER, headers={"Idempotency-Key": f"key-{n}"}
        )
        assert response.status_code == 401
    assert await count(api, IdempotencyRecord) == 0
    # The shop may use those keys: nobody reserved them.
    response = await api.client.post(
        "/api/orders", json=ORDER, headers={"Idempotency-Key": "key-1"}
    )
    assert response.status_code == 201


async def test_a_checkout_token_on_a_shop_endpoint_is_403_whatever_its_body(api: Api) -> None:
    order = await api.create_order()
    token = {"Authorization": f"Bearer {order['checkout_token']}"}
    for body in [b'{"items": "nope"}', b"{nope", b""]:
        response = await api.client.post(
            "/api/orders", content=body, headers={**token, "content-type": "application/json"}
        )
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "shop_key_required"


async def test_a_missing_body_is_named_as_such(api: Api) -> None:
    response = await api.client.post("/api/orders")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "code": "body_missing",
        "message": "A JSON body is required.",
    }


# --- bodies bounded ----------------------------------------------------------------------


async def test_a_body_over_the_limit_is_refused_as_declared_or_as_sent(api: Api) -> None:
    big = b'{"items": [' + b" " * MAX_BODY_BYTES + b"]}"
    response = await api.client.post(
        "/api/orders", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * (MAX_BODY_BYTES // 10)

    response = await api.client.post(
        "/api/orders", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["connection"] == "close"
    assert await count(api, Order) == 0


# --- failures answered in paydesk's shape ------------------------------------------------


async def test_an_unexpected_database_error_is_a_500_naming_the_request(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise sqlalchemy.exc.DataError("INSERT …", {}, ValueError("invalid byte sequence"))

    monkeypatch.setattr("paydesk.orders.repository.OrderRepository.add", broken)
    with caplog.at_level(logging.ERROR):
        response = await api.client.post(
            "/api/orders", json=ORDER, headers={"Idempotency-Key": "once"}
        )
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("api_error", "internal_error")
    assert error["request_id"] == response.headers["request-id"]
    assert error["request_id"] in error["message"]
    assert any(r.exc_info for r in caplog.records)
    # A server error decided nothing: the key is free for the retry.
    monkeypatch.undo()
    retried = await api.client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": "once"})
    assert retried.status_code == 201


@pytest.mark.parametrize("with_key", [False, True])
async def test_a_database_that_is_down_is_a_503_with_retry_after(
    api: Api, monkeypatch: pytest.MonkeyPatch, with_key: bool
) -> None:
    async def down(*_args: Any, **_kwargs: Any) -> Any:
        raise sqlalchemy.exc.OperationalError("BEGIN", {}, ConnectionRefusedError(111, "refused"))

    monkeypatch.setattr("paydesk.orders.repository.OrderRepository.add", down)
    headers = {"Idempotency-Key": "down"} if with_key else {}
    response = await api.client.post("/api/orders", json=ORDER, headers=headers)
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "database_unavailable"


async def test_hsts_only_over_tls(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.shop_key}"}
    async with httpx.AsyncClient(
        transport=api.transport, base_url="https://paydesk.test", headers=headers
    ) as tls:
        answer = await tls.get("/api/payments")
        assert answer.headers["strict-transport-security"].startswith("max-age=")
    answer = await api.client.get("/api/payments")
    assert "strict-transport-security" not in answer.headers
    assert answer.headers["request-id"].startswith("req_")


# --- out-of-range input ------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "from=0001-01-01T00:00:00%2B23:59",
        "to=9999-12-31T23:59:59-23:59",
        "cursor=9223372036854775808",
        "cursor=2147483648",
        "cursor=-1",
        "limit=100000",
        "currency=usdollars",
    ],
)
async def test_out_of_range_ledger_filters_are_400(api: Api, query: str) -> None:
    response = await api.client.get(f"/api/ledger?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] in {"from", "to", "cursor", "limit", "currency"}


async def test_a_very_long_cursor_is_400(api: Api) -> None:
    response = await api.client.get("/api/payments", params={"cursor": "pay_" + "f" * 300})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "cursor"
