"""Delivering the outbox: e-mails to customers, signed webhooks to the shop.

No transaction is open while a message is on the wire. A worker claims due rows in one
short transaction (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so any number of workers
share the outbox): it counts the attempt, opens its DeliveryAttempt, and moves the row's
`next_attempt_at` one lease ahead, so no other worker takes it meanwhile. It then sends,
and records the outcome in a second transaction: delivered, due again after an
exponential backoff with jitter, or dead after the last attempt. A worker that stops
mid-send leaves the lease to expire and the row is tried again: a message that got through
before the stop then arrives twice, under the same Message-ID (e-mail) or webhook-id (shop
webhook), both the notification's id, by which its receiver knows the second for a repeat.

Everything here runs in its own units of work, apart from the payments: a failing mail
server or shop endpoint delays only its own messages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

import orjson

from paydesk.config import Settings
from paydesk.db import Units, utcnow
from paydesk.notifications.mailer import Line, Mailer, TemplateProblem
from paydesk.notifications.models import (
    Channel,
    EndpointStatus,
    Notification,
    NotificationStatus,
    ShopWebhookEndpoint,
)
from paydesk.notifications.repository import OutboxRepository
from paydesk.notifications.shop_webhooks import WebhookSender, deliver
from paydesk.orders.repository import OrderRepository
from paydesk.principals import CheckoutLinks
from paydesk.retry import RetryPolicy

log = logging.getLogger(__name__)

# How long a claimed row is left to its worker; a send is cut off well before.
LEASE = timedelta(minutes=5)

# E-mail: ten attempts over about three hours (each delay 50-100% of its ceiling).
EMAIL_RETRY = RetryPolicy(max_attempts=10, base_delay_seconds=60, max_delay_seconds=3600)
# An endpoint that has failed every delivery for this long is disabled, and says why.
ENDPOINT_FAILING_LIMIT = timedelta(days=3)

# Shop webhooks: eighteen attempts over about three days, at most twelve hours apart.
WEBHOOK_RETRY = RetryPolicy(max_attempts=18, base_delay_seconds=60, max_delay_seconds=12 * 3600)


class DeliveryWork(Protocol):
    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def orders(self) -> OrderRepository: ...


@dataclass(frozen=True)
class DeliveryPolicy:
    email: RetryPolicy = field(default_factory=lambda: EMAIL_RETRY)
    webhook: RetryPolicy = field(default_factory=lambda: WEBHOOK_RETRY)
    lease: timedelta = LEASE
    batch_size: int = 20  # rows claimed, and sent concurrently, at a time

    def retry(self, channel: str) -> RetryPolicy:
        return self.email if channel == Channel.EMAIL else self.webhook


@dataclass(frozen=True)
class Claim:
    notification: Notification  # detached: read, never written through
    attempt_id: int
    attempt: int  # the row's attempt count once this one began
    endpoint: ShopWebhookEndpoint | None
    items: Sequence[Line] = ()  # an e-mail's: the order's items, read when it is claimed


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    status_code: int | None = None
    smtp_reply: str | None = None
    error: str | None = None
    final: bool = False  # retrying cannot help: dead now
    gone: bool = False  # the shop's endpoint answered 410: disable it


class NotificationDelivery:
    def __init__(
        self,
        units: Units[DeliveryWork],
        mailer: Mailer,
        webhooks: WebhookSender,
        policy: DeliveryPolicy | None = None,
    ) -> None:
        self.units = units
        self.mailer = mailer
        self.webhooks = webhooks
        self.policy = policy or DeliveryPolicy()

    @classmethod
    def from_settings(
        cls, units: Units[DeliveryWork], settings: Settings, policy: DeliveryPolicy | None = None
    ) -> NotificationDelivery:
        mailer = Mailer(
            settings.smtp,
            public_url=settings.public_url,
            links=CheckoutLinks.from_secret(settings.link_signing_secret),
        )
        return cls(units, mailer, WebhookSender(settings), policy)

    async def close(self) -> None:
        await self.mailer.close()
        await self.webhooks.close()

    async def deliver_due(self) -> int:
        """Claims up to a batch of due notifications and sends them; returns how many were
        taken (including those found dead without a send)."""
        claims, taken = await self._claim()
        if claims:
            await asyncio.gather(*(self._deliver(claim) for claim in claims))
        return taken

    async def drain(self) -> int:
        """Delivers until nothing is due; returns how many rows were taken."""
        count = 0
        while taken := await self.deliver_due():
            count += taken
        return count

    async def run(self, stop: asyncio.Event, *, poll_seconds: float = 1.0) -> None:
        while not stop.is_set():
            try:
                await self.drain()
            except Exception:
                log.exception("notification delivery failed; next try in %.1fs", poll_seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_seconds)

    async def _claim(self) -> tuple[list[Claim], int]:
        now = utcnow()
        async with self.units.writing() as work:
            rows = await work.outbox.list_due(now, limit=self.policy.batch_size)
            started: list[tuple[Notification, ShopWebhookEndpoint | None]] = []
            for row in rows:
                endpoint = None
                if row.channel == Channel.WEBHOOK:
                    endpoint = await work.outbox.get_endpoint(row.recipient)
                    if endpoint is None or endpoint.status != EndpointStatus.ENABLED:
                        reason = endpoint.disabled_reason if endpoint else None
                        _dead(row, f"endpoint {row.recipient} is disabled or removed", reason)
                        continue
                if row.attempts >= self.policy.retry(row.channel).max_attempts:
                    # The last attempt's worker stopped before it could record an outcome.
                    _dead(row, row.last_error or "no outcome from the last attempt", None)
                    continue
                row.attempts += 1
                row.next_attempt_at = now + self.policy.lease
                started.append((row, endpoint))
            attempts = await work.outbox.start_attempts([row for row, _ in started], at=now)
            orders = {row.id: _order_id(row) for row, e in started if e is None}
            items = await work.orders.items_of({o for o in orders.values() if o is not None})
            claims = [
                Claim(
                    notification=row,
                    attempt_id=attempt.id,
                    attempt=row.attempts,
                    endpoint=e,
                    items=[
                        Line(i.name, i.quantity, i.unit_amount)
                        for i in items.get(orders.get(row.id) or "", [])
                    ],
                )
                for (row, e), attempt in zip(started, attempts, strict=True)
            ]
        return claims, len(rows)

    async def _deliver(self, claim: Claim) -> None:
        started = time.monotonic()
        try:
            outcome = await asyncio.wait_for(
                self._send(claim), self.policy.lease.total_seconds() / 2
            )
        except TimeoutError:
            outcome = Outcome(False, error="no outcome within half the lease; sent again later")
        except Exception as exc:
            log.exception("notification %s: sending failed", claim.notification.id)
            outcome = Outcome(False, error=f"{type(exc).__name__}: {exc}")
        duration_ms = round((time.monotonic() - started) * 1000)
        try:
            await self._record(claim, outcome, duration_ms)
        except Exception:
            # The lease runs out and the row is tried again; nothing else waits on it.
            log.exception("notification %s: could not record the outcome", claim.notification.id)

    async def _send(self, claim: Claim) -> Outcome:
        notification = claim.notification
        if notification.channel == Channel.EMAIL:
            try:
                message = self.mailer.compose(notification, claim.items)
            except TemplateProblem as problem:
                return Outcome(False, error=f"cannot render: {problem}", final=True)
            mail = await self.mailer.send(message)
            return Outcome(
                mail.succeeded, smtp_reply=mail.reply, error=mail.error, final=mail.permanent
            )
        assert claim.endpoint is not None
        result = await deliver(claim.endpoint, notification, sender=self.webhooks)
        return Outcome(
            result.succeeded,
            status_code=result.status_code,
            error=result.error,
            final=result.gone,
            gone=result.gone,
        )

    async def _record(self, claim: Claim, outcome: Outcome, duration_ms: int) -> None:
        now = utcnow()
        error = outcome.error or "failed"
        endpoint_id = claim.endpoint.id if claim.endpoint is not None else None
        async with self.units.writing() as work:
            await work.outbox.record_attempt(
                claim.attempt_id,
                succeeded=outcome.succeeded,
                status_code=outcome.status_code,
                smtp_reply=outcome.smtp_reply,
                error=None if outcome.succeeded else error,
                duration_ms=duration_ms,
            )
            if outcome.succeeded:
                await work.outbox.mark_delivered(claim.notification.id, at=now)
                if endpoint_id is not None:
                    await work.outbox.clear_endpoint_failing(endpoint_id)
                return
            row = await work.outbox.get(claim.notification.id, for_update=True)
            assert row is not None
            # Only the worker holding the current claim decides what happens next.
            if row.status != NotificationStatus.PENDING or row.attempts != claim.attempt:
                return
            row.last_error = error
            retry = self.policy.retry(row.channel)
            if outcome.final or row.attempts >= retry.max_attempts:
                _dead(row, error, None)
            else:
                row.next_attempt_at = now + timedelta(seconds=retry.delay(row.attempts))
                log.warning(
                    "notification %s (%s to %s) failed, attempt %d: %s",
                    row.id,
                    row.kind,
                    row.recipient,
                    row.attempts,
                    error,
                )
            if endpoint_id is not None:
                await _endpoint_failing(work.outbox, endpoint_id, outcome, row.id)


def _order_id(row: Notification) -> str | None:
    """The order an e-mail is about, if its payload can say (if not, rendering it fails)."""
    try:
        order_id = orjson.loads(row.payload)["order"]["id"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return order_id if isinstance(order_id, str) else None


def _dead(row: Notification, error: str, reason: str | None) -> None:
    row.status = NotificationStatus.DEAD
    row.last_error = f"{error} ({reason})" if reason else error
    log.error(
        "notification %s (%s to %s) is dead after %d attempt(s): %s",
        row.id,
        row.kind,
        row.recipient,
        row.attempts,
        row.last_error,
    )


async def _endpoint_failing(
    outbox: OutboxRepository, endpoint_id: str, outcome: Outcome, notification_id: str
) -> None:
    """Notes the endpoint's failure, and disables it when it answered 410 Gone or has
    refused every delivery for longer than `ENDPOINT_FAILING_LIMIT`."""
    now = utcnow()
    failing_since = await outbox.mark_endpoint_failing(endpoint_id, at=now)
    reason = None
    if outcome.gone:
        reason = f"answered 410 Gone to {notification_id} at {now:%Y-%m-%d %H:%M:%S} UTC"
    elif failing_since is not None and now - failing_since > ENDPOINT_FAILING_LIMIT:
        reason = f"failing since {failing_since:%Y-%m-%d %H:%M:%S} UTC, every delivery refused"
    if reason is not None:
        await outbox.disable_endpoint(endpoint_id, reason)
        log.error("webhook endpoint %s disabled: %s", endpoint_id, reason)
