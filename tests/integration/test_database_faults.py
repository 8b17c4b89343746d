"""The database killed or its network stalled in the middle of load: every answer is a
503 in paydesk's error shape, none takes much longer than the configured timeout, the
client's connection stays usable, and paydesk recovers by itself once the database is back."""

from __future__ import annotations

import asyncio
import http.client
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from paydesk.app import create_app
from paydesk.auth.repository import ApiKeyRepository
from paydesk.config import Settings
from paydesk.db import Database
from paydesk.gateway.fake import FakeGateway
from tests import stripe_events as se
from tests.fixtures.database import _admin, _sqlalchemy_url
from tests.fixtures.paydesk import ServerThread
from tests.fixtures.tcp_proxy import TcpProxy

TIMEOUT = 1.0
SECRET = "whsec_faults"
ORDER = {
    "items": [{"sku": "TEE-1", "name": "T-shirt", "unit_amount": 1999, "quantity": 1}],
    "currency": "usd",
    "customer_email": "ada@example.com",
}


@dataclass
class Served:
    url: str
    shop_key: str
    proxy: TcpProxy


@pytest.fixture
def proxied_url(postgres_template: str, postgres_proxy: TcpProxy) -> Iterator[str]:
    name = f"paydesk_faults_{os.getpid()}_{time.monotonic_ns()}"
    asyncio.run(_admin(f"CREATE DATABASE {name} TEMPLATE {postgres_template}"))
    direct = _sqlalchemy_url(name)
    user, _, rest = direct.partition("@")
    yield f"{user}@127.0.0.1:{postgres_proxy.port}/{rest.split('/', 1)[1]}"
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
async def served(proxied_url: str, postgres_proxy: TcpProxy) -> AsyncIterator[Served]:
    db = Database.connect(proxied_url)
    async with db.transaction() as session:
        shop_key, _ = await ApiKeyRepository(session).create("faults")
    await db.dispose()
    settings = Settings(
        database_url=proxied_url, database_timeout_seconds=TIMEOUT, stripe_webhook_secrets=(SECRET,)
    )
    # The app builds its own database, used on the server's event loop only.
    with ServerThread(create_app(settings, gateway=FakeGateway())) as server:
        yield Served(server.url, shop_key, postgres_proxy)
        postgres_proxy.heal()


async def load(client: httpx.AsyncClient, n: int) -> list[tuple[httpx.Response, float]]:
    """Orders (with and without an Idempotency-Key), reads and Stripe webhooks at once."""

    async def one(k: int) -> tuple[httpx.Response, float]:
        started = time.monotonic()
        kind = k % 4
        if kind == 0:
            response = await client.post("/api/orders", json=ORDER)
        elif kind == 1:
            response = await client.post(
                "/api/orders", json=ORDER, headers={"Idempotency-Key": f"fault-{k}-{started}"}
            )
        elif kind == 2:
            response = await client.get("/api/payments")
        else:
            body = se.dumps(se.event("customer.created", {"id": f"cus_{k}", "object": "customer"}))
            response = await client.post(
                "/api/webhooks/stripe",
                content=body,
                headers={"Stripe-Signature": se.sign(body, SECRET)},
            )
        return response, time.monotonic() - started

    return await asyncio.gather(*(one(k) for k in range(n)))


def assert_unavailable(answers: list[tuple[httpx.Response, float]]) -> float:
    for response, _ in answers:
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.headers["retry-after"] == "1"
        assert response.json()["error"]["type"] == "api_error"
    return max(elapsed for _, elapsed in answers)


async def recovered(client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        answers = await load(client, 8)
        if all(r.status_code in (200, 201) for r, _ in answers):
            return
        assert {r.status_code for r, _ in answers} <= {200, 201, 503}
        await asyncio.sleep(0.2)
    pytest.fail("paydesk did not answer every request while the database was up")


def same_connection_twice(url: str, shop_key: str) -> tuple[int, int]:
    """Two requests on one kept-alive connection: the second fails if the first closed it."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    statuses = []
    for _ in range(2):
        connection.request("GET", "/api/payments", headers={"Authorization": f"Bearer {shop_key}"})
        response = connection.getresponse()
        response.read()
        statuses.append(response.status)
    connection.close()
    return statuses[0], statuses[1]


@pytest.mark.parametrize("fault", ["stall", "cut"])
async def test_a_lost_database_gives_503s_in_time_and_paydesk_recovers(
    served: Served, fault: str
) -> None:
    headers = {"Authorization": f"Bearer {served.shop_key}"}
    async with httpx.AsyncClient(base_url=served.url, headers=headers, timeout=30) as client:
        await recovered(client)  # healthy first (a loaded machine may need a moment)
        getattr(served.proxy, fault)()
        slowest = assert_unavailable(await load(client, 24))
        # A connection and a statement get half of the timeout each: no answer takes longer
        # than the timeout, and what paydesk and a busy test machine cost on top (without
        # the timeout, a stalled database holds every answer until the client's 30 s).
        assert slowest < TIMEOUT + 1.5, slowest
        print(f"{fault}: 24 answers, all 503, the slowest after {slowest:.2f} s")
        first, second = await asyncio.to_thread(same_connection_twice, served.url, served.shop_key)
        assert (first, second) == (503, 503)
        served.proxy.heal()
        await recovered(client)
        assert await asyncio.to_thread(same_connection_twice, served.url, served.shop_key) == (
            200,
            200,
        )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_full_disk_on_sqlite_gives_503s_with_or_without_a_key(database_url: str) -> None:
    """SQLite's "database or disk is full", made real by capping the file at its size."""
    db = Database.connect(database_url)

    @event.listens_for(db.engine.sync_engine, "connect")
    def full(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA page_count")
        pages = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count={pages}")
        cursor.close()

    async with db.transaction() as session:
        shop_key, _ = await ApiKeyRepository(session).create("full")
    app = create_app(Settings(database_url=database_url), database=db, gateway=FakeGateway())
    headers = {"Authorization": f"Bearer {shop_key}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://paydesk.test", headers=headers
    ) as client:
        big = {**ORDER, "items": [{**ORDER["items"][0], "name": "x" * 200}] * 100}
        for n in range(20):
            key = {"Idempotency-Key": f"full-{n}"} if n % 2 else {}
            response = await client.post("/api/orders", json=big, headers=key)
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "database_unavailable"
    await db.dispose()
