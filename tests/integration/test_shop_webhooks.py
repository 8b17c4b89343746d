"""The shop's webhook endpoints: the API, the SSRF guard at registration and at delivery,
and signed delivery to real HTTP receivers on 127.0.0.1.

Nothing here reaches beyond loopback: names resolve through a table the test controls,
and every socket is opened by a factory that fails the test for any address but the
receivers the test started."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from aiohttp import SocketFactoryType, web
from standardwebhooks import Webhook

from paydesk.app import create_app
from paydesk.auth.repository import ApiKeyRepository
from paydesk.config import Settings
from paydesk.db import Database, new_id, utcnow
from paydesk.gateway.fake import FakeGateway
from paydesk.notifications.models import Notification, ShopWebhookEndpoint
from paydesk.notifications.shop_webhooks import (
    DeliveryResult,
    WebhookSender,
    deliver,
    enabled_endpoints,
    subscribed,
)
from paydesk.notifications.ssrf import StaticResolver, UrlGuard

ALLOWED_NETWORKS = ("127.0.0.0/8",)
SHOP_HOST = "hooks.shop.test"


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records what it receives and answers from a script."""

    port: int = 0
    answers: list[web.StreamResponse | Callable[[], Awaitable[web.StreamResponse]]] = field(
        default_factory=list
    )
    received: list[tuple[dict[str, str], bytes, str]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.received.append((dict(request.headers), await request.read(), request.path))
        answer = self.answers.pop(0) if self.answers else web.Response(status=204)
        return answer if isinstance(answer, web.StreamResponse) else await answer()


@dataclass
class ConnectionGuard:
    """Opens sockets only to the test's own receivers; anything else fails the test."""

    allowed: set[tuple[str, int]] = field(default_factory=set)
    opened: list[tuple[str, int]] = field(default_factory=list)
    refused: list[Any] = field(default_factory=list)

    def socket_factory(self) -> SocketFactoryType:
        def open_socket(addr_info: Any) -> socket.socket:
            family, type_, proto, _, address = addr_info
            target = (str(address[0]), int(address[1]))
            if target not in self.allowed:
                self.refused.append(address)
                raise OSError(f"the test does not allow connecting to {address}")
            self.opened.append(target)
            return socket.socket(family, type_, proto)

        return open_socket


@dataclass
class Hooks:
    client: httpx.AsyncClient
    db: Database
    resolver: StaticResolver
    guard: ConnectionGuard
    sender: WebhookSender
    receiver: Receiver

    @property
    def url(self) -> str:
        return f"http://{SHOP_HOST}:{self.receiver.port}/hooks"

    async def register(self, url: str | None = None, events: list[str] | None = None) -> Any:
        response = await self.client.post(
            "/api/webhook-endpoints", json={"url": url or self.url, "events": events or ["*"]}
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def endpoint(self, endpoint_id: str) -> ShopWebhookEndpoint:
        async with self.db.sessions() as session:
            found = await session.get(ShopWebhookEndpoint, endpoint_id)
            assert found is not None
            return found

    async def deliver(self, endpoint_id: str, payload: dict[str, Any]) -> DeliveryResult:
        endpoint = await self.endpoint(endpoint_id)
        return await deliver(endpoint, notification(endpoint, payload), sender=self.sender)


def notification(endpoint: ShopWebhookEndpoint, payload: dict[str, Any]) -> Notification:
    return Notification(
        id=new_id("ntf"),
        channel="webhook",
        kind=str(payload.get("type", "payment.succeeded")),
        cause="test",
        recipient=endpoint.id,
        payload=json.dumps(payload),
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.base_events.Server)
    receiver.port = server.sockets[0].getsockname()[1]
    yield receiver
    await runner.cleanup()


@pytest.fixture
async def hooks(database: Database, receiver: Receiver) -> AsyncIterator[Hooks]:
    settings = Settings(webhook_allowed_networks=ALLOWED_NETWORKS)
    resolver = StaticResolver(
        {
            SHOP_HOST: ["127.0.0.1"],
            "metadata.test": ["169.254.169.254"],
            "internal.test": ["10.0.0.1"],
            "six.test": ["::1"],
            "mapped.test": ["::ffff:169.254.169.254"],
            "mixed.test": ["127.0.0.1", "10.0.0.1"],
        }
    )
    app = create_app(settings, database=database, gateway=FakeGateway())
    app.state.webhook_url_guard = UrlGuard.of(settings.webhook_allowed_networks, resolver)
    guard = ConnectionGuard(allowed={("127.0.0.1", receiver.port)})
    sender = WebhookSender(settings, resolver=resolver, transport=guard.socket_factory())
    async with database.transaction() as session:
        shop_key, _ = await ApiKeyRepository(session).create("tests")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://paydesk.test",
        headers={"Authorization": f"Bearer {shop_key}"},
    ) as client:
        yield Hooks(client, database, resolver, guard, sender, receiver)
    await sender.close()
    assert guard.refused == [], "a connection was attempted outside the test's receivers"


# --- The API -----------------------------------------------------------------------------


async def test_an_endpoint_is_registered_with_a_secret_shown_once(
    hooks: Hooks, caplog: pytest.LogCaptureFixture
) -> None:
    # Everything at the production level, and paydesk's own loggers at every level.
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="paydesk")
    created = await hooks.register(events=["payment.succeeded", "payment.succeeded", "order.paid"])
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert created["events"] == ["payment.succeeded", "order.paid"]
    assert (created["status"], created["url"]) == ("enabled", hooks.url)

    listed = await hooks.client.get("/api/webhook-endpoints")
    one = await hooks.client.get(f"/api/webhook-endpoints/{created['id']}")
    rotated = await hooks.client.post(f"/api/webhook-endpoints/{created['id']}/rotate-secret")
    assert [e["id"] for e in listed.json()["data"]] == [created["id"]]
    assert one.json()["id"] == created["id"]
    for response in (listed, one):
        assert response.status_code == 200
        assert "secret" not in response.json()
        assert secret not in response.text
        assert "whsec_" not in response.text
    assert rotated.status_code == 200
    assert rotated.json()["secret"] not in (secret, None)
    assert rotated.json()["previous_secret_expires_at"] is not None

    await hooks.deliver(created["id"], {"type": "payment.succeeded"})
    for text in (secret, rotated.json()["secret"]):
        assert text not in caplog.text
    assert "whsec_" not in caplog.text


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"url": "https://shop.example/h", "events": ["payment.exploded"]}, "events", None),
        ({"url": "https://shop.example/h", "events": ["*", "nope"]}, "events", None),
        ({"url": "https://shop.example/h", "events": []}, "events", None),
        ({"url": "https://shop.example/h"}, "events", "parameter_missing"),
        ({"url": "ftp://shop.example/h", "events": ["*"]}, "url", "url_invalid"),
        ({"url": "https://a:b@shop.example/h", "events": ["*"]}, "url", "url_invalid"),
        ({"url": "https://shop.example/" + "x" * 2048, "events": ["*"]}, "url", None),
        (
            {"url": "https://shop.example/h", "events": ["*"], "secret": "whsec_AAAA"},
            "secret",
            None,
        ),
    ],
)
async def test_invalid_registrations_are_refused_naming_the_field(
    hooks: Hooks, body: dict[str, Any], param: str, code: str | None
) -> None:
    response = await hooks.client.post("/api/webhook-endpoints", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param
    if code is not None:
        assert error["code"] == code


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.test/",
        "http://10.0.0.1/hooks",
        "http://internal.test/hooks",
        "http://[::1]:8080/hooks",
        "http://six.test/",
        "http://mapped.test/",
        "http://[::ffff:169.254.169.254]/",
        "http://mixed.test/",
        "http://localhost/hooks",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0177.0.0.1/",
        "http://127.1/",
    ],
)
async def test_internal_addresses_are_refused_at_registration(hooks: Hooks, url: str) -> None:
    response = await hooks.client.post("/api/webhook-endpoints", json={"url": url, "events": ["*"]})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "url_not_allowed"
    assert response.json()["error"]["param"] == "url"
    assert (await hooks.client.get("/api/webhook-endpoints")).json()["data"] == []


