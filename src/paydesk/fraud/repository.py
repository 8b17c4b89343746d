"""Every query on early fraud warnings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.fraud.models import FraudWarning, WarningAction
from paydesk.gateway.types import EarlyFraudWarningSnapshot


class FraudWarningRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, warnings: Sequence[tuple[str, EarlyFraudWarningSnapshot]]) -> None:
        """Each warning (with the id of its payment) once: a warning told again only
        learns whether it is still actionable."""
        ids = list(dict.fromkeys(w.id for _, w in warnings))
        known = {
            row.id: row
            for row in await self.session.scalars(
                select(FraudWarning).where(FraudWarning.id.in_(ids)).with_for_update()
            )
        }
        for payment_id, warning in warnings:
            row = known.get(warning.id)
            if row is None:
                row = known[warning.id] = FraudWarning(
                    id=warning.id,
                    payment_id=payment_id,
                    charge_id=warning.charge,
                    fraud_type=warning.fraud_type[:64],
                    actionable=warning.actionable,
                    created=datetime.fromtimestamp(warning.created, UTC),
                )
                self.session.add(row)
            else:
                row.actionable = warning.actionable
        await self.session.flush()

    async def get(self, warning_id: str, *, for_update: bool = False) -> FraudWarning | None:
        query = select(FraudWarning).where(FraudWarning.id == warning_id)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def list_undecided(self, *, limit: int) -> list[FraudWarning]:
        """Warnings nothing has been done about yet: undecided, or to be refunded and not."""
        rows = await self.session.scalars(
            select(FraudWarning)
            .where(
                or_(
                    FraudWarning.action.is_(None),
                    (FraudWarning.action == WarningAction.REFUND)
                    & FraudWarning.refund_id.is_(None),
                )
            )
            .order_by(FraudWarning.recorded_at)
            .limit(limit)
        )
        return list(rows)

    async def list_for_payment(self, payment_id: str) -> list[FraudWarning]:
        rows = await self.session.scalars(
            select(FraudWarning)
            .where(FraudWarning.payment_id == payment_id)
            .order_by(FraudWarning.created)
        )
        return list(rows)
