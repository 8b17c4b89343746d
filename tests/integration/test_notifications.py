"""Notifications: the customer and the shop hear about every payment, refund and dispute,
exactly once, over a real SMTP server and a real HTTP receiver on loopback."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import func, select
from standardwebhooks import Webhook

from paydesk.config import Settings
from paydesk.db import new_id, utcnow
from paydesk.notifications.delivery import DeliveryPolicy, NotificationDelivery
from paydesk.notifications.mailer import Mailer
from paydesk.notifications.models import (
    DeliveryAttempt,
    EndpointStatus,
    Notification,
    ShopWebhookEndpoint,
)
from paydesk.notifications.repository import OutboxRepository
from paydesk.notifications.shop_webhooks import WebhookSender
from paydesk.payments.models import Payment
from paydesk.retry import RetryPolicy
from paydesk.webhooks.models import EventStatus, InboxEvent
from tests import stripe_events as se
from tests.fixtures.smtp import SmtpServer, parts
from tests.integration.conftest import Api

PUBLIC_URL = "https://pay.shop.example"
QUICK = DeliveryPolicy(
    email=RetryPolicy(max_attempts=3, base_delay_seconds=0),
    webhook=RetryPolicy(max_attempts=3, base_delay_seconds=0),
)
PATIENT = DeliveryPolicy(
    email=RetryPolicy(max_attempts=3, base_delay_seconds=600),
    webhook=RetryPolicy(max_attempts=3, base_delay_seconds=600),
)


@dataclass
class Receiver:
    """The shop's backend: answers each webhook with the next planned status (else 204)."""

    port: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=self.answers.pop(0) if self.answers else 204)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hooks", found.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    found.port = listener.getsockname()[1]
    site = web.SockSite(runner, listener)
    await site.start()
    yield found
    await runner.cleanup()


def subject(message: EmailMessage) -> str:
    """The subject as a mail client shows it: a long one arrives folded."""
    return " ".join(str(message["Subject"]).split())


def delivery(api: Api, smtp: SmtpServer, policy: DeliveryPolicy = QUICK) -> NotificationDelivery:
    mailer = Mailer(smtp.settings, public_url=PUBLIC_URL, links=api.services.auth.links)
    sender = WebhookSender(Settings(webhook_allowed_networks=("127.0.0.0/8",)))
    return NotificationDelivery(api.services.units, mailer, sender, policy)


@pytest.fixture
async def outbox_worker(api: Api, smtp_server: SmtpServer) -> AsyncIterator[NotificationDelivery]:
    worker = delivery(api, smtp_server)
    yield worker
    await worker.close()


async def succeed(api: Api) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    order, payment = await api.paid_order()
    pi, amount = payment["stripe_payment_intent_id"], order["amount"]
    event = se.event("payment_intent.succeeded", se.payment_intent(pi, "succeeded", amount))
    assert (await api.post_event(event)).status_code == 200
    await api.processor.drain()
    return order, payment, event


async def rows(api: Api, **where: Any) -> list[Notification]:
    async with api.db.sessions() as session:
        query = select(Notification).order_by(Notification.created_at, Notification.kind)
        for name, value in where.items():
            query = query.where(getattr(Notification, name) == value)
        return list(await session.scalars(query))


async def register(api: Api, url: str, events: list[str] | None = None) -> ShopWebhookEndpoint:
    endpoint = ShopWebhookEndpoint(
        id=new_id("we"),
        url=url,
        events=json.dumps(events or ["*"]),
        secret="whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
        status=EndpointStatus.ENABLED,
    )
    async with api.db.transaction() as session:
        session.add(endpoint)
    return endpoint


async def test_a_succeeded_payment_sends_one_receipt(
    api: Api, smtp_server: SmtpServer, outbox_worker: NotificationDelivery
) -> None:
    order, payment, _ = await succeed(api)
    assert await outbox_worker.drain() == 1
    [message] = smtp_server.messages
    assert subject(message) == f"Your receipt for order {order['id']}"
    assert message["To"] == "ada@example.com"
    assert message["From"] == "Tee Shop <orders@shop.example>"
    assert smtp_server.keeper.envelopes == [("orders@shop.example", ["ada@example.com"])]
    body = parts(message)
    assert set(body) == {"plain", "html"}
    for text in body.values():
        assert "51.98 USD" in text
        assert "T-shirt" in text
        assert "Mug" in text
        assert payment["id"] in text
    assert "2 x T-shirt (19.99 USD each)  39.98 USD" in body["plain"]
    assert "<img" not in body["html"]
    assert "http" not in body["html"].split("<body", 1)[1]
    [row] = await rows(api, channel="email")
    assert (row.kind, row.status, row.attempts) == ("receipt", "delivered", 1)
    detail = (await api.client.get(f"/api/notifications/{row.id}")).json()
    [attempt] = detail["delivery_attempts"]
    assert attempt["succeeded"] is True
    assert "accepted" in attempt["smtp_reply"]
    assert attempt["error"] is None


