from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, computed_field

from paydesk.money import MAXIMUM_CHARGE, format_amount
from paydesk.validation import RequestModel


class RefundCreate(RequestModel):
    amount: Annotated[StrictInt, Field(gt=0, le=MAXIMUM_CHARGE)] | None = Field(
        default=None,
        description="In the currency's minor units; without it, everything still refundable.",
    )
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None


class RefundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    payment_id: str
    stripe_refund_id: str | None
    amount: int
    currency: str
    reason: str | None
    status: str
    failure_reason: str | None
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def amount_display(self) -> str:
        return format_amount(self.amount, self.currency)


class RefundList(BaseModel):
    data: list[RefundOut]
