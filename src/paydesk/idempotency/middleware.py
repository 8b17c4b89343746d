"""`Idempotency-Key` on every POST: the same key with the same request replays the first
answer; the same key with another request is refused; a retry while the first is still
running is told to wait. Keys are scoped to the caller's credentials."""

from __future__ import annotations

import hashlib
import logging

import orjson
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paydesk.db import Database
from paydesk.errors import IdempotencyError, InvalidRequest, PaydeskError
from paydesk.idempotency.models import IdempotencyRecord

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, db: Database, *, prefix: str = "/api/") -> None:
        self.app = app
        self.db = db
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].startswith(self.prefix)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key_bytes = headers.get(b"idempotency-key")
        if key_bytes is None:
            await self.app(scope, receive, send)
            return
        key = key_bytes.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            await _send_error(
                send,
                InvalidRequest(
                    f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.",
                    code="invalid_idempotency_key",
                    param="Idempotency-Key",
                ),
            )
            return
        body = await _read_body(receive)
        caller = hashlib.sha256(headers.get(b"authorization", b"")).hexdigest()
        request_hash = hashlib.sha256(
            b"\n".join([scope["method"].encode(), scope["path"].encode(), body])
        ).hexdigest()

        record_id, replay = await self._claim(caller, key, request_hash)
        if replay is not None:
            await send(replay[0])
            await send(replay[1])
            return

        status: int | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, _replay_body(body), capture)
        finally:
            await self._finish(record_id, status, b"".join(chunks))

    async def _claim(
        self, caller: str, key: str, request_hash: str
    ) -> tuple[int, tuple[Message, Message] | None]:
        """Reserves the key for this request, or returns the first request's answer."""
        try:
            async with self.db.transaction() as session:
                record = IdempotencyRecord(caller_hash=caller, key=key, request_hash=request_hash)
                session.add(record)
                await session.flush()
                return record.id, None
        except IntegrityError:
            pass
        async with self.db.sessions() as session:
            existing = await session.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.caller_hash == caller, IdempotencyRecord.key == key
                )
            )
        if existing is None:  # the first request failed and released the key just now
            return await self._claim(caller, key, request_hash)
        if existing.request_hash != request_hash:
            return -1, _error_messages(
                IdempotencyError(
                    "This Idempotency-Key was used with a different request; use a new key.",
                    code="idempotency_key_reused",
                )
            )
        if existing.status_code is None or existing.response_body is None:
            return -1, _error_messages(
                IdempotencyError(
                    "A request with this Idempotency-Key is still being processed; retry later.",
                    code="idempotency_key_in_use",
                )
            )
        return -1, _messages(existing.status_code, existing.response_body, replayed=True)

    async def _finish(self, record_id: int, status: int | None, body: bytes) -> None:
        """Keeps the answer to replay it; a server error or a crash releases the key,
        since nothing was decided and the retry must run again."""
        async with self.db.transaction() as session:
            if status is None or status >= 500:
                await session.execute(
                    delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id)
                )
            else:
                await session.execute(
                    update(IdempotencyRecord)
                    .where(IdempotencyRecord.id == record_id)
                    .values(status_code=status, response_body=body)
                )


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay_body(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _messages(status: int, body: bytes, *, replayed: bool = False) -> tuple[Message, Message]:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    return (
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    )


def _error_messages(error: PaydeskError) -> tuple[Message, Message]:
    return _messages(error.status_code, orjson.dumps(error.to_body()))


async def _send_error(send: Send, error: PaydeskError) -> None:
    start, body = _error_messages(error)
    await send(start)
    await send(body)
