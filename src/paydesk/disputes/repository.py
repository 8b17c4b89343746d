"""Every query on disputes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.disputes.models import Dispute


async def record(session: AsyncSession, payment_id: str, dispute: dict[str, Any]) -> Dispute:
    """Keeps Stripe's account of the dispute: reason, amount, evidence due date. Its status
    is the one derived from every fact seen, set when the payment's facts are applied."""
    row = await session.get(Dispute, dispute["id"])
    if row is None:
        row = Dispute(
            id=dispute["id"],
            payment_id=payment_id,
            status=dispute["status"],
            amount=int(dispute["amount"]),
            currency=str(dispute["currency"]).lower(),
        )
        session.add(row)
    row.reason = dispute.get("reason") or row.reason
    due_by = (dispute.get("evidence_details") or {}).get("due_by")
    if due_by:
        row.evidence_due_by = datetime.fromtimestamp(int(due_by), UTC)
    if (dispute.get("evidence_details") or {}).get("submission_count"):
        row.evidence_submitted = True
    return row


async def get(session: AsyncSession, dispute_id: str) -> Dispute | None:
    return await session.get(Dispute, dispute_id)


async def listing(
    session: AsyncSession, *, status: str | None, after: str | None, limit: int
) -> Sequence[Dispute]:
    """Newest first; `after` is the last dispute id of the previous page."""
    query = select(Dispute).order_by(Dispute.created_at.desc(), Dispute.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Dispute.status == status)
    if after is not None:
        last = await session.get(Dispute, after)
        if last is not None:
            query = query.where(
                tuple_(Dispute.created_at, Dispute.id) < tuple_(last.created_at, last.id)
            )
    return (await session.scalars(query)).all()
