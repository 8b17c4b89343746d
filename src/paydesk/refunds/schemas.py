from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from paydesk.money import MAXIMUM_CHARGE, format_amount
from paydesk.refunds.models import Refund


class RefundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Annotated[StrictInt, Field(gt=0, le=MAXIMUM_CHARGE)] | None = Field(
        default=None,
        description="In the currency's minor units; without it, everything still refundable.",
    )
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None


class RefundOut(BaseModel):
    id: str
    payment_id: str
    stripe_refund_id: str | None
    amount: int
    currency: str
    amount_display: str
    reason: str | None
    status: str
    failure_reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, refund: Refund) -> RefundOut:
        return cls(
            id=refund.id,
            payment_id=refund.payment_id,
            stripe_refund_id=refund.stripe_refund_id,
            amount=refund.amount,
            currency=refund.currency,
            amount_display=format_amount(refund.amount, refund.currency),
            reason=refund.reason,
            status=refund.status,
            failure_reason=refund.failure_reason,
            created_at=refund.created_at,
        )


class RefundList(BaseModel):
    data: list[RefundOut]
