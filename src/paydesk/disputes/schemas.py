from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from paydesk.disputes.models import Dispute
from paydesk.money import format_amount

EvidenceText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]


class DisputeEvidence(BaseModel):
    """Stripe's text evidence fields; `submit` sends the evidence to the bank (final)."""

    model_config = ConfigDict(extra="forbid")

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
    id: str
    payment_id: str
    status: str
    reason: str | None
    amount: int
    currency: str
    amount_display: str
    evidence_due_by: datetime | None
    evidence_submitted: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, dispute: Dispute) -> DisputeOut:
        return cls(
            id=dispute.id,
            payment_id=dispute.payment_id,
            status=dispute.status,
            reason=dispute.reason,
            amount=dispute.amount,
            currency=dispute.currency,
            amount_display=format_amount(dispute.amount, dispute.currency),
            evidence_due_by=dispute.evidence_due_by,
            evidence_submitted=dispute.evidence_submitted,
            created_at=dispute.created_at,
            updated_at=dispute.updated_at,
        )


class DisputeList(BaseModel):
    data: list[DisputeOut]
    next_cursor: str | None
