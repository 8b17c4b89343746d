from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from paydesk.app import create_app
from paydesk.composition import Services
from paydesk.config import Settings
from paydesk.db import Database
from paydesk.gateway.fake import FakeGateway
from paydesk.operators.models import OperatorSession
from paydesk.retry import RetryPolicy
from paydesk.unit_of_work import UnitOfWork
from paydesk.webhooks.processor import InboxProcessor
from tests import stripe_events

WEBHOOK_SECRETS = ("whsec_previous_secret", "whsec_current_secret")


@dataclass
class Api:
    """paydesk's API in this process on a real database, with an in-memory Stripe."""

    client: httpx.AsyncClient
    db: Database
    services: Services
    stripe: FakeGateway
    shop_key: str
    processor: InboxProcessor[UnitOfWork]
    transport: httpx.ASGITransport

    async def post_event(
        self, event: dict[str, Any], *, secret: str = WEBHOOK_SECRETS[1], **headers: str
    ) -> httpx.Response:
        body = stripe_events.dumps(event)
        return await self.client.post(
            "/api/webhooks/stripe",
            content=body,
            headers={"Stripe-Signature": stripe_events.sign(body, secret), **headers},
        )

    async def paid_order(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """An order and its payment, with a PaymentIntent that nobody has confirmed yet."""
        order = await self.create_order()
        response = await self.client.post("/api/payments", json={"order_id": order["id"]})
        assert response.status_code == 200, response.text
        payment: dict[str, Any] = response.json()
        return order, payment

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
    app = create_app(
        Settings(stripe_webhook_secrets=WEBHOOK_SECRETS), database=database, gateway=stripe
    )
    services: Services = app.state.services
    shop_key, _ = await services.auth.create_key("tests")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://paydesk.test",
        headers={"Authorization": f"Bearer {shop_key}"},
    ) as client:
        yield Api(
            client=client,
            db=database,
            services=services,
            stripe=stripe,
            shop_key=shop_key,
            processor=services.processor.with_retry(
                RetryPolicy(max_attempts=3, base_delay_seconds=0)
            ),
            transport=transport,
        )


OPERATOR_EMAIL = "operator@example.com"
OPERATOR_PASSWORD = "correct horse battery staple"


@dataclass
class Dashboard:
    """A browser-like client signed in to the dashboard (cookies kept, no API key)."""

    client: httpx.AsyncClient
    csrf_token: str

    async def post(self, url: str, data: dict[str, str] | None = None) -> httpx.Response:
        """A form post with this session's CSRF token, as the dashboard's own forms send."""
        return await self.client.post(url, data={"csrf_token": self.csrf_token, **(data or {})})


@pytest.fixture
async def dashboard(api: Api) -> AsyncIterator[Dashboard]:
    await api.services.operators.create(OPERATOR_EMAIL, OPERATOR_PASSWORD)
    async with httpx.AsyncClient(transport=api.transport, base_url="http://paydesk.test") as client:
        form = await client.get("/dashboard/login")
        assert form.status_code == 200, form.text
        signed_in = await client.post(
            "/dashboard/login",
            data={
                "csrf_token": client.cookies["paydesk_login_csrf"],
                "email": OPERATOR_EMAIL,
                "password": OPERATOR_PASSWORD,
                "next": "/dashboard",
            },
        )
        assert signed_in.status_code == 303, signed_in.text
        async with api.db.sessions() as session:
            csrf_token = await session.scalar(select(OperatorSession.csrf_token))
        assert csrf_token is not None
        yield Dashboard(client=client, csrf_token=csrf_token)