async def test_the_same_event_ten_times_at_once_sends_one_email(
    api: Api, smtp_server: SmtpServer
) -> None:
    order, payment = await api.paid_order()
    pi, amount = payment["stripe_payment_intent_id"], order["amount"]
    event = se.event("payment_intent.succeeded", se.payment_intent(pi, "succeeded", amount))
    responses = await asyncio.gather(*[api.post_event(event) for _ in range(10)])
    assert {r.status_code for r in responses} == {200}
    await asyncio.gather(api.processor.drain(), api.processor.drain())
    assert len(await rows(api, channel="email")) == 1
    workers = [delivery(api, smtp_server) for _ in range(3)]
    try:
        taken = await asyncio.gather(*(w.drain() for w in workers))
    finally:
        for w in workers:
            await w.close()
    assert sum(taken) == 1
    assert len(smtp_server.messages) == 1
    # A replay of the processed event, or the same fact from the API, queues nothing more.
    await api.client.post("/api/payments/verify", json={"payment_id": payment["id"]})
    assert len(await rows(api, channel="email")) == 1


async def test_a_mail_outage_is_retried_and_delivered_once_after(
    api: Api, smtp_server: SmtpServer
) -> None:
    smtp_server.stop()
    worker = delivery(api, smtp_server, PATIENT)
    try:
        order, payment, event = await succeed(api)
        async with api.db.sessions() as session:
            assert (await session.get(InboxEvent, event["id"])).status == EventStatus.PROCESSED  # type: ignore[union-attr]
            assert (await session.get(Payment, payment["id"])).status == "succeeded"  # type: ignore[union-attr]
        assert await worker.drain() == 1  # one attempt, then due again in minutes
        [row] = await rows(api, channel="email")
        assert (row.status, row.attempts) == ("pending", 1)
        assert "SMTPConnect" in (row.last_error or "")
        listed = (await api.client.get("/api/notifications?status=pending")).json()["data"]
        assert [n["id"] for n in listed] == [row.id]
        smtp_server.start()
        assert await worker.drain() == 0  # not due yet
        retried = await api.client.post(f"/api/notifications/{row.id}/retry")
        assert retried.status_code == 200, retried.text
        assert await worker.drain() == 1
        assert await worker.drain() == 0
    finally:
        await worker.close()
    [message] = smtp_server.messages
    assert subject(message) == f"Your receipt for order {order['id']}"
    detail = (await api.client.get(f"/api/notifications/{row.id}")).json()
    assert detail["status"] == "delivered"
    assert [a["succeeded"] for a in detail["delivery_attempts"]] == [False, True]
    assert detail["delivery_attempts"][0]["error"]
    assert detail["delivery_attempts"][0]["duration_ms"] >= 0


async def test_a_dead_email_comes_back_with_retry(
    api: Api, smtp_server: SmtpServer, outbox_worker: NotificationDelivery
) -> None:
    smtp_server.stop()
    _, payment, _ = await succeed(api)
    assert await outbox_worker.drain() == 3  # three attempts, no wait between them
    [row] = await rows(api, channel="email")
    assert (row.status, row.attempts) == ("dead", 3)
    listed = await api.client.get(f"/api/notifications?status=dead&payment_id={payment['id']}")
    assert [n["id"] for n in listed.json()["data"]] == [row.id]
    smtp_server.start()
    response = await api.client.post(f"/api/notifications/{row.id}/retry")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["attempts"]) == ("pending", 0)
    assert await outbox_worker.drain() == 1
    assert len(smtp_server.messages) == 1
    again = await api.client.post(f"/api/notifications/{row.id}/retry")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "notification_delivered"
    async with api.db.sessions() as session:
        attempts = await session.scalar(
            select(func.count()).where(DeliveryAttempt.notification_id == row.id)
        )
    assert attempts == 4


