from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, computed_field

from paydesk.money import format_amount
from paydesk.validation import RequestModel

EvidenceText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]


class DisputeEvidence(RequestModel):
    """Stripe's text evidence fields; `submit` sends the evidence to the bank (final)."""

    customer_name: EvidenceText | None = None
    customer_email_address: EvidenceText | None = None
    billing_address: EvidenceText | None = None
    product_description: EvidenceText | None = None
    shipping_address: EvidenceText | None = None
    shipping_carrier: EvidenceText | None = None
    shipping_tracking_number: EvidenceText | None = None
    shipping_date: EvidenceText | None = None
    refund_policy_disclosure: EvidenceText | None = None
    refund_refusal_explanation: EvidenceText | None = None
    cancellation_rebuttal: EvidenceText | None = None
    uncategorized_text: EvidenceText | None = None
    submit: bool = Field(default=False, description="Submit now; evidence cannot change after.")

    def fields(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump(exclude={"submit"}).items() if v is not None}


class DisputeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    payment_id: str
    status: str
    reason: str | None
    amount: int
    currency: str
    evidence_due_by: datetime | None
    evidence_submitted: bool
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def amount_display(self) -> str:
        return format_amount(self.amount, self.currency)


class DisputeList(BaseModel):
    data: list[DisputeOut]
    next_cursor: str | None
