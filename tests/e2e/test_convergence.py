"""Stripe delivers at least once, in any order, and sometimes not at all. With the sandbox
dropping 20 % of deliveries, duplicating 30 % and shuffling them, every payment still ends
where Stripe says it is: the webhooks do most of it, backfill and the reconciler the rest."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from typing import Any

import httpx
import stripe
from sqlalchemy import func, select

from paydesk.app import create_app
from paydesk.auth.repository import ApiKeyRepository
from paydesk.composition import build
from paydesk.config import Settings
from paydesk.db import Database, create_engine
from paydesk.sandbox import SandboxConfig, SandboxServer, WebhookEndpointConfig
from paydesk.webhooks.backfill import backfill
from paydesk.webhooks.models import InboxEvent
from paydesk.webhooks.receiver import PATH
from tests.fixtures.paydesk import E2E_WORKER, ServerThread, loopback_socket

KEY = "sk_test_convergence"
# Where Stripe.js would send the browser back to after a redirect; never followed here.
RETURN_URL = "https://shop.example/checkout/result"
ITEMS = [{"sku": "X", "name": "Thing", "unit_amount": 4000, "quantity": 1}]


class Shop:
    def __init__(self, base_url: str, shop_key: str, stripe_client: stripe.StripeClient) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {shop_key}"}, timeout=30
        )
        self.stripe = stripe_client

    async def start(self, capture_method: str = "automatic") -> dict[str, Any]:
        """An order and its payment, up to the client secret: what the browser gets."""
        order = await self.http.post(
            "/api/orders",
            json={"items": ITEMS, "currency": "eur", "customer_email": "c@example.com",
                  "capture_method": capture_method},
        )  # fmt: skip
        payment = await self.http.post("/api/payments", json={"order_id": order.json()["id"]})
        started: dict[str, Any] = payment.json()
        return started

    def confirm(self, payment: dict[str, Any], method: str) -> Any:
        """The browser confirms with Stripe directly: paydesk hears of it only from Stripe."""
        intent_id = payment["stripe_payment_intent_id"]
        try:
            return self.stripe.v1.payment_intents.confirm(
                intent_id, {"payment_method": method, "return_url": RETURN_URL}
            )
        except stripe.CardError:
            return None

    def card(self, number: str) -> str:
        card = {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}
        return self.stripe.v1.payment_methods.create({"type": "card", "card": card}).id


async def test_misdelivered_webhooks_converge_with_backfill_and_reconcile(
    database_url: str,
) -> None:
    listener = loopback_socket()
    secret = "whsec_" + secrets.token_urlsafe(24)
    port = listener.getsockname()[1]
    config = SandboxConfig(
        webhook_endpoints=(WebhookEndpointConfig(f"http://127.0.0.1:{port}{PATH}", secret),),
        delivery_base_delay_seconds=0.2,
        dispute_delay_seconds=0.2,
        webhook_drop_rate=0.2,
        webhook_duplicate_rate=0.3,
        webhook_shuffle_window_seconds=1.0,
        webhook_chaos_seed=20261126,
    )
    with SandboxServer(config) as sandbox:
        settings = Settings(
            database_url=database_url,
            stripe_secret_key=KEY,
            stripe_api_base=sandbox.url,
            stripe_webhook_secrets=(secret,),
            stripe_max_retries=1,
        )
        db = Database(create_engine(database_url))
        async with db.transaction() as session:
            shop_key, _ = await ApiKeyRepository(session).create("convergence")
        http_client = stripe.RequestsClient()
        client = stripe.StripeClient(
            KEY, base_addresses={"api": sandbox.url}, http_client=http_client
        )
        with ServerThread(create_app(settings, worker=E2E_WORKER), listener) as server:
            shop = Shop(server.url, shop_key, client)
            expected: dict[str, str] = {}
            for _ in range(2):
                paid = await shop.start()
                shop.confirm(paid, "pm_card_visa")
                expected[paid["id"]] = "succeeded"

                retried = await shop.start()
                shop.confirm(retried, "pm_card_chargeDeclined")
                shop.confirm(retried, "pm_card_visa")
                expected[retried["id"]] = "succeeded"

                declined = await shop.start()
                shop.confirm(declined, "pm_card_chargeDeclinedInsufficientFunds")
                expected[declined["id"]] = "failed"

                partly = await shop.start()
                shop.confirm(partly, "pm_card_visa")
                client.v1.refunds.create(
                    {"payment_intent": partly["stripe_payment_intent_id"], "amount": 1500}
                )
                expected[partly["id"]] = "partially_refunded"

                refunded = await shop.start()
                shop.confirm(refunded, "pm_card_visa")
                client.v1.refunds.create({"payment_intent": refunded["stripe_payment_intent_id"]})
                expected[refunded["id"]] = "refunded"

                released = await shop.start(capture_method="manual")
                shop.confirm(released, "pm_card_visa")
                client.v1.payment_intents.cancel(released["stripe_payment_intent_id"])
                expected[released["id"]] = "canceled"

                disputed = await shop.start()
                shop.confirm(disputed, shop.card("4000000000000259"))
                expected[disputed["id"]] = "disputed"

                expected[(await shop.start())["id"]] = "pending"

            await asyncio.sleep(3)  # the shuffle window, the disputes, the retries of 5xx
            for dispute in client.v1.disputes.list({"limit": 100}).data:
                sandbox.close_dispute(dispute.id, "lost")
            await asyncio.sleep(2)

            services = build(settings, database=db)
            await backfill(services.units, services.gateway, livemode=False)
            await services.processor.drain()
            await services.payments.reconcile(older_than=timedelta(0))
            await services.gateway.close()
            async with db.sessions() as session:
                sources = dict(
                    (await session.execute(
                        select(InboxEvent.source, func.count()).group_by(InboxEvent.source)
                    )).all()
                )  # fmt: skip

            statuses = {}
            for payment_id in expected:
                statuses[payment_id] = (await shop.http.get(f"/api/payments/{payment_id}")).json()[
                    "status"
                ]
            await shop.http.aclose()
        http_client.close()
        await db.dispose()
    assert statuses == expected
    # Deliveries were lost, and the event list made up for them.
    assert sources["backfill"] > 0
    assert sources["webhook"] > 0
