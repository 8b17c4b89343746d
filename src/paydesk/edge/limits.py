"""How much a request may send, and how slowly.

Every body is read here in full before the app sees it: at most `MAX_BODY_BYTES` (refused
with 413 as soon as the declared length or the bytes received pass it, without reading the
rest), within `BODY_TIMEOUT_SECONDS` from the first byte to the last (408 otherwise). A
body this small costs little to hold, and holding it means the app never waits on a slow
client while it holds a database connection or a lock."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paydesk.edge.answers import has_body, send_error
from paydesk.errors import InvalidRequest, PayloadTooLarge, RequestTimeout

MAX_BODY_BYTES = 1024 * 1024
BODY_TIMEOUT_SECONDS = 10.0


class ClientDisconnected(Exception):
    """The client went away before its body arrived: there is nobody left to answer."""


async def read_body(
    scope: Scope,
    receive: Receive,
    *,
    limit: int,
    timeout_seconds: float | None = None,
) -> bytes:
    """The request's body; PayloadTooLarge past `limit` bytes, RequestTimeout when it takes
    longer than `timeout_seconds` (`BODY_TIMEOUT_SECONDS` when None), InvalidRequest for a
    Content-Length that is no number, ClientDisconnected when the client left."""
    timeout_seconds = BODY_TIMEOUT_SECONDS if timeout_seconds is None else timeout_seconds
    declared = _declared_length(scope)
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"Request bodies are limited to {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_seconds):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientDisconnected()
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"Request bodies are limited to {limit} bytes.")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        raise RequestTimeout(
            f"The request's body did not arrive within {timeout_seconds:g} seconds."
        ) from None


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            if not value.strip().isdigit():
                raise InvalidRequest(
                    "Content-Length is not a number.", code="invalid_content_length"
                )
            return int(value)
    return None


class BodyLimit:
    """Reads each request's body within the limits, then hands it to the app at once."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int = MAX_BODY_BYTES,
        timeout_seconds: float | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not has_body(scope):
            await self.app(scope, receive, send)
            return
        try:
            body = await read_body(
                scope, receive, limit=self.limit, timeout_seconds=self.timeout_seconds
            )
        except ClientDisconnected:
            return
        except (PayloadTooLarge, RequestTimeout, InvalidRequest) as error:
            await send_error(scope, send, error, close=True)
            return
        await self.app(scope, replay(body, receive), send)


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives `body` first, then whatever the client sends next (a
    disconnect), so the app can still notice a client that left."""
    given = False

    async def receive_again() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive_again
