"""A `paydesk worker` process SIGKILLed after a message got through and before it recorded
so. Neither SMTP nor HTTP can be made exactly-once: the row is sent again once its lease
runs out, so the repeat must be recognisable, under the same Message-ID (e-mail) or
webhook-id (shop webhook), and the window in which a kill causes one must be narrow."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage

import pytest
from sqlalchemy import select, update
from standardwebhooks import Webhook

from paydesk.db import new_id, utcnow
from paydesk.notifications.models import (
    DeliveryAttempt,
    EndpointStatus,
    Notification,
    NotificationStatus,
    ShopWebhookEndpoint,
)
from paydesk.notifications.outbox import SENDING
from paydesk.notifications.shop_webhooks import new_secret
from tests import stripe_events as se
from tests.fixtures.kill_switch import KillingReceiver, KillingSmtpServer, killing_receiver
from tests.fixtures.smtp import parts
from tests.integration.conftest import Api

SENDER = "Tee Shop <orders@shop.example>"
DEADLINE_SECONDS = 30  # for a loaded machine; each step takes well under a second


class Workers:
    """`paydesk worker` processes on the test's database, mail server and shop; any still
    running when the test ends is killed."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.started: list[asyncio.subprocess.Process] = []

    async def start(self) -> asyncio.subprocess.Process:
        worker = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "paydesk.cli", "worker"),
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self.started.append(worker)
        return worker

    async def kill_all(self) -> None:
        for worker in self.started:
            if worker.returncode is None:
                worker.kill()
            await worker.communicate()


@pytest.fixture
def smtp() -> Iterator[KillingSmtpServer]:
    server = KillingSmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def shop() -> AsyncIterator[KillingReceiver]:
    async with killing_receiver() as receiver:
        yield receiver


@pytest.fixture
async def workers(database_url: str, smtp: KillingSmtpServer) -> AsyncIterator[Workers]:
    env = {
        **os.environ,
        "PAYDESK_DATABASE_URL": database_url,
        "STRIPE_SECRET_KEY": "sk_test_killed",
        # The worker's backfill and reconciler are refused there at once, and it carries on.
        "STRIPE_API_BASE": "http://127.0.0.1:9",
        "PAYDESK_STRIPE_MAX_RETRIES": "0",
        "PAYDESK_SMTP_HOST": "127.0.0.1",
        "PAYDESK_SMTP_PORT": str(smtp.port),
        "PAYDESK_MAIL_FROM": SENDER,
        "PAYDESK_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    found = Workers(env)
    try:
        yield found
    finally:
        await found.kill_all()


async def failure(worker: asyncio.subprocess.Process, what: str) -> AssertionError:
    """What the test waited for, and what the worker said."""
    if worker.returncode is None:
        worker.kill()
    out, err = await worker.communicate()
    said = (out + err).decode()[-3000:]
    return AssertionError(f"{what} (the worker ended with {worker.returncode}): {said}")


async def until(done: threading.Event, worker: asyncio.subprocess.Process, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not done.is_set():
        if worker.returncode is not None or time.monotonic() > deadline:
            await asyncio.sleep(0.2)  # a kill seen before the receiver has said it did
            if done.is_set():
                return
            raise await failure(worker, f"the worker never {what}")
        await asyncio.sleep(0.02)


async def until_delivered(
    api: Api, notification_id: str, worker: asyncio.subprocess.Process
) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while (row := await reload(api, notification_id)).status != NotificationStatus.DELIVERED:
        if worker.returncode is not None or time.monotonic() > deadline:
            raise await failure(worker, f"{notification_id} is still {row.status}")
        await asyncio.sleep(0.05)


async def killed(worker: asyncio.subprocess.Process) -> None:
    await asyncio.wait_for(worker.communicate(), DEADLINE_SECONDS)
    assert worker.returncode == -signal.SIGKILL


async def stopped(worker: asyncio.subprocess.Process) -> None:
    worker.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(worker.communicate(), DEADLINE_SECONDS)
    assert worker.returncode == 0, (out + err).decode()


async def succeed(api: Api) -> None:
    """A paid order: its receipt, and a webhook to every subscribed endpoint, are queued."""
    order, payment = await api.paid_order()
    pi, amount = payment["stripe_payment_intent_id"], order["amount"]
    event = se.event("payment_intent.succeeded", se.payment_intent(pi, "succeeded", amount))
    assert (await api.post_event(event)).status_code == 200
    await api.processor.drain()


async def only(api: Api, channel: str) -> Notification:
    async with api.db.sessions() as session:
        query = select(Notification).where(Notification.channel == channel)
        [row] = (await session.scalars(query)).all()
        return row


async def reload(api: Api, notification_id: str) -> Notification:
    async with api.db.sessions() as session:
        row = await session.get(Notification, notification_id)
        assert row is not None
        return row


async def attempts(api: Api, notification_id: str) -> list[DeliveryAttempt]:
    async with api.db.sessions() as session:
        found = await session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.notification_id == notification_id)
            .order_by(DeliveryAttempt.id)
        )
        return list(found)


