"""Every query on idempotency records, and the one place a record is made."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.db import insert_new, utcnow
from paydesk.idempotency.models import IdempotencyRecord


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, caller_hash: str, key: str, request_hash: str) -> int | None:
        """Reserves `key` for the caller with `INSERT … ON CONFLICT DO NOTHING`: the new
        record's id, or None when the caller holds the key already (a request still
        inserting it is waited for, and its key is free again if it rolls back)."""
        insert = insert_new(
            self.session.get_bind().dialect.name, IdempotencyRecord, "caller_hash", "key"
        )
        record_id: int | None = await self.session.scalar(
            insert.values(
                caller_hash=caller_hash, key=key, request_hash=request_hash, created_at=utcnow()
            ).returning(IdempotencyRecord.id)
        )
        return record_id

    async def get_by_key(
        self, caller_hash: str, key: str, *, for_update: bool = False
    ) -> IdempotencyRecord | None:
        query = select(IdempotencyRecord).where(
            IdempotencyRecord.caller_hash == caller_hash, IdempotencyRecord.key == key
        )
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def finish(self, record_id: int, status_code: int, response_body: bytes) -> None:
        """Keeps the answer to replay it."""
        await self.session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id)
            .values(status_code=status_code, response_body=response_body)
        )

    async def delete(self, record_id: int) -> None:
        await self.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id)
        )

    async def purge_created_before(self, cutoff: datetime) -> int:
        """Deletes the records made at or before `cutoff`; returns how many."""
        result = await self.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at <= cutoff)
        )
        return int(getattr(result, "rowcount", 0) or 0)
