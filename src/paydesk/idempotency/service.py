"""Idempotency keys at rest: reserving a caller's key for one request, keeping its answer
(sealed by the middleware) for 24 hours, and forgetting it after.

A key is reserved in a unit of work of its own, committed before the request runs, so a
retry sent meanwhile finds it taken; the answer is kept in another once the request has
been answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from paydesk.db import Units, utcnow
from paydesk.idempotency.models import IdempotencyRecord
from paydesk.idempotency.repository import IdempotencyRepository

# How long a key is remembered; after that the same key starts a new request.
RETENTION = timedelta(hours=24)
# A request still unanswered after this long is taken for one whose answer was lost (its
# server stopped); a retry may then run it again. Far longer than any request takes.
IN_PROGRESS_LEASE = timedelta(minutes=5)


class IdempotencyWork(Protocol):
    @property
    def idempotency(self) -> IdempotencyRepository: ...


@dataclass(frozen=True, slots=True)
class Reserved:
    """The key is this request's: its answer is to be kept in the record `record_id`."""

    record_id: int


class IdempotencyStore:
    def __init__(self, units: Units[IdempotencyWork]) -> None:
        self.units = units

    async def claim(
        self, caller_hash: str, key: str, request_hash: str
    ) -> Reserved | IdempotencyRecord:
        """Reserves the caller's key for this request, or returns the record of the request
        that holds it (detached: answered, still running, or made for another request). A
        record past its retention, or unanswered past the lease, is deleted and the key
        reserved anew."""
        while True:
            async with self.units.writing() as work:
                record_id = await work.idempotency.add(caller_hash, key, request_hash)
            if record_id is not None:
                return Reserved(record_id)
            async with self.units.writing() as work:
                existing = await work.idempotency.get_by_key(caller_hash, key, for_update=True)
                if existing is not None and _expired(existing, utcnow()):
                    await work.idempotency.delete(existing.id)
                    continue
            if existing is None:  # the first request failed and released the key just now
                continue
            return existing

    async def finish(self, record_id: int, status: int | None, answer: bytes | None) -> None:
        """Keeps the answer to replay it; a server error or a crash (no status, no answer)
        releases the key, since nothing was decided and the retry must run again."""
        async with self.units.writing() as work:
            if status is None or status >= 500 or answer is None:
                await work.idempotency.delete(record_id)
            else:
                await work.idempotency.finish(record_id, status, answer)

    async def purge_expired(self, *, now: datetime | None = None) -> int:
        """Forgets keys past their retention; returns how many."""
        async with self.units.writing() as work:
            return await work.idempotency.purge_created_before((now or utcnow()) - RETENTION)


def _expired(record: IdempotencyRecord, now: datetime) -> bool:
    """Past its retention, or still unanswered long after any request would have ended."""
    if record.created_at <= now - RETENTION:
        return True
    return record.status_code is None and record.created_at <= now - IN_PROGRESS_LEASE
