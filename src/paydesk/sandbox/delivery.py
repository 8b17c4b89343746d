"""Signed webhook delivery in the background, retried with exponential backoff."""

import asyncio
import logging

import aiohttp
import orjson

from paydesk.sandbox.chaos import WebhookChaos, WebhookChaosMode
from paydesk.sandbox.config import SandboxConfig
from paydesk.sandbox.errors import StripeObject
from paydesk.sandbox.signing import signature_header
from paydesk.sandbox.store import DeliveryAttempt, SandboxStore

logger = logging.getLogger(__name__)


class WebhookDelivery:
    """Posts each recorded event to its endpoints; lives as long as one server run.

    What is still owed is kept in `store.pending_deliveries`, so a restarted server
    resumes where the previous one stopped.
    """

    def __init__(
        self, store: SandboxStore, config: SandboxConfig, chaos: WebhookChaos | None = None
    ) -> None:
        self._store = store
        self._config = config
        self._chaos = chaos or WebhookChaos()
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self._config.delivery_timeout_seconds)
        self._session = aiohttp.ClientSession(timeout=timeout)
        for (event_id, endpoint_id), attempts in list(self._store.pending_deliveries.items()):
            self._spawn(event_id, endpoint_id, attempts)

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def enqueue(self, event: StripeObject, endpoint_ids: list[str]) -> None:
        if self._session is None:
            return
        for endpoint_id in endpoint_ids:
            self._spawn(event["id"], endpoint_id, 0)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def _spawn(self, event_id: str, endpoint_id: str, attempts: int) -> None:
        task = asyncio.get_running_loop().create_task(
            self._deliver(event_id, endpoint_id, attempts)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, event_id: str, endpoint_id: str, attempts: int) -> None:
        key = (event_id, endpoint_id)
        max_attempts = self._config.delivery_max_attempts
        if attempts > 0:
            await asyncio.sleep(self._backoff(attempts))
        ticket = self._chaos.take() if attempts == 0 else None
        if ticket is not None and ticket.mode is WebhookChaosMode.DROP:
            self._store.delivery_attempts.append(
                DeliveryAttempt(event_id, endpoint_id, 0, None, "dropped by webhook chaos")
            )
            self._store.pending_deliveries.pop(key, None)
            return
        if ticket is not None and ticket.mode is WebhookChaosMode.DELAY:
            await asyncio.sleep(ticket.delay_seconds)
        if ticket is not None and ticket.mode is WebhookChaosMode.DUPLICATE:
            await self._attempt(event_id, endpoint_id, 0)
        mixed = self._chaos.draw() if attempts == 0 and ticket is None else None
        if mixed is not None:
            if mixed.drop:
                self._store.delivery_attempts.append(
                    DeliveryAttempt(event_id, endpoint_id, 0, None, "dropped by webhook chaos")
                )
                self._store.pending_deliveries.pop(key, None)
                return
            if mixed.hold_seconds:
                await asyncio.sleep(mixed.hold_seconds)
            for _ in range(mixed.copies - 1):
                await self._attempt(event_id, endpoint_id, 0)
        while attempts < max_attempts:
            attempts += 1
            delivered = await self._attempt(event_id, endpoint_id, attempts)
            if delivered is None:
                self._store.pending_deliveries.pop(key, None)
                return
            if delivered:
                self._store.pending_deliveries.pop(key, None)
                event = self._store.events.get(event_id)
                if event is not None:
                    event["pending_webhooks"] = max(0, event["pending_webhooks"] - 1)
                return
            self._store.pending_deliveries[key] = attempts
            if attempts < max_attempts:
                await asyncio.sleep(self._backoff(attempts))
        logger.warning(
            "giving up on webhook %s to endpoint %s after %d attempts",
            event_id,
            endpoint_id,
            attempts,
        )
        self._store.pending_deliveries.pop(key, None)

    def _backoff(self, attempts: int) -> float:
        base: float = self._config.delivery_base_delay_seconds
        return float(base * 2 ** (attempts - 1))

    async def _attempt(self, event_id: str, endpoint_id: str, attempt: int) -> bool | None:
        """True when acknowledged, False to retry, None when there is nothing to send."""
        event = self._store.events.get(event_id)
        endpoint = self._store.webhook_endpoints.get(endpoint_id)
        secret = self._store.webhook_secrets.get(endpoint_id)
        if event is None or endpoint is None or secret is None or self._session is None:
            return None
        body = orjson.dumps(event)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature_header(body, secret),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        status: int | None = None
        error: str | None = None
        try:
            async with self._session.post(endpoint["url"], data=body, headers=headers) as reply:
                status = reply.status
                await reply.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        self._store.delivery_attempts.append(
            DeliveryAttempt(event_id, endpoint_id, attempt, status, error)
        )
        if status is not None and 200 <= status < 300:
            return True
        logger.info(
            "webhook %s to %s failed (attempt %d): %s",
            event_id,
            endpoint["url"],
            attempt,
            error or f"HTTP {status}",
        )
        return False