async def test_a_refund_tells_the_customer_it_is_on_its_way(
    api: Api, smtp_server: SmtpServer, outbox_worker: NotificationDelivery
) -> None:
    order, payment, _ = await succeed(api)
    pi = payment["stripe_payment_intent_id"]
    for refund_id, amount in (("re_part", 1000), ("re_rest", order["amount"] - 1000)):
        event = se.event("refund.updated", se.refund(pi, refund_id, amount))
        assert (await api.post_event(event)).status_code == 200
        await api.processor.drain()
    # The same refund again changes nothing.
    await api.post_event(se.event("refund.updated", se.refund(pi, "re_part", 1000)))
    await api.processor.drain()
    await outbox_worker.drain()
    # Due together, the three are sent concurrently: they may arrive in any order.
    expected = f"A refund for order {order['id']} is on its way"
    subjects = sorted(subject(m) for m in smtp_server.messages)
    assert subjects == [expected, expected, f"Your receipt for order {order['id']}"]
    refunds = [parts(m) for m in smtp_server.messages if subject(m) == expected]
    partial = next(p for p in refunds if "10.00 USD" in p["plain"])
    full = next(p for p in refunds if p is not partial)
    assert "We refunded 10.00 USD of your payment of 51.98 USD" in partial["plain"]
    assert "41.98 USD" in full["html"]
    assert "refunded in full" in full["plain"]


async def test_a_failed_payment_links_back_to_pay(
    api: Api, smtp_server: SmtpServer, outbox_worker: NotificationDelivery
) -> None:
    order, payment = await api.paid_order()
    failed = se.payment_intent(
        payment["stripe_payment_intent_id"], "requires_payment_method", order["amount"],
        last_payment_error={"code": "card_declined", "decline_code": "insufficient_funds",
                            "message": "Your card has insufficient funds."},
    )  # fmt: skip
    later = int(time.time()) + 5  # after the PaymentIntent was made, to the second
    await api.post_event(se.event("payment_intent.payment_failed", failed, created=later))
    await api.processor.drain()
    await outbox_worker.drain()
    [message] = smtp_server.messages
    assert subject(message) == f"Your payment for order {order['id']} did not go through"
    found = re.search(
        rf"{PUBLIC_URL}/checkout/{order['id']}\?token=(pd_cl_\S+)", parts(message)["plain"]
    )
    assert found is not None, parts(message)["plain"]
    assert f'href="{found.group(0)}"' in parts(message)["html"]
    # The link opens this order's checkout page, and that order only.
    path = found.group(0).removeprefix(PUBLIC_URL)
    page = await api.client.get(path, headers={"Authorization": ""})
    assert page.status_code == 200
    assert order["id"] in page.text
    other = await api.create_order()
    foreign = path.replace(order["id"], other["id"], 1)
    assert (await api.client.get(foreign, headers={"Authorization": ""})).status_code == 404
    link = {"Authorization": f"Bearer {found.group(1)}"}
    seen = await api.client.get(f"/api/orders/{order['id']}", headers=link)
    assert seen.status_code == 200, seen.text
    assert (await api.client.get(f"/api/orders/{other['id']}", headers=link)).status_code == 404


async def test_the_shop_hears_over_signed_webhooks(
    api: Api, smtp_server: SmtpServer, outbox_worker: NotificationDelivery, receiver: Receiver
) -> None:
    endpoint = await register(api, receiver.url)
    only_disputes = await register(api, receiver.url, ["dispute.opened"])
    order, payment, _ = await succeed(api)
    pi = payment["stripe_payment_intent_id"]
    await api.post_event(se.event("refund.updated", se.refund(pi, "re_1", 500)))
    await api.processor.drain()
    await outbox_worker.drain()
    types = []
    for headers, body in receiver.received:
        Webhook(endpoint.secret).verify(body, headers)
        message = json.loads(body)
        types.append(message["type"])
        assert len(body) < 20_000
        assert message["data"]["payment"]["id"] == payment["id"]
        assert message["data"]["payment"]["order_id"] == order["id"]
    assert sorted(types) == ["order.paid", "payment.partially_refunded", "payment.succeeded"]
    refunded = next(json.loads(b) for _, b in receiver.received if b"refunded" in b)
    assert refunded["data"]["refund"] == {"id": "re_1", "amount": 500, "full": False}
    assert refunded["data"]["payment"]["status"] == "partially_refunded"
    assert len(await rows(api, recipient=only_disputes.id)) == 0
    assert {r.status for r in await rows(api, channel="webhook")} == {"delivered"}


async def test_an_endpoint_that_is_gone_is_disabled(
    api: Api, smtp_server: SmtpServer, outbox_worker: NotificationDelivery, receiver: Receiver
) -> None:
    endpoint = await register(api, receiver.url, ["payment.succeeded"])
    receiver.answers = [500, 410]
    await succeed(api)
    await outbox_worker.drain()
    [row] = await rows(api, channel="webhook")
    assert (row.status, row.attempts) == ("dead", 2)
    async with api.db.sessions() as session:
        found = await session.get(ShopWebhookEndpoint, endpoint.id)
    assert found is not None
    assert found.status == EndpointStatus.DISABLED
    assert "410" in (found.disabled_reason or "")
    assert found.failing_since is not None
    detail = (await api.client.get(f"/api/notifications/{row.id}")).json()
    assert [a["status_code"] for a in detail["delivery_attempts"]] == [500, 410]


