"""What a dispute row does when the payment's facts move one of its disputes: it takes the
status derived from them, and is made when the first news of the dispute arrives."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from paydesk.disputes.repository import DisputeRepository
from paydesk.payments.changes import DisputeMoved


class DisputesWork(Protocol):
    @property
    def disputes(self) -> DisputeRepository: ...


async def follow_disputes(work: DisputesWork, changes: Sequence[DisputeMoved]) -> None:
    for change in changes:
        row = await work.disputes.get_or_add(
            change.dispute_id,
            payment_id=change.payment.id,
            status=change.status,
            amount=change.amount,
            currency=change.payment.currency,
        )
        row.status = change.status
