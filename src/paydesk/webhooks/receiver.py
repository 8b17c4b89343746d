"""`POST /api/webhooks/stripe`: verify, store, answer. The work happens later, in a worker.

The signature is checked over the raw bytes before anything is parsed; the body is parsed
with orjson (building the SDK's objects would cost far more than the rest together)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from paydesk.errors import InvalidRequest, PayloadTooLarge, ServiceUnavailable
from paydesk.gateway.stripe_gateway import InvalidSignature, verify_webhook_signature
from paydesk.webhooks.inbox import inbox_row

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
_KEPT_HEADERS = ("stripe-signature", "user-agent", "content-type")
_ACCEPTED = b'{"received":true}'

router = APIRouter(tags=["webhooks"])


@dataclass
class WebhookStats:
    received: int = 0
    rejected: int = 0


@router.post(
    "/api/webhooks/stripe",
    responses={400: {"description": "Bad signature or not an event"}, 413: {}, 503: {}},
)
async def receive_stripe_event(request: Request) -> Response:
    """Stripe's events: 200 once stored (a duplicate is a no-op), never before."""
    services = request.app.state.services
    stats: WebhookStats = services.webhook_stats
    body = await _read_body(request)
    try:
        verify_webhook_signature(
            body,
            request.headers.get("stripe-signature"),
            services.settings.stripe_webhook_secrets,
        )
    except InvalidSignature as exc:
        stats.rejected += 1
        log.warning("stripe webhook rejected (%d so far): %s", stats.rejected, exc)
        raise InvalidRequest(
            f"The Stripe-Signature header does not verify: {exc}.", code="invalid_signature"
        ) from None
    event = _parse_event(body)
    row = inbox_row(
        event,
        body,
        source="webhook",
        headers=orjson.dumps({k: request.headers.get(k) for k in _KEPT_HEADERS}).decode(),
        livemode=services.settings.livemode,
    )
    if row["flag"]:
        log.warning("stripe event %s flagged: %s", event["id"], row["flag"])
    try:
        await services.inbox.store(row)
    except Exception:
        raise ServiceUnavailable(
            "The event could not be stored; Stripe will retry it.", code="inbox_unavailable"
        ) from None
    stats.received += 1
    return Response(_ACCEPTED, media_type="application/json")


async def _read_body(request: Request) -> bytes:
    """The body, refused with 413 as soon as it is known to be too large."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise InvalidRequest("Content-Length is not a number.", code="invalid_content_length")
        if int(declared) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"Webhook bodies are limited to {MAX_BODY_BYTES} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"Webhook bodies are limited to {MAX_BODY_BYTES} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_event(body: bytes) -> dict[str, Any]:
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidRequest("The body is not JSON.", code="invalid_json") from None
    if not (
        isinstance(event, dict)
        and event.get("object") == "event"
        and isinstance(event.get("id"), str)
        and event["id"].startswith("evt_")
        and isinstance(event.get("type"), str)
        and isinstance(event.get("created"), int)
        and isinstance(event.get("livemode"), bool)
        and isinstance((event.get("data") or {}).get("object"), dict)
    ):
        raise InvalidRequest("The body is not a Stripe event.", code="not_an_event")
    return event
