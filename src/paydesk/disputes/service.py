"""Disputes as Stripe tells them, and answering one: evidence goes to Stripe, and what
Stripe answers is recorded."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

import orjson

from paydesk.db import Units
from paydesk.disputes.models import Dispute
from paydesk.disputes.repository import DisputeRepository
from paydesk.errors import Conflict, NotFound
from paydesk.gateway.base import Gateway
from paydesk.gateway.types import DisputeSnapshot
from paydesk.payments.facts import dispute_fact
from paydesk.payments.service import FactRecorder, PaymentsWork, asked_by, now_ms
from paydesk.payments.state import DISPUTE_OPEN


class DisputesWork(PaymentsWork, Protocol):
    """What the dispute service needs of a unit of work."""

    @property
    def disputes(self) -> DisputeRepository: ...


Work = TypeVar("Work", bound=DisputesWork)


async def record_details(
    disputes: DisputeRepository, payment_id: str, dispute: DisputeSnapshot
) -> Dispute:
    """Keeps Stripe's account of the dispute: reason, evidence due date, whether evidence
    was submitted. Its status is the one derived from the payment's facts."""
    row = await disputes.get_or_add(
        dispute.id,
        payment_id=payment_id,
        status=dispute.status,
        amount=dispute.amount,
        currency=dispute.currency,
    )
    row.reason = dispute.reason or row.reason
    if dispute.evidence_due_by is not None:
        row.evidence_due_by = dispute.evidence_due_by
    if dispute.evidence_submitted:
        row.evidence_submitted = True
    return row


class DisputeService(Generic[Work]):
    def __init__(self, units: Units[Work], gateway: Gateway, recorder: FactRecorder[Work]) -> None:
        self.units = units
        self.gateway = gateway
        self.recorder = recorder

    async def get(self, dispute_id: str) -> Dispute:
        async with self.units.reading() as work:
            dispute = await work.disputes.get(dispute_id)
        if dispute is None:
            raise NotFound(f"No dispute {dispute_id!r}.", param="dispute_id")
        return dispute

    async def list_disputes(
        self, *, status: str | None, after: str | None, limit: int
    ) -> Sequence[Dispute]:
        async with self.units.reading() as work:
            return await work.disputes.list_disputes(status=status, after=after, limit=limit)

    async def submit_evidence(
        self,
        dispute_id: str,
        evidence: dict[str, str],
        *,
        submit: bool,
        operator: str | None = None,
    ) -> Dispute:
        """Sends `evidence` to Stripe as a draft, or with `submit` to the bank (final).
        `operator` names the dashboard operator who sent it: what Stripe answers is recorded
        as their doing, and the timeline names them should the payment's status change."""
        dispute = await self.get(dispute_id)
        if dispute.status not in DISPUTE_OPEN or dispute.evidence_submitted:
            raise Conflict(
                f"Dispute {dispute_id} is {dispute.status}"
                f"{' with evidence submitted' if dispute.evidence_submitted else ''}: "
                "its evidence can no longer change.",
                code="dispute_not_open",
            )
        body = orjson.dumps({"evidence": evidence, "submit": submit}, option=orjson.OPT_SORT_KEYS)
        answer = await self.gateway.update_dispute(
            dispute_id,
            evidence=evidence,
            submit=submit,
            idempotency_key=f"paydesk-{dispute_id}-{hashlib.sha256(body).hexdigest()[:24]}",
        )
        async with self.units.writing() as work:
            payment = await work.payments.get(dispute.payment_id, for_update=True)
            assert payment is not None
            row = await record_details(work.disputes, payment.id, answer)
            if submit:
                row.evidence_submitted = True
            await self.recorder.record(
                work,
                payment,
                [dispute_fact(answer, now_ms())],
                cause=asked_by(operator),
                operator=operator,
            )
            return row
