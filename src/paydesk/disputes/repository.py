"""Every query on disputes, and the one place a dispute row is made."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.disputes.models import Dispute


class DisputeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, dispute_id: str) -> Dispute | None:
        return await self.session.get(Dispute, dispute_id)

    async def get_or_add(
        self, dispute_id: str, *, payment_id: str, status: str, amount: int, currency: str
    ) -> Dispute:
        """The dispute's row, made now (with what is known of it) if it has none yet."""
        row = await self.session.get(Dispute, dispute_id)
        if row is None:
            row = Dispute(
                id=dispute_id,
                payment_id=payment_id,
                status=status,
                amount=amount,
                currency=currency,
            )
            self.session.add(row)
        return row

    async def list_for_payment(self, payment_id: str) -> Sequence[Dispute]:
        query = select(Dispute).where(Dispute.payment_id == payment_id).order_by(Dispute.created_at)
        return (await self.session.scalars(query)).all()

    async def list_disputes(
        self, *, status: str | None, after: str | None, limit: int
    ) -> Sequence[Dispute]:
        """Newest first; `after` is the last dispute id of the previous page."""
        query = select(Dispute).order_by(Dispute.created_at.desc(), Dispute.id.desc()).limit(limit)
        if status is not None:
            query = query.where(Dispute.status == status)
        if after is not None:
            last = await self.session.get(Dispute, after)
            if last is not None:
                query = query.where(
                    tuple_(Dispute.created_at, Dispute.id) < tuple_(last.created_at, last.id)
                )
        return (await self.session.scalars(query)).all()
