"""Answering a dispute: evidence goes to Stripe, and what Stripe answers is recorded."""

from __future__ import annotations

import hashlib

import orjson

from paydesk.db import Database
from paydesk.disputes import repository
from paydesk.disputes.models import Dispute
from paydesk.errors import Conflict, NotFound
from paydesk.gateway.base import Gateway
from paydesk.gateway.types import dispute_fact
from paydesk.payments import repository as payments_repository
from paydesk.payments.service import asked_by, now_ms, record_facts
from paydesk.payments.state import DISPUTE_OPEN


class DisputeService:
    def __init__(self, db: Database, gateway: Gateway) -> None:
        self.db = db
        self.gateway = gateway

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
        async with self.db.sessions() as session:
            dispute = await repository.get(session, dispute_id)
        if dispute is None:
            raise NotFound(f"No dispute {dispute_id!r}.", param="dispute_id")
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
        async with self.db.transaction() as session:
            payment = await payments_repository.get_payment(
                session, dispute.payment_id, for_update=True
            )
            assert payment is not None
            row = await repository.record(session, payment.id, answer)
            if submit:
                row.evidence_submitted = True
            await record_facts(
                session,
                payment,
                [dispute_fact(answer, now_ms())],
                cause=asked_by(operator),
                operator=operator,
            )
            return row