async def test_loopback_is_refused_without_the_allow_list(database: Database) -> None:
    resolver = StaticResolver({SHOP_HOST: ["127.0.0.1"]})
    app = create_app(Settings(), database=database, gateway=FakeGateway())
    app.state.webhook_url_guard = UrlGuard.of((), resolver)
    async with database.transaction() as session:
        shop_key, _ = await ApiKeyRepository(session).create("tests")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://paydesk.test",
        headers={"Authorization": f"Bearer {shop_key}"},
    ) as client:
        for url in [f"http://{SHOP_HOST}/", "http://127.0.0.1:9/", "http://[::1]/"]:
            response = await client.post(
                "/api/webhook-endpoints", json={"url": url, "events": ["*"]}
            )
            assert response.json()["error"]["code"] == "url_not_allowed", url


async def test_a_checkout_token_cannot_manage_endpoints(hooks: Hooks) -> None:
    created = await hooks.register()
    order = await hooks.client.post(
        "/api/orders",
        json={
            "items": [{"sku": "TEE-1", "name": "T-shirt", "unit_amount": 1999, "quantity": 1}],
            "currency": "usd",
            "customer_email": "ada@example.com",
        },
    )
    token = {"Authorization": f"Bearer {order.json()['checkout_token']}"}
    endpoint = f"/api/webhook-endpoints/{created['id']}"
    for method, path, body in [
        ("POST", "/api/webhook-endpoints", {"url": hooks.url, "events": ["*"]}),
        ("GET", "/api/webhook-endpoints", None),
        ("GET", endpoint, None),
        ("PATCH", endpoint, {"status": "disabled"}),
        ("POST", f"{endpoint}/rotate-secret", None),
    ]:
        response = await hooks.client.request(method, path, json=body, headers=token)
        assert response.status_code == 403, (method, path)
        assert response.json()["error"]["code"] == "shop_key_required"
    assert (await hooks.endpoint(created["id"])).status == "enabled"


