"""Stripe's idempotency keys: one answer per key, replayed; other parameters refused."""

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson

from paydesk.sandbox.errors import IdempotencyError
from paydesk.sandbox.forms import Params
from paydesk.sandbox.store import IdempotentResponse, SandboxStore

MAX_KEY_LENGTH = 255


class KeyedLocks:
    """One asyncio lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: tuple[str, str]) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def fingerprint(params: Params) -> bytes:
    return hashlib.sha256(orjson.dumps(params, option=orjson.OPT_SORT_KEYS)).digest()


def check_key(key: str) -> None:
    if len(key) > MAX_KEY_LENGTH:
        raise IdempotencyError(
            f"Idempotency keys must be at most {MAX_KEY_LENGTH} characters long.",
            param="Idempotency-Key",
        )


def stored_response(
    store: SandboxStore, scope: tuple[str, str], method: str, path: str, params: bytes
) -> IdempotentResponse | None:
    """The first answer given for this key, or None; an error if the request differs."""
    stored = store.idempotent_responses.get(scope)
    if stored is None:
        return None
    if stored.method != method or stored.path != path or stored.params != params:
        raise IdempotencyError(
            "Keys for idempotent requests can only be used with the same parameters they "
            f"were first used with. Try using a key other than '{scope[1]}' if you meant to "
            "execute a different request.",
        )
    return stored


def should_store(status: int) -> bool:
    """Answers from a request that ran: successes and card declines, as Stripe keeps."""
    return status < 300 or status == 402
