"""`POST /api/webhooks/stripe`: verify, store, answer. The work happens later, in a worker.

This is the hottest path in paydesk, so it is a plain ASGI endpoint in front of the
framework: no routing table, no dependency solving, no request objects. The signature is
checked over the raw bytes before anything is parsed; the body is parsed with orjson
(building the SDK's objects would cost far more than the rest together)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from paydesk.edge.answers import send_error
from paydesk.edge.limits import ClientDisconnected, read_body
from paydesk.errors import (
    InvalidRequest,
    MethodNotAllowed,
    PaydeskError,
    PayloadTooLarge,
    RequestTimeout,
    ServiceUnavailable,
)
from paydesk.gateway.stripe_gateway import InvalidSignature, verify_webhook_signature
from paydesk.gateway.types import EventSnapshot, NotAnEvent
from paydesk.webhooks.inbox import InboxWriter, inbox_row

log = logging.getLogger(__name__)

PATH = "/api/webhooks/stripe"
MAX_BODY_BYTES = 256 * 1024
_KEPT_HEADERS = (b"stripe-signature", b"user-agent", b"content-type")
_JSON = [(b"content-type", b"application/json")]
_ACCEPTED = b'{"received":true}'


@dataclass
class WebhookStats:
    received: int = 0
    rejected: int = 0


class StripeWebhookEndpoint:
    """Answers 200 once the event is stored (a duplicate is a no-op), never before."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        inbox: InboxWriter,
        secrets: tuple[str, ...],
        livemode: bool,
        stats: WebhookStats,
    ) -> None:
        self.app = app
        self.inbox = inbox
        self.secrets = secrets
        self.livemode = livemode
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        try:
            if scope["method"] != "POST":
                raise MethodNotAllowed("Stripe events are POSTed here.")
            await self._receive(scope, receive)
        except ClientDisconnected:
            return  # nobody is left to answer, and nothing was stored
        except PaydeskError as error:
            # A body too large or too slow is left unread: end the connection with it.
            unread = isinstance(error, PayloadTooLarge | RequestTimeout)
            await send_error(scope, send, error, close=unread)
            return
        await _answer(send, 200, _ACCEPTED)

    async def _receive(self, scope: Scope, receive: Receive) -> None:
        headers = {name: value for name, value in scope["headers"] if name in _KEPT_HEADERS}
        body = await read_body(scope, receive, limit=MAX_BODY_BYTES)
        signature = headers.get(b"stripe-signature")
        try:
            verify_webhook_signature(
                body, signature.decode("latin-1") if signature else None, self.secrets
            )
        except InvalidSignature as exc:
            self.stats.rejected += 1
            log.warning("stripe webhook rejected (%d so far): %s", self.stats.rejected, exc)
            raise InvalidRequest(
                f"The Stripe-Signature header does not verify: {exc}.", code="invalid_signature"
            ) from None
        try:
            event = EventSnapshot.parse(body)
        except NotAnEvent as exc:
            raise InvalidRequest(str(exc), code=exc.code) from None
        kept = {k.decode(): v.decode("latin-1") for k, v in headers.items() if k in _KEPT_HEADERS}
        row = inbox_row(
            event,
            body,
            source="webhook",
            headers=orjson.dumps(kept).decode(),
            livemode=self.livemode,
        )
        if row["flag"]:
            log.warning("stripe event %s flagged: %s", event.id, row["flag"])
        try:
            await self.inbox.store(row)
        except Exception:
            raise ServiceUnavailable(
                "The event could not be stored; Stripe will retry it.", code="inbox_unavailable"
            ) from None
        self.stats.received += 1


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _JSON})
    await send({"type": "http.response.body", "body": body})
