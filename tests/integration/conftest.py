from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from paydesk.app import create_app
from paydesk.auth.service import create_api_key
from paydesk.config import Settings
from paydesk.db import Database
from paydesk.gateway.fake import FakeGateway


@dataclass
class Api:
    """paydesk's API in this process on a real database, with an in-memory Stripe."""

    client: httpx.AsyncClient
    db: Database
    stripe: FakeGateway
    shop_key: str

    async def create_order(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "items": [
                {"sku": "TEE-1", "name": "T-shirt", "unit_amount": 1999, "quantity": 2},
                {"sku": "MUG-1", "name": "Mug", "unit_amount": 1200, "quantity": 1},
            ],
            "currency": "usd",
            "customer_email": "ada@example.com",
            **overrides,
        }
        response = await self.client.post("/api/orders", json=body)
        assert response.status_code == 201, response.text
        order: dict[str, Any] = response.json()
        return order


@pytest.fixture
async def api(database: Database) -> AsyncIterator[Api]:
    stripe = FakeGateway()
    app = create_app(Settings(), database=database, gateway=stripe)
    async with database.transaction() as session:
        shop_key, _ = await create_api_key(session, "tests")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://paydesk.test",
        headers={"Authorization": f"Bearer {shop_key}"},
    ) as client:
        yield Api(client=client, db=database, stripe=stripe, shop_key=shop_key)
