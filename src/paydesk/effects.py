"""What each change to a payment causes, in one table.

Recording a payment's facts (payments/recording.py) returns typed changes; this table maps
each kind to the effects other packages own, run in the order listed, in the same unit of
work, so a change and all it causes commit together or not at all. A new consequence of a
change is a line here; a new kind of change is a new key.

| change            | effects                                                          |
|-------------------|------------------------------------------------------------------|
| StatusChanged     | the order takes its new status (an expired one paid after all is |
|                   | flagged, and the shop hears); the customer and the shop hear     |
| MoneyCaptured     | the ledger posts the charge                                      |
| RefundMoved       | the refund row follows; the ledger posts it; the customer hears  |
| DisputeMoved      | the dispute row follows; the shop hears                          |
| DisputeFundsMoved | the ledger posts the withdrawal and fee, or the reinstatement    |
| FraudWarned       | the early fraud warning is recorded; the shop hears              |
| TransactionsSeen  | the balance transactions are recorded and their entries linked   |
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from paydesk.disputes.effects import follow_disputes
from paydesk.fraud.effects import record_warnings
from paydesk.ledger.effects import post_charges, post_dispute_funds, post_refunds
from paydesk.ledger.settlement import record_transactions
from paydesk.notifications.effects import (
    dispute_moved,
    fraud_warned,
    orders_paid_after_expiry,
    payment_status_changed,
    refund_moved,
)
from paydesk.orders.effects import follow_payments
from paydesk.payments.changes import (
    Change,
    DisputeFundsMoved,
    DisputeMoved,
    FraudWarned,
    MoneyCaptured,
    RefundMoved,
    StatusChanged,
    TransactionsSeen,
)
from paydesk.refunds.effects import follow_refunds
from paydesk.unit_of_work import UnitOfWork

Effect = Callable[[UnitOfWork, Sequence[Any]], Awaitable[None]]


async def _order_follows(work: UnitOfWork, changes: Sequence[StatusChanged]) -> None:
    revived = await follow_payments(work, [(c.payment.order_id, c.order_status) for c in changes])
    if revived:
        paid = {c.payment.order_id: c for c in changes if c.payment.order_id in revived}
        await orders_paid_after_expiry(work, list(paid.values()))


async def _transactions_seen(work: UnitOfWork, changes: Sequence[TransactionsSeen]) -> None:
    payments = {
        c.payment.stripe_payment_intent_id: c.payment.id
        for c in changes
        if c.payment.stripe_payment_intent_id
    }
    transactions = [txn for c in changes for txn in c.transactions]
    await record_transactions(work, transactions, payments=payments)


# Transactions come last: the entries whose money they moved are posted by then.
EFFECTS: dict[type[Change], tuple[Effect, ...]] = {
    StatusChanged: (_order_follows, payment_status_changed),
    MoneyCaptured: (post_charges,),
    RefundMoved: (follow_refunds, post_refunds, refund_moved),
    DisputeMoved: (follow_disputes, dispute_moved),
    DisputeFundsMoved: (post_dispute_funds,),
    FraudWarned: (record_warnings, fraud_warned),
    TransactionsSeen: (_transactions_seen,),
}


async def apply_effects(work: UnitOfWork, changes: Sequence[Change]) -> None:
    """Runs every effect of `changes` in `work`: kind by kind in the table's order, each
    effect given all the changes of its kind, in the order they happened."""
    for kind, effects in EFFECTS.items():
        of_kind = [c for c in changes if type(c) is kind]
        if of_kind:
            for effect in effects:
                await effect(work, of_kind)
