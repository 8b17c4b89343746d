"""The shop's webhook endpoints: registering them, picking the ones an event goes to, and
delivering one notification to one endpoint, signed per Standard Webhooks."""

from __future__ import annotations

import base64
import json
import logging
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NewType

import aiohttp
from aiohttp import SocketFactoryType
from aiohttp.abc import AbstractResolver, ResolveResult
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from paydesk.config import Settings
from paydesk.db import new_id, utcnow
from paydesk.errors import InvalidRequest, NotFound
from paydesk.notifications.models import EndpointStatus, Notification, ShopWebhookEndpoint
from paydesk.notifications.outbox import EventType
from paydesk.notifications.ssrf import (
    Resolver,
    UrlGuard,
    UrlNotAllowed,
    check_url_shape,
    ip_literal,
)

log = logging.getLogger(__name__)

EVENT_TYPES = tuple(EventType)
ALL_EVENTS = "*"
SECRET_PREFIX = "whsec_"
PREVIOUS_SECRET_LIFETIME = timedelta(hours=24)
DELIVERY_TIMEOUT_SECONDS = 5.0
USER_AGENT = "paydesk-webhooks/1"
# How much of an endpoint's answer is kept to explain a failure; the rest is never read.
_ANSWER_EXCERPT_BYTES = 512


# --- Endpoints ---------------------------------------------------------------------------


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def event_types(endpoint: ShopWebhookEndpoint) -> list[str]:
    events: list[str] = json.loads(endpoint.events)
    return events


def normalize_events(events: Sequence[str]) -> list[str]:
    """The subscribed event types without repeats; `*` alone stands for all of them."""
    if not events:
        raise InvalidRequest(
            "events must name at least one event type, or `*`.",
            code="parameter_invalid",
            param="events",
        )
    unknown = [e for e in events if e != ALL_EVENTS and e not in EVENT_TYPES]
    if unknown:
        raise InvalidRequest(
            f"Unknown event type {unknown[0]!r}; use `*` or one of {', '.join(EVENT_TYPES)}.",
            code="invalid_event_type",
            param="events",
        )
    if ALL_EVENTS in events:
        return [ALL_EVENTS]
    return list(dict.fromkeys(events))


# A URL the guard has passed: vetted before the transaction opens, so that no write lock
# is held while a name resolves.
VettedUrl = NewType("VettedUrl", str)


async def vetted_url(guard: UrlGuard, url: str) -> VettedUrl:
    try:
        await guard.vet(url)
    except UrlNotAllowed as refused:
        raise InvalidRequest(refused.message, code=refused.code, param="url") from None
    return VettedUrl(url)


async def register_endpoint(
    session: AsyncSession,
    *,
    url: VettedUrl,
    events: Sequence[str],
    description: str | None = None,
) -> ShopWebhookEndpoint:
    """A new, enabled endpoint; its secret is shown to the shop once, by the caller."""
    endpoint = ShopWebhookEndpoint(
        id=new_id("we"),
        url=url,
        events=json.dumps(normalize_events(events)),
        secret=new_secret(),
        status=EndpointStatus.ENABLED,
        description=description,
    )
    session.add(endpoint)
    await session.flush()
    log.info("webhook endpoint %s registered for %s", endpoint.id, _host(endpoint.url))
    return endpoint


async def get_endpoint(session: AsyncSession, endpoint_id: str) -> ShopWebhookEndpoint:
    endpoint = await session.get(ShopWebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"No webhook endpoint {endpoint_id!r}.", param="id")
    return endpoint


async def list_endpoints(session: AsyncSession) -> list[ShopWebhookEndpoint]:
    rows = await session.scalars(
        select(ShopWebhookEndpoint).order_by(ShopWebhookEndpoint.created_at, ShopWebhookEndpoint.id)
    )
    return list(rows)


@dataclass(frozen=True)
class EndpointChanges:
    """What a PATCH asks for; None leaves a field as it is (description: unless cleared)."""

    url: VettedUrl | None = None
    events: Sequence[str] | None = None
    description: str | None = None
    clear_description: bool = False
    status: EndpointStatus | None = None


async def update_endpoint(
    session: AsyncSession, endpoint_id: str, changes: EndpointChanges
) -> ShopWebhookEndpoint:
    endpoint = await get_endpoint(session, endpoint_id)
    if changes.url is not None:
        endpoint.url = changes.url
    if changes.events is not None:
        endpoint.events = json.dumps(normalize_events(changes.events))
    if changes.description is not None or changes.clear_description:
        endpoint.description = changes.description
    if changes.status == EndpointStatus.ENABLED:
        endpoint.status = EndpointStatus.ENABLED
        endpoint.failing_since = None
        endpoint.disabled_reason = None
    elif changes.status == EndpointStatus.DISABLED and endpoint.status != EndpointStatus.DISABLED:
        endpoint.status = EndpointStatus.DISABLED
        endpoint.disabled_reason = "disabled by the shop"
    endpoint.updated_at = utcnow()
    await session.flush()
    return endpoint


async def rotate_secret(session: AsyncSession, endpoint_id: str) -> ShopWebhookEndpoint:
    """A new signing secret; the current one keeps signing beside it for a day."""
    now = utcnow()
    endpoint = await get_endpoint(session, endpoint_id)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + PREVIOUS_SECRET_LIFETIME
    endpoint.secret = new_secret()
    endpoint.updated_at = now
    await session.flush()
    log.info("webhook endpoint %s: signing secret rotated", endpoint.id)
    return endpoint