async def test_a_dispute_is_opened_then_closed_for_the_shop(
    api: Api, smtp_server: SmtpServer, outbox_worker: NotificationDelivery, receiver: Receiver
) -> None:
    await register(api, receiver.url, ["dispute.opened", "dispute.closed"])
    order, payment, _ = await succeed(api)
    pi, amount = payment["stripe_payment_intent_id"], order["amount"]
    for kind, status in (("created", "needs_response"), ("updated", "under_review"),
                         ("closed", "lost")):  # fmt: skip
        await api.post_event(
            se.event(f"charge.dispute.{kind}", se.dispute(pi, "dp_1", amount, status))
        )
        await api.processor.drain()
    await outbox_worker.drain()
    received = [json.loads(body) for _, body in receiver.received]
    assert sorted((m["type"], m["data"]["dispute"]) for m in received) == [
        ("dispute.closed", {"id": "dp_1", "status": "lost"}),
        ("dispute.opened", {"id": "dp_1", "status": "needs_response"}),
    ]
    [receipt] = smtp_server.messages  # the customer is not written to about a dispute
    assert subject(receipt).startswith("Your receipt")


async def test_a_failing_outbox_never_holds_up_the_payment(
    api: Api, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: Any) -> list[ShopWebhookEndpoint]:
        raise RuntimeError("endpoint table unreadable")

    monkeypatch.setattr(OutboxRepository, "enabled_endpoints", broken)
    order, payment, event = await succeed(api)
    async with api.db.sessions() as session:
        assert (await session.get(InboxEvent, event["id"])).status == EventStatus.PROCESSED  # type: ignore[union-attr]
        assert (await session.get(Payment, payment["id"])).status == "succeeded"  # type: ignore[union-attr]
    assert (await api.client.get(f"/api/orders/{order['id']}")).json()["status"] == "paid"
    assert await rows(api) == []


async def test_an_email_that_cannot_be_rendered_is_dead_at_once(
    api: Api, smtp_server: SmtpServer, outbox_worker: NotificationDelivery
) -> None:
    await succeed(api)
    [row] = await rows(api, channel="email")
    async with api.db.transaction() as session:
        found = await session.get(Notification, row.id)
        assert found is not None
        found.payload = '{"template": "receipt"}'
    await outbox_worker.drain()
    [row] = await rows(api, channel="email")
    assert (row.status, row.attempts) == ("dead", 1)
    assert "cannot render" in (row.last_error or "")
    assert smtp_server.messages == []


async def test_notifications_need_the_shop_key(api: Api) -> None:
    listed = await api.client.get("/api/notifications", headers={"Authorization": ""})
    assert listed.status_code == 401
    missing = await api.client.get("/api/notifications/ntf_nothing")
    assert missing.status_code == 404


async def test_a_payment_held_for_review_sends_no_receipt(api: Api, receiver: Receiver) -> None:
    await register(api, receiver.url)
    order, payment = await api.paid_order()
    intent = se.payment_intent(payment["stripe_payment_intent_id"], "succeeded", 100)
    await api.post_event(se.event("payment_intent.succeeded", intent))
    await api.processor.drain()
    assert (await api.client.get(f"/api/orders/{order['id']}")).json()["status"] != "paid"
    assert await rows(api, channel="email") == []
    [shop] = await rows(api, channel="webhook")
    assert shop.kind == "payment.succeeded"
    assert "differs" in json.loads(shop.payload)["data"]["review_reason"]


async def test_an_endpoint_failing_for_days_is_disabled_and_says_why(
    api: Api, smtp_server: SmtpServer, outbox_worker: NotificationDelivery, receiver: Receiver
) -> None:
    endpoint = await register(api, receiver.url, ["payment.succeeded"])
    async with api.db.transaction() as session:
        found = await session.get(ShopWebhookEndpoint, endpoint.id)
        assert found is not None
        found.failing_since = utcnow() - timedelta(days=4)
    receiver.answers = [500]
    await succeed(api)
    await outbox_worker.drain()
    async with api.db.sessions() as session:
        found = await session.get(ShopWebhookEndpoint, endpoint.id)
    assert found is not None
    assert found.status == EndpointStatus.DISABLED
    assert "failing since" in (found.disabled_reason or "")
