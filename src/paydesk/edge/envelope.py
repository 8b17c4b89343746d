"""The outermost layer of the app: every request gets an id, and every failure below it
becomes an answer in paydesk's error shape, never the server's plain-text 500.

A database that cannot be used (down, unreachable, stalled past its timeout, out of room)
answers 503 with `Retry-After`; anything else unexpected answers 500 with the request's id,
and the log line with the traceback carries the same id. Either way the connection stays
open for the client's next request."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paydesk.db import database_unavailable
from paydesk.edge.answers import send_error
from paydesk.errors import InternalError, InvalidRequest, PaydeskError, ServiceUnavailable
from paydesk.logs import request_id
from paydesk.validation import control_character

log = logging.getLogger(__name__)

# Two years, as browsers' preload lists ask; sent only on answers that came over TLS.
HSTS = b"max-age=63072000; includeSubDomains"


def new_request_id() -> str:
    return f"req_{secrets.token_hex(8)}"


class HttpEdge:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = new_request_id()
        token = request_id.set(rid)
        tls = scope.get("scheme") == "https"
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [*message.get("headers", ()), (b"request-id", rid.encode())]
                if tls:
                    headers.append((b"strict-transport-security", HSTS))
                message = {**message, "headers": headers}
            await send(message)

        try:
            refusal = refused_characters(scope)
            if refusal is not None:
                await send_error(scope, send_with_headers, refusal)
                return
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            if started:
                # The answer is on its way and cannot change; the client sees a cut answer.
                log.exception("%s %s failed after its answer began", scope["method"], scope["path"])
                return
            await send_error(scope, send_with_headers, error_for(exc, rid))
        finally:
            request_id.reset(token)


def error_for(exc: Exception, rid: str) -> PaydeskError:
    """What the client is told about `exc`, raised below the framework's own handlers."""
    if isinstance(exc, PaydeskError):
        return exc
    if database_unavailable(exc):
        log.error("database unavailable: %s: %s", type(exc).__name__, exc)
        return ServiceUnavailable(
            "The database is unavailable; retry shortly.", code="database_unavailable"
        )
    log.exception("unexpected error answering the request")
    return InternalError(
        f"paydesk failed to answer this request; tell its operator request {rid}.",
        request_id=rid,
    )


def refused_characters(scope: Scope) -> InvalidRequest | None:
    """Why the path or query must not go further: a control character in the path, a query
    parameter's name or its value (ids and filters are one line of printable text)."""
    found = control_character(scope["path"], line_breaks=False)
    if found is not None:
        return InvalidRequest(
            f"The path holds the control character {found}.",
            code="invalid_characters",
            param="path",
        )
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        found = control_character(name, line_breaks=False) or control_character(
            value, line_breaks=False
        )
        if found is not None:
            return InvalidRequest(
                f"The query parameter {name!r} holds the control character {found}.",
                code="invalid_characters",
                param=name if control_character(name, line_breaks=False) is None else "query",
            )
    return None