# Read for every change the shop may hear of, so built once.
_ENABLED = (
    select(ShopWebhookEndpoint)
    .where(ShopWebhookEndpoint.status == EndpointStatus.ENABLED)
    .order_by(ShopWebhookEndpoint.created_at, ShopWebhookEndpoint.id)
)


async def enabled_endpoints(session: AsyncSession) -> list[ShopWebhookEndpoint]:
    return list(await session.scalars(_ENABLED))


def subscribed(endpoints: list[ShopWebhookEndpoint], event_type: str) -> list[ShopWebhookEndpoint]:
    """The endpoints that asked for `event_type`, by name or with `*`."""
    return [e for e in endpoints if {event_type, ALL_EVENTS} & set(event_types(e))]


# --- Delivery ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryResult:
    succeeded: bool
    status_code: int | None = None
    error: str | None = None
    gone: bool = False  # the endpoint answered 410: disable it, no retry


def signing_secrets(endpoint: ShopWebhookEndpoint, now: datetime) -> list[str]:
    """The current secret, and the previous one while it is still valid."""
    found = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        found.append(endpoint.previous_secret)
    return found


def signed_headers(
    endpoint: ShopWebhookEndpoint, message_id: str, payload: str, now: datetime
) -> dict[str, str]:
    timestamp = datetime.fromtimestamp(int(now.timestamp()), UTC)
    signatures = [
        Webhook(secret).sign(message_id, timestamp, payload)
        for secret in signing_secrets(endpoint, now)
    ]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


async def deliver(
    endpoint: ShopWebhookEndpoint, notification: Notification, *, sender: WebhookSender
) -> DeliveryResult:
    """POST the notification to the endpoint once; the caller records and retries."""
    headers = signed_headers(endpoint, notification.id, notification.payload, utcnow())
    result = await sender.post(endpoint.url, notification.payload.encode(), headers)
    if not result.succeeded:
        log.info(
            "webhook %s to endpoint %s failed: %s",
            notification.id,
            endpoint.id,
            result.error or result.status_code,
        )
    return result


# Opens the socket for one vetted address; tests pass one that refuses anything but
# their own receivers.
SocketFactory = SocketFactoryType


class _PinnedResolver(AbstractResolver):
    """aiohttp's resolver for webhook connections: resolves through the guard, which
    refuses the host unless every address is allowed, so the connection can only be
    opened to an address that was vetted in the same step."""

    def __init__(self, guard: UrlGuard) -> None:
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self._guard.addresses(host.rstrip("."))
        results: list[ResolveResult] = []
        for address in addresses:
            address_family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            if family not in (socket.AF_UNSPEC, address_family):
                continue
            results.append(
                {
                    "hostname": host,
                    "host": str(address),
                    "port": port,
                    "family": address_family,
                    "proto": 0,
                    "flags": socket.AI_NUMERICHOST,
                }
            )
        return results

    async def close(self) -> None:
        return None


class WebhookSender:
    """The HTTP client for shop webhooks, built once per worker: every connection is
    opened to an address the guard has just vetted, and never follows a redirect."""

    def __init__(
        self,
        settings: Settings,
        *,
        resolver: Resolver | None = None,
        transport: SocketFactory | None = None,
        timeout_seconds: float = DELIVERY_TIMEOUT_SECONDS,
    ) -> None:
        self.guard = UrlGuard.of(settings.webhook_allowed_networks, resolver)
        self._socket_factory = transport
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=_PinnedResolver(self.guard),
                # Resolve and vet again for every connection, and keep none open: a
                # pooled connection would outlive the answer it was vetted with.
                use_dns_cache=False,
                force_close=True,
                socket_factory=self._socket_factory,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,  # a proxy would connect on our behalf, unvetted
                auto_decompress=False,
            )
        return self._session

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> DeliveryResult:
        try:
            host, _ = check_url_shape(url)
            if ip_literal(host) is not None:
                # aiohttp connects to a literal address without asking the resolver.
                await self.guard.addresses(host)
            async with self._client().post(
                url, data=body, headers=headers, allow_redirects=False
            ) as answer:
                return await _result(answer)
        except UrlNotAllowed as refused:
            return DeliveryResult(succeeded=False, error=refused.message)
        except aiohttp.ClientConnectorDNSError as exc:
            return DeliveryResult(succeeded=False, error=f"could not resolve {exc.host}")
        except TimeoutError:
            return DeliveryResult(
                succeeded=False, error=f"no answer within {self._timeout.total:g} s"
            )
        except aiohttp.ClientError as exc:
            return DeliveryResult(succeeded=False, error=f"{type(exc).__name__}: {exc}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _result(answer: aiohttp.ClientResponse) -> DeliveryResult:
    status = answer.status
    if 200 <= status < 300:
        return DeliveryResult(succeeded=True, status_code=status)
    if status == 410:
        return DeliveryResult(
            succeeded=False, status_code=status, error="HTTP 410: the endpoint is gone", gone=True
        )
    if 300 <= status < 400:
        location = answer.headers.get("location", "")[:200]
        return DeliveryResult(
            succeeded=False,
            status_code=status,
            error=f"HTTP {status}: redirects are not followed (to {location!r})",
        )
    excerpt = (await answer.content.read(_ANSWER_EXCERPT_BYTES)).decode("utf-8", "replace")
    error = f"HTTP {status}" + (f": {excerpt.strip()[:200]}" if excerpt.strip() else "")
    return DeliveryResult(succeeded=False, status_code=status, error=error)


def _host(url: str) -> str:
    try:
        return check_url_shape(url)[0]
    except UrlNotAllowed:
        return "?"
