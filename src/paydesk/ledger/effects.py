"""What the ledger posts when a payment's money moves: a charge when money is taken, a
refund when one succeeds (and its reversal when one fails after succeeding), a dispute's
withdrawal, fee and reinstatement. Each once: entries are unique per Stripe object and
kind, and are never changed or deleted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from paydesk.ledger.models import LedgerEntry, LedgerKind
from paydesk.ledger.repository import LedgerRepository
from paydesk.payments.changes import DisputeFundsMoved, MoneyCaptured, RefundMoved


class LedgerWork(Protocol):
    @property
    def ledger(self) -> LedgerRepository: ...


async def post_charges(work: LedgerWork, changes: Sequence[MoneyCaptured]) -> None:
    await work.ledger.post(
        [
            LedgerEntry(
                payment_id=c.payment.id,
                kind=LedgerKind.CHARGE,
                amount=c.amount,
                currency=c.payment.currency,
                stripe_object_id=c.payment.stripe_payment_intent_id,
            )
            for c in changes
            if c.payment.stripe_payment_intent_id
        ]
    )


async def post_refunds(work: LedgerWork, changes: Sequence[RefundMoved]) -> None:
    entries = []
    for c in changes:
        if c.status == "succeeded":
            kind, amount = LedgerKind.REFUND, -c.amount
        elif c.status in ("failed", "canceled") and await work.ledger.has_entry(
            c.refund_id, LedgerKind.REFUND
        ):
            kind, amount = LedgerKind.REFUND_REVERSAL, c.amount
        else:
            continue
        entries.append(
            LedgerEntry(
                payment_id=c.payment.id,
                kind=kind,
                amount=amount,
                currency=c.payment.currency,
                stripe_object_id=c.refund_id,
            )
        )
    await work.ledger.post(entries)


async def post_dispute_funds(work: LedgerWork, changes: Sequence[DisputeFundsMoved]) -> None:
    entries = []
    for c in changes:
        dispute = c.dispute
        if c.withdrawn:
            entries.append(_dispute_entry(c, LedgerKind.DISPUTE_WITHDRAWAL, -dispute.amount))
            if dispute.fee:
                fee = _dispute_entry(c, LedgerKind.DISPUTE_FEE, -dispute.fee)
                fee.currency = dispute.fee_currency or dispute.currency
                entries.append(fee)
        else:
            entries.append(_dispute_entry(c, LedgerKind.DISPUTE_REINSTATEMENT, dispute.amount))
    await work.ledger.post(entries)


def _dispute_entry(change: DisputeFundsMoved, kind: LedgerKind, amount: int) -> LedgerEntry:
    return LedgerEntry(
        payment_id=change.payment.id,
        kind=kind,
        amount=amount,
        currency=change.dispute.currency,
        stripe_object_id=change.dispute.id,
    )
