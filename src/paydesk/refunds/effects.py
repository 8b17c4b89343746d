"""What a refund row does when the payment's facts move one of its refunds: it takes the
status derived from them, and a refund made outside paydesk (in Stripe's dashboard) is
recorded when its news first arrives."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from paydesk.payments.changes import RefundMoved
from paydesk.refunds.repository import RefundRepository


class RefundsWork(Protocol):
    @property
    def refunds(self) -> RefundRepository: ...


async def follow_refunds(work: RefundsWork, changes: Sequence[RefundMoved]) -> None:
    for change in changes:
        refund = await work.refunds.get_by_stripe_id(change.refund_id)
        if refund is None:
            refund = work.refunds.add(
                payment_id=change.payment.id,
                stripe_refund_id=change.refund_id,
                amount=change.amount,
                currency=change.payment.currency,
                status=change.status,
            )
        refund.status = change.status
