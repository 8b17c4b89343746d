"""Settlement: the balance transactions that moved each ledger entry's money.

Every movement of a payment's money (a charge, a refund and its failure, a dispute's
withdrawal and reinstatement) and of the balance itself (a payout, a failed payout's
return, Stripe's own fees) has one balance transaction at Stripe. paydesk records each once
(unique per `txn_` id) and links it to the entry it belongs to, which then shows the money
in the account's settlement currency: its amount, Stripe's fee, the net.

Transactions come from what paydesk already reads (a PaymentIntent's latest charge,
expanded; a dispute, which always carries them; a payout's contents), and for the entries
still without one, from Stripe, read by `Settler` outside any transaction and written after.
A transaction of a balance-only kind (a payout, a fee, a movement paydesk did not make)
posts its own entry; one of a payment's money waits for the entry the payment's own news
posts, in whichever order the two arrive."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

import orjson

from paydesk.db import Units
from paydesk.errors import PaydeskError, PaymentProviderUnavailable
from paydesk.gateway.base import Gateway
from paydesk.gateway.types import BalanceTransactionSnapshot, transactions_of
from paydesk.ledger.models import LedgerEntry, LedgerKind
from paydesk.ledger.repository import LedgerRepository, Unsettled
from paydesk.payments.repository import PaymentRepository

log = logging.getLogger(__name__)

# Stripe's transaction types, as the ledger entry whose money they move.
_KIND_OF_TYPE = {
    "charge": LedgerKind.CHARGE,
    "payment": LedgerKind.CHARGE,
    "refund": LedgerKind.REFUND,
    "payment_refund": LedgerKind.REFUND,
    "refund_failure": LedgerKind.REFUND_REVERSAL,
    "payment_failure_refund": LedgerKind.REFUND_REVERSAL,
    "payout": LedgerKind.PAYOUT,
    "payout_failure": LedgerKind.PAYOUT_REVERSAL,
    "payout_cancel": LedgerKind.PAYOUT_REVERSAL,
    "stripe_fee": LedgerKind.FEE,
    "tax_fee": LedgerKind.FEE,
}
_PAYMENT_KINDS = frozenset(
    {
        LedgerKind.CHARGE,
        LedgerKind.REFUND,
        LedgerKind.REFUND_REVERSAL,
        LedgerKind.DISPUTE_WITHDRAWAL,
        LedgerKind.DISPUTE_REINSTATEMENT,
    }
)
# Kinds whose entry the transaction itself posts: no payment's news ever will.
BALANCE_KINDS = frozenset(
    {LedgerKind.FEE, LedgerKind.PAYOUT, LedgerKind.PAYOUT_REVERSAL, LedgerKind.ADJUSTMENT}
)


def entry_key(txn: BalanceTransactionSnapshot, payment_id: str | None) -> tuple[LedgerKind, str]:
    """The ledger entry (kind, Stripe object) whose money `txn` moved: a charge's is its
    payment's charge (by PaymentIntent), a refund's its refund, a dispute's its withdrawal or
    reinstatement, a payout's its payout. A movement of a payment paydesk does not have, or
    of a type it does not know, is an adjustment of its own (by the transaction's id)."""
    kind = _KIND_OF_TYPE.get(txn.type)
    if txn.type == "adjustment" and (txn.source or "").startswith("dp_"):
        reinstated = txn.reporting_category == "dispute_reversal" or txn.amount > 0
        kind = LedgerKind.DISPUTE_REINSTATEMENT if reinstated else LedgerKind.DISPUTE_WITHDRAWAL
    if kind in (LedgerKind.PAYOUT, LedgerKind.PAYOUT_REVERSAL) and txn.source:
        return kind, txn.source
    if kind in _PAYMENT_KINDS and payment_id is not None:
        object_id = txn.source_intent if kind == LedgerKind.CHARGE else txn.source
        if object_id:
            return kind, object_id
    if kind == LedgerKind.FEE:
        return kind, txn.id
    return LedgerKind.ADJUSTMENT, txn.id


class SettlementWork(Protocol):
    @property
    def ledger(self) -> LedgerRepository: ...

    @property
    def payments(self) -> PaymentRepository: ...


Work = TypeVar("Work", bound=SettlementWork)


async def record_transactions(
    work: SettlementWork,
    transactions: Iterable[BalanceTransactionSnapshot],
    *,
    payout_id: str | None = None,
    payments: Mapping[str, str] | None = None,
) -> None:
    """Records each transaction once (`payout_id`: the payout that paid them out), posts
    the entries of balance-only kinds, and links every entry to its transaction.
    `payments`: the payment of each PaymentIntent the caller knows already, by its id."""
    unique = list({t.id: t for t in transactions}.values())
    if not unique:
        return
    known = dict(payments or {})
    asked = {t.source_intent for t in unique if t.source_intent} - known.keys()
    payments = known | await work.payments.ids_by_intents(asked)
    rows, entries, links = [], [], []
    for txn in unique:
        payment_id = payments.get(txn.source_intent or "")
        kind, object_id = entry_key(txn, payment_id)
        rows.append(_row(txn, kind, object_id, payment_id, payout_id))
        if kind in BALANCE_KINDS:
            entries.append(
                LedgerEntry(
                    payment_id=payment_id,
                    kind=kind,
                    amount=txn.amount,
                    currency=txn.currency,
                    stripe_object_id=object_id,
                )
            )
        links.append((str(kind), object_id, txn.id))
    await work.ledger.record_transactions(rows)
    await work.ledger.post(entries)
    await work.ledger.link(links)


def _row(
    txn: BalanceTransactionSnapshot,
    kind: LedgerKind,
    object_id: str,
    payment_id: str | None,
    payout_id: str | None,
) -> dict[str, Any]:
    return {
        "id": txn.id,
        "type": txn.type[:64],
        "reporting_category": txn.reporting_category[:64],
        "source": txn.source,
        "payment_id": payment_id,
        "entry_kind": kind,
        "entry_object_id": object_id,
        "amount": txn.amount,
        "fee": txn.fee,
        "net": txn.net,
        "currency": txn.currency,
        "exchange_rate": txn.exchange_rate,
        "fee_details": orjson.dumps(
            [
                {
                    "type": d.type,
                    "amount": d.amount,
                    "currency": d.currency,
                    "description": d.description,
                }
                for d in txn.fee_details
            ]
        ).decode(),
        "status": txn.status,
        "description": txn.description,
        "created": datetime.fromtimestamp(txn.created, UTC),
        "available_on": datetime.fromtimestamp(txn.available_on, UTC),
        "payout_id": payout_id,
    }


class Settler(Generic[Work]):
    """Reads from Stripe the transactions of entries that have none yet, `batch` entries a
    round, each round after the last (then from the start again), so an entry Stripe cannot
    answer for yet never holds up the others."""

    def __init__(self, units: Units[Work], gateway: Gateway, *, batch: int = 100) -> None:
        self.units = units
        self.gateway = gateway
        self.batch = batch
        self._after = 0

    async def settle(self) -> int:
        """One round; returns how many transactions it found recorded or read from Stripe
        for the waiting entries."""
        async with self.units.reading() as work:
            waiting = await work.ledger.unsettled(after_id=self._after, limit=self.batch)
            known = await work.ledger.transactions_for(
                {(u.kind, u.stripe_object_id) for u in waiting}
            )
        self._after = waiting[-1].id if len(waiting) == self.batch else 0
        if not waiting:
            return 0
        links = [
            (u.kind, u.stripe_object_id, known[(u.kind, u.stripe_object_id)])
            for u in waiting
            if (u.kind, u.stripe_object_id) in known
        ]
        read: list[BalanceTransactionSnapshot] = []
        asked: set[str] = set()
        for entry in waiting:
            if (entry.kind, entry.stripe_object_id) in known or entry.stripe_object_id in asked:
                continue
            asked.add(entry.stripe_object_id)
            try:
                read.extend(await self._read(entry))
            except PaymentProviderUnavailable:
                log.warning("Stripe is unreachable; settlement waits for the next round")
                break
            except PaydeskError as exc:
                log.warning(
                    "no balance transaction for %s %s yet: %s",
                    entry.kind,
                    entry.stripe_object_id,
                    exc,
                )
        async with self.units.writing() as work:
            await work.ledger.link(links)
            await record_transactions(work, read)
        return len(links) + len(read)

    async def _read(self, entry: Unsettled) -> Sequence[BalanceTransactionSnapshot]:
        kind, object_id = entry.kind, entry.stripe_object_id
        if kind == LedgerKind.CHARGE:
            return transactions_of(await self.gateway.retrieve_payment_intent(object_id))
        if kind in (LedgerKind.REFUND, LedgerKind.REFUND_REVERSAL):
            return (await self.gateway.retrieve_refund(object_id)).transactions
        if kind in (LedgerKind.DISPUTE_WITHDRAWAL, LedgerKind.DISPUTE_REINSTATEMENT):
            return (await self.gateway.retrieve_dispute(object_id)).transactions
        if kind in (LedgerKind.PAYOUT, LedgerKind.PAYOUT_REVERSAL):
            payout = await self.gateway.retrieve_payout(object_id)
            wanted = (
                payout.balance_transaction
                if kind == LedgerKind.PAYOUT
                else payout.failure_balance_transaction
            )
            if wanted is None:
                return ()
            return (await self.gateway.retrieve_balance_transaction(wanted),)
        return ()
