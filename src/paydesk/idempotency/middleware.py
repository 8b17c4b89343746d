"""`Idempotency-Key` on every POST: the same key with the same request replays the first
answer; the same key with another request is refused; a retry while the first is still
running is told to wait. Keys are scoped to the caller's credentials and kept 24 hours,
as Stripe keeps its own.

It runs after `Authentication`: a caller without valid credentials never gets this far, so
it can neither store a record nor learn that a key is in use.

The first answer is stored encrypted (AES-GCM) under a key derived from the caller's own
credential, which paydesk keeps only as a digest: answers hold secrets shown once (an
order's checkout token, a payment's client secret, a webhook endpoint's signing secret),
and a copy of the database alone cannot read them back."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paydesk.edge.answers import send_error
from paydesk.edge.limits import replay
from paydesk.errors import IdempotencyError, InvalidRequest, PaydeskError
from paydesk.idempotency.models import IdempotencyRecord
from paydesk.idempotency.service import IdempotencyStore, Reserved

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255
# When the first answer could not be recorded, recording it is tried again after these.
_FINISH_RETRY_SECONDS = (1.0, 2.0, 4.0, 8.0, 16.0)
_NONCE_BYTES = 12


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, store: IdempotencyStore, prefix: str = "/api/") -> None:
        self.app = app
        self.store = store
        self.prefix = prefix
        self._retries: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("POST", "PATCH")
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
            await send_error(
                scope,
                send,
                InvalidRequest(
                    f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.",
                    code="invalid_idempotency_key",
                    param="Idempotency-Key",
                ),
            )
            return
        body = await _read_body(receive)
        credential = headers.get(b"authorization", b"")
        caller = hashlib.sha256(credential).hexdigest()
        request_hash = hashlib.sha256(
            b"\n".join([scope["method"].encode(), scope["path"].encode(), body])
        ).hexdigest()
        sealer = ReplaySealer(credential, key, request_hash)

        claim = await self.store.claim(caller, key, request_hash)
        if not isinstance(claim, Reserved):
            start, answer_body = _answer_to_retry(claim, request_hash, sealer)
            await send(start)
            await send(answer_body)
            return
        record_id = claim.record_id

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
            await self.app(scope, replay(body, receive), capture)
        finally:
            answer = None if status is None else sealer.seal(b"".join(chunks))
            await self._finish_or_retry_later(record_id, status, answer)

    async def _finish_or_retry_later(
        self, record_id: int, status: int | None, answer: bytes | None
    ) -> None:
        """Records the answer (or releases the key). Never raises: the answer has been sent,
        or the request's own error is on its way, and either outranks this one."""
        try:
            await self.store.finish(record_id, status, answer)
        except Exception as exc:
            # Until it is recorded, retries of this key are told to wait; keep trying aside,
            # so a database that is back in a moment does not hold the key for the lease.
            log.warning("idempotency record %d not finished: %s; retrying", record_id, exc)
            task = asyncio.create_task(self._finish_later(record_id, status, answer))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)

    async def _finish_later(self, record_id: int, status: int | None, answer: bytes | None) -> None:
        for delay in _FINISH_RETRY_SECONDS:
            await asyncio.sleep(delay)
            try:
                await self.store.finish(record_id, status, answer)
            except Exception as exc:
                log.warning("idempotency record %d still not finished: %s", record_id, exc)
            else:
                return
        log.error("idempotency record %d left to its lease", record_id)


def _answer_to_retry(
    record: IdempotencyRecord, request_hash: str, sealer: ReplaySealer
) -> tuple[Message, Message]:
    if record.request_hash != request_hash:
        return _error_messages(
            IdempotencyError(
                "This Idempotency-Key was used with a different request; use a new key.",
                code="idempotency_key_reused",
            )
        )
    if record.status_code is None or record.response_body is None:
        return _error_messages(
            IdempotencyError(
                "A request with this Idempotency-Key is still being processed; retry later.",
                code="idempotency_key_in_use",
            )
        )
    body = sealer.open(record.response_body)
    if body is None:
        return _error_messages(
            IdempotencyError(
                "The first answer to this Idempotency-Key cannot be replayed; check whether "
                "that request took effect before sending it again with a new key.",
                code="idempotency_replay_unavailable",
            )
        )
    return _messages(record.status_code, body, replayed=True)


class ReplaySealer:
    """Encrypts and decrypts one request's stored answer. The key is derived (HKDF-SHA256)
    from the caller's credential and the Idempotency-Key, and the request's hash is bound
    in as associated data, so an answer opens only for the same caller, key and request."""

    def __init__(self, credential: bytes, key: str, request_hash: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"paydesk idempotency replay",
            info=key.encode("utf-8", "surrogateescape"),
        ).derive(credential)
        self._aead = AESGCM(derived)
        self._associated = request_hash.encode()

    def seal(self, answer: bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, answer, self._associated)

    def open(self, sealed: bytes) -> bytes | None:
        """The answer; None when it does not open (stored before answers were sealed)."""
        try:
            return self._aead.decrypt(
                sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], self._associated
            )
        except (InvalidTag, ValueError):
            return None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


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