async def lease_ends_now(api: Api) -> None:
    """Makes the rows the killed worker held due again. Its lease would do so in five
    minutes; `paydesk worker` has no setting for a shorter one, so the test ends it."""
    async with api.db.transaction() as session:
        await session.execute(
            update(Notification)
            .where(Notification.status == NotificationStatus.PENDING)
            .values(next_attempt_at=utcnow())
        )


def message_ids(messages: list[EmailMessage]) -> dict[str, set[str]]:
    """The Message-IDs under which each e-mail arrived, by what its reader sees of it."""
    found: dict[str, set[str]] = {}
    for message in messages:
        seen = f"{message['To']} {' '.join(str(message['Subject']).split())}"
        found.setdefault(seen, set()).add(str(message["Message-ID"]))
    return found


async def test_a_receipt_accepted_before_the_kill_is_sent_again_under_its_message_id(
    api: Api, smtp: KillingSmtpServer, workers: Workers
) -> None:
    await succeed(api)
    receipt = await only(api, "email")

    doomed = await workers.start()
    smtp.kill_on_data(doomed.pid)
    await until(smtp.killed, doomed, "reached the end of DATA")
    await killed(doomed)
    [kept] = smtp.messages  # the server has it; the worker never heard the 250
    row = await reload(api, receipt.id)
    assert (row.status, row.attempts) == (NotificationStatus.PENDING, 1)

    await lease_ends_now(api)
    survivor = await workers.start()
    await until_delivered(api, receipt.id, survivor)
    await stopped(survivor)

    first, again = smtp.messages
    assert first is kept
    assert first["Message-ID"] == again["Message-ID"] == f"<{receipt.id}@shop.example>"
    assert parts(first) == parts(again)
    assert list(message_ids(smtp.messages).values()) == [{f"<{receipt.id}@shop.example>"}]
    row = await reload(api, receipt.id)
    assert (row.status, row.attempts, row.last_error) == (NotificationStatus.DELIVERED, 2, None)
    unanswered, delivered = await attempts(api, receipt.id)
    assert (unanswered.succeeded, unanswered.error, unanswered.smtp_reply) == (False, SENDING, None)
    assert (delivered.succeeded, delivered.error) == (True, None)
    assert "accepted" in (delivered.smtp_reply or "")


async def test_a_receipt_is_recorded_delivered_while_the_server_has_not_answered_quit(
    api: Api, smtp: KillingSmtpServer, workers: Workers
) -> None:
    await succeed(api)
    receipt = await only(api, "email")
    smtp.hold_quit()

    worker = await workers.start()
    await until(smtp.quit_waiting, worker, "said QUIT")
    await until_delivered(api, receipt.id, worker)
    # Recorded before the worker stopped waiting for the goodbye (it would wait for as long
    # as the SMTP timeout), so a kill from now on sends nothing again.
    assert smtp.quit_unanswered(), "recorded only once the worker gave up waiting for QUIT"
    worker.send_signal(signal.SIGKILL)
    await killed(worker)

    [message] = smtp.messages
    assert message["Message-ID"] == f"<{receipt.id}@shop.example>"
    row = await reload(api, receipt.id)
    assert (row.status, row.attempts) == (NotificationStatus.DELIVERED, 1)
    [attempt] = await attempts(api, receipt.id)
    assert attempt.succeeded is True
    assert "accepted" in (attempt.smtp_reply or "")


async def test_a_webhook_received_before_the_kill_is_redelivered_under_its_webhook_id(
    api: Api, shop: KillingReceiver, workers: Workers
) -> None:
    endpoint = ShopWebhookEndpoint(
        id=new_id("we"),
        url=shop.url,
        events=json.dumps(["payment.succeeded"]),
        secret=new_secret(),
        status=EndpointStatus.ENABLED,
    )
    async with api.db.transaction() as session:
        session.add(endpoint)
    await succeed(api)
    hook = await only(api, "webhook")

    doomed = await workers.start()
    shop.kill_on_request(doomed.pid)
    await until(shop.killed, doomed, "posted to the shop")
    await killed(doomed)
    assert len(shop.received) == 1  # the shop has it; the worker never heard the 204
    row = await reload(api, hook.id)
    assert (row.status, row.attempts) == (NotificationStatus.PENDING, 1)

    await lease_ends_now(api)
    survivor = await workers.start()
    await until_delivered(api, hook.id, survivor)
    await stopped(survivor)

    (first_headers, first_body), (again_headers, again_body) = shop.received
    assert first_headers["webhook-id"] == again_headers["webhook-id"] == hook.id
    assert again_body == first_body
    verifier = Webhook(endpoint.secret)
    assert verifier.verify(again_body, again_headers)["type"] == "payment.succeeded"
    assert verifier.verify(first_body, first_headers) == verifier.verify(again_body, again_headers)
    row = await reload(api, hook.id)
    assert (row.status, row.attempts) == (NotificationStatus.DELIVERED, 2)
    unanswered, delivered = await attempts(api, hook.id)
    assert (unanswered.succeeded, unanswered.error, unanswered.status_code) == (
        False,
        SENDING,
        None,
    )
    assert (delivered.succeeded, delivered.status_code) == (True, 204)