async def test_an_unknown_endpoint_is_404(hooks: Hooks) -> None:
    for method in ("GET", "PATCH"):
        response = await hooks.client.request(
            method, "/api/webhook-endpoints/we_nope", json={} if method == "PATCH" else None
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "resource_missing"
    rotated = await hooks.client.post("/api/webhook-endpoints/we_nope/rotate-secret")
    assert rotated.status_code == 404


async def test_patch_changes_fields_and_enabling_clears_the_failure(hooks: Hooks) -> None:
    created = await hooks.register(events=["payment.failed"])
    path = f"/api/webhook-endpoints/{created['id']}"
    changed = await hooks.client.patch(
        path, json={"events": ["dispute.opened"], "description": "ops", "status": "disabled"}
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["events"], body["description"], body["status"]) == (
        ["dispute.opened"],
        "ops",
        "disabled",
    )
    assert "secret" not in body

    async with hooks.db.transaction() as session:
        endpoint = await session.get(ShopWebhookEndpoint, created["id"])
        assert endpoint is not None
        endpoint.failing_since = utcnow() - timedelta(days=3)
        endpoint.disabled_reason = "failing for 3 days"
    enabled = (await hooks.client.patch(path, json={"status": "enabled"})).json()
    assert (enabled["status"], enabled["failing_since"], enabled["disabled_reason"]) == (
        "enabled",
        None,
        None,
    )
    assert enabled["description"] == "ops"
    cleared = (await hooks.client.patch(path, json={"description": None})).json()
    assert cleared["description"] is None

    for change, param in [
        ({"url": "http://metadata.test/"}, "url"),
        ({"events": ["payment.nope"]}, "events"),
        ({"status": "paused"}, "status"),
    ]:
        refused = await hooks.client.patch(path, json=change)
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == param
    assert (await hooks.endpoint(created["id"])).url == hooks.url


async def test_subscribed_endpoints_are_the_enabled_ones_that_asked(hooks: Hooks) -> None:
    succeeded = await hooks.register(events=["payment.succeeded"])
    everything = await hooks.register(events=["*"])
    disputes = await hooks.register(events=["dispute.opened"])
    disabled = await hooks.register(events=["payment.succeeded"])
    await hooks.client.patch(
        f"/api/webhook-endpoints/{disabled['id']}", json={"status": "disabled"}
    )
    async with hooks.db.sessions() as session:
        endpoints = await enabled_endpoints(session)
    found = [e.id for e in subscribed(endpoints, "payment.succeeded")]
    assert found == [succeeded["id"], everything["id"]]
    found = [e.id for e in subscribed(endpoints, "dispute.opened")]
    assert found == [everything["id"], disputes["id"]]


# --- Delivery ----------------------------------------------------------------------------


async def test_a_delivery_is_signed_per_standard_webhooks(hooks: Hooks) -> None:
    created = await hooks.register()
    endpoint = await hooks.endpoint(created["id"])
    message = notification(endpoint, {"type": "payment.succeeded", "data": {"amount": 5198}})
    result = await deliver(endpoint, message, sender=hooks.sender)
    assert result == DeliveryResult(succeeded=True, status_code=204)

    [(headers, body, path)] = hooks.receiver.received
    assert path == "/hooks"
    assert Webhook(created["secret"]).verify(body, headers) == {
        "type": "payment.succeeded",
        "data": {"amount": 5198},
    }
    assert headers["webhook-id"] == message.id
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "paydesk-webhooks/1"
    assert headers["Host"] == f"{SHOP_HOST}:{hooks.receiver.port}"
    assert len(headers["webhook-signature"].split(" ")) == 1
    assert hooks.guard.opened == [("127.0.0.1", hooks.receiver.port)]


async def test_a_500_fails_and_the_next_try_succeeds(hooks: Hooks) -> None:
    created = await hooks.register()
    hooks.receiver.answers = [web.Response(status=500, text="boom"), web.Response(status=200)]
    first = await hooks.deliver(created["id"], {"type": "payment.failed"})
    second = await hooks.deliver(created["id"], {"type": "payment.failed"})
    assert (first.succeeded, first.status_code, first.gone) == (False, 500, False)
    assert first.error == "HTTP 500: boom"
    assert second == DeliveryResult(succeeded=True, status_code=200)


async def test_a_410_means_the_endpoint_is_gone(hooks: Hooks) -> None:
    created = await hooks.register()
    hooks.receiver.answers = [web.Response(status=410)]
    result = await hooks.deliver(created["id"], {"type": "order.paid"})
    assert (result.succeeded, result.status_code, result.gone) == (False, 410, True)


async def test_a_redirect_is_not_followed(hooks: Hooks) -> None:
    created = await hooks.register()
    elsewhere = f"http://127.0.0.1:{hooks.receiver.port}/elsewhere"
    hooks.receiver.answers = [web.Response(status=307, headers={"Location": elsewhere})]
    result = await hooks.deliver(created["id"], {"type": "order.paid"})
    assert (result.succeeded, result.status_code, result.gone) == (False, 307, False)
    assert "not followed" in (result.error or "")
    assert [path for _, _, path in hooks.receiver.received] == ["/hooks"]


async def test_a_long_answer_is_not_read(hooks: Hooks) -> None:
    created = await hooks.register()

    async def endless() -> web.StreamResponse:
        # Far more than the client reads; it must hang up rather than wait for it all.
        return web.Response(status=500, body=b"x" * 5_000_000)

    hooks.receiver.answers = [endless]
    result = await hooks.deliver(created["id"], {"type": "order.paid"})
    assert result.status_code == 500
    assert len(result.error or "") < 300


async def test_a_slow_endpoint_times_out(hooks: Hooks) -> None:
    created = await hooks.register()
    sender = WebhookSender(
        Settings(webhook_allowed_networks=ALLOWED_NETWORKS),
        resolver=hooks.resolver,
        transport=hooks.guard.socket_factory(),
        timeout_seconds=0.3,
    )

    async def slow() -> web.StreamResponse:
        await asyncio.sleep(2)
        return web.Response(status=200)

    hooks.receiver.answers = [slow]
    endpoint = await hooks.endpoint(created["id"])
    try:
        result = await deliver(endpoint, notification(endpoint, {}), sender=sender)
    finally:
        await sender.close()
    assert (result.succeeded, result.status_code) == (False, None)
    assert result.error == "no answer within 0.3 s"


async def test_after_rotation_both_secrets_sign_for_a_day(hooks: Hooks) -> None:
    created = await hooks.register()
    old_secret = created["secret"]
    rotated = await hooks.client.post(f"/api/webhook-endpoints/{created['id']}/rotate-secret")
    new_secret = rotated.json()["secret"]
    assert (await hooks.deliver(created["id"], {"type": "order.paid"})).succeeded

    [(headers, body, _)] = hooks.receiver.received
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    for secret, signature in zip((new_secret, old_secret), signatures, strict=True):
        alone = {**headers, "webhook-signature": signature}
        assert Webhook(secret).verify(body, alone) == {"type": "order.paid"}
    assert Webhook(new_secret).verify(body, headers) == {"type": "order.paid"}

    async with hooks.db.transaction() as session:
        endpoint = await session.get(ShopWebhookEndpoint, created["id"])
        assert endpoint is not None
        endpoint.previous_secret_expires_at = utcnow() - timedelta(seconds=1)
    assert (await hooks.deliver(created["id"], {"type": "order.paid"})).succeeded
    headers, body, _ = hooks.receiver.received[1]
    assert len(headers["webhook-signature"].split(" ")) == 1
    Webhook(new_secret).verify(body, headers)


@pytest.mark.parametrize(
    "answers",
    [["169.254.169.254"], ["10.0.0.1"], ["::1"], ["127.0.0.1", "10.0.0.1"], []],
    ids=["metadata", "private", "ipv6-loopback", "one-of-two", "nxdomain"],
)
async def test_a_name_that_now_points_inside_is_refused_at_delivery(
    hooks: Hooks, answers: list[str]
) -> None:
    created = await hooks.register()
    assert (await hooks.deliver(created["id"], {"type": "order.paid"})).succeeded
    hooks.resolver.answers[SHOP_HOST] = answers

    result = await hooks.deliver(created["id"], {"type": "order.paid"})
    assert not result.succeeded
    assert result.status_code is None
    expected = "not allowed" if answers else "does not resolve"
    assert expected in (result.error or "")
    assert len(hooks.receiver.received) == 1
    assert hooks.guard.opened == [("127.0.0.1", hooks.receiver.port)]


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::1]:{port}/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://localhost:{port}/",
        "http://2130706433:{port}/",
        "http://0x7f.1:{port}/",
    ],
)
async def test_internal_urls_are_refused_at_delivery_without_connecting(
    hooks: Hooks, url: str
) -> None:
    """Rows that slipped past registration (an older release, a manual edit) still
    cannot reach inside."""
    created = await hooks.register()
    async with hooks.db.transaction() as session:
        endpoint = await session.get(ShopWebhookEndpoint, created["id"])
        assert endpoint is not None
        endpoint.url = url.format(port=hooks.receiver.port)
    result = await hooks.deliver(created["id"], {"type": "order.paid"})
    assert not result.succeeded
    assert "not allowed" in (result.error or "")
    assert hooks.guard.opened == []
    assert hooks.receiver.received == []
