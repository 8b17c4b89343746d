"""Errors answered below the framework, in the same shape the framework's handlers use:
`{"error": {type, code, message}}` for the API, a small page for people (dashboard, checkout)."""

from __future__ import annotations

import html

import orjson
from starlette.types import Scope, Send

from paydesk.errors import PaydeskError

# Paths a person reads in a browser: their errors are pages, not JSON.
_PAGE_PREFIXES = ("/dashboard", "/checkout")

_PAGE_HEADERS = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"default-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
]

_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title></head>
<body><main><h1>{title}</h1><p>{message}</p>{reference}</main></body>
</html>
"""


def wants_page(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    return path.startswith(_PAGE_PREFIXES)


def page_body(error: PaydeskError) -> bytes:
    request_id = error.extra.get("request_id")
    reference = f"<p><small>Request {html.escape(request_id)}</small></p>" if request_id else ""
    title = "Something went wrong" if error.status_code >= 500 else "This request was refused"
    return _PAGE.format(
        title=title, message=html.escape(error.message), reference=reference
    ).encode()


async def send_error(scope: Scope, send: Send, error: PaydeskError, *, close: bool = False) -> None:
    """Answers `error` in full. With `close`, the connection ends after it: the request's
    body was left unread, and reading it only to discard it would cost as much as keeping it."""
    if wants_page(scope):
        body = page_body(error)
        headers = list(_PAGE_HEADERS)
    else:
        body = orjson.dumps(error.to_body())
        headers = [(b"content-type", b"application/json")]
    headers.append((b"content-length", str(len(body)).encode()))
    headers.extend(
        (name.lower().encode(), value.encode()) for name, value in error.headers().items()
    )
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def has_body(scope: Scope) -> bool:
    """Whether the request says a body follows (a length above zero, or chunks)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
        if name == b"transfer-encoding":
            return True
    return False
