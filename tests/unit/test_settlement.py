"""Reading Stripe's balance transactions and payouts, and which ledger entry each
transaction's money belongs to: pure rules, no database."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from paydesk.gateway.types import (
    BalanceTransactionSnapshot,
    DisputeSnapshot,
    IntentSnapshot,
    PayoutSnapshot,
    snapshot_of,
    transactions_of,
)
from paydesk.ledger.models import LedgerKind
from paydesk.ledger.settlement import entry_key
from paydesk.payouts.models import Payout
from paydesk.payouts.repository import _later

FIXTURES: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "data" / "stripe_fixtures.json").read_text()
)


def txn(**fields: Any) -> BalanceTransactionSnapshot:
    base = BalanceTransactionSnapshot.from_stripe(FIXTURES["balance_transaction"])
    return replace(base, **fields)


def test_stripes_own_balance_transaction_and_payout_read_as_snapshots() -> None:
    read = BalanceTransactionSnapshot.from_stripe(FIXTURES["balance_transaction"])
    assert (read.id, read.type, read.amount, read.fee, read.net) == (
        "txn_1PgaxNB7WZ01zgkWEV3TLf40", "charge", 100, 0, 100,
    )  # fmt: skip
    assert (read.source, read.source_intent, read.exchange_rate) == (
        "ch_1PgafuB7WZ01zgkWXYmPNZs8", None, None,
    )  # fmt: skip
    payout = snapshot_of(FIXTURES["payout"])
    assert isinstance(payout, PayoutSnapshot)
    assert (payout.status, payout.amount, payout.automatic) == ("in_transit", 1100, True)
    assert payout.balance_transaction == "txn_1PgaxNB7WZ01zgkWEV3TLf40"
    assert transactions_of(payout) == ()


def test_the_exchange_rate_is_kept_as_the_decimal_stripe_sent() -> None:
    body = {**FIXTURES["balance_transaction"], "exchange_rate": 1.0842}
    assert BalanceTransactionSnapshot.from_stripe(body).exchange_rate == "1.0842"
    tiny = {**FIXTURES["balance_transaction"], "exchange_rate": 0.006711409395973154}
    assert BalanceTransactionSnapshot.from_stripe(tiny).exchange_rate == "0.006711409395973154"


def test_an_expanded_source_names_its_payment_intent() -> None:
    body = {
        **FIXTURES["balance_transaction"],
        "source": {"id": "ch_1", "object": "charge", "payment_intent": "pi_1"},
        "fee": 59,
        "net": 41,
        "fee_details": [
            {"amount": 59, "currency": "usd", "type": "stripe_fee", "description": "Stripe"}
        ],
    }
    read = BalanceTransactionSnapshot.from_stripe(body)
    assert (read.source, read.source_intent) == ("ch_1", "pi_1")
    assert [(d.type, d.amount) for d in read.fee_details] == [("stripe_fee", 59)]


def test_a_payment_intent_carries_its_charges_transaction_when_expanded() -> None:
    intent = {
        **FIXTURES["payment_intent"],
        "id": "pi_9",
        "latest_charge": {
            **FIXTURES["charge"],
            "balance_transaction": {**FIXTURES["balance_transaction"], "id": "txn_9"},
        },
    }
    snapshot = IntentSnapshot.from_stripe(intent)
    [seen] = transactions_of(snapshot)
    assert (seen.id, seen.source_intent) == ("txn_9", "pi_9")
    unexpanded = IntentSnapshot.from_stripe({**FIXTURES["payment_intent"], "latest_charge": "ch_1"})
    assert transactions_of(unexpanded) == ()


def test_a_disputes_fee_is_in_the_settlement_currency_of_its_withdrawal() -> None:
    withdrawal = {
        **FIXTURES["balance_transaction"],
        "id": "txn_w", "type": "adjustment", "reporting_category": "dispute",
        "amount": -5400, "fee": 1500, "net": -6900, "source": "dp_1",
    }  # fmt: skip
    dispute = DisputeSnapshot.from_stripe(
        {
            "id": "dp_1",
            "object": "dispute",
            "status": "needs_response",
            "amount": 5000,
            "currency": "eur",
            "payment_intent": "pi_1",
            "balance_transactions": [withdrawal],
        }
    )
    assert (dispute.fee, dispute.fee_currency, dispute.currency) == (1500, "usd", "eur")
    assert [t.source_intent for t in dispute.transactions] == ["pi_1"]


@pytest.mark.parametrize(
    ("fields", "payment_id", "key"),
    [
        ({"type": "charge", "source_intent": "pi_1"}, "pay_1", (LedgerKind.CHARGE, "pi_1")),
        ({"type": "payment", "source_intent": "pi_1"}, "pay_1", (LedgerKind.CHARGE, "pi_1")),
        ({"type": "refund", "source": "re_1"}, "pay_1", (LedgerKind.REFUND, "re_1")),
        (
            {"type": "refund_failure", "source": "re_1"},
            "pay_1",
            (LedgerKind.REFUND_REVERSAL, "re_1"),
        ),
        (
            {"type": "adjustment", "reporting_category": "dispute", "source": "dp_1", "amount": -5},
            "pay_1",
            (LedgerKind.DISPUTE_WITHDRAWAL, "dp_1"),
        ),
        (
            {
                "type": "adjustment",
                "reporting_category": "dispute_reversal",
                "source": "dp_1",
                "amount": 5,
            },
            "pay_1",
            (LedgerKind.DISPUTE_REINSTATEMENT, "dp_1"),
        ),
        ({"type": "payout", "source": "po_1"}, None, (LedgerKind.PAYOUT, "po_1")),
        ({"type": "payout_failure", "source": "po_1"}, None, (LedgerKind.PAYOUT_REVERSAL, "po_1")),
        ({"type": "payout_cancel", "source": "po_1"}, None, (LedgerKind.PAYOUT_REVERSAL, "po_1")),
        ({"type": "stripe_fee", "source": None}, None, (LedgerKind.FEE, "txn_x")),
        # A charge of a payment paydesk does not have, and a type it does not know.
        ({"type": "charge", "source_intent": "pi_2"}, None, (LedgerKind.ADJUSTMENT, "txn_x")),
        ({"type": "reserve_transaction"}, None, (LedgerKind.ADJUSTMENT, "txn_x")),
    ],
)
def test_each_transaction_belongs_to_one_ledger_entry(
    fields: dict[str, Any], payment_id: str | None, key: tuple[LedgerKind, str]
) -> None:
    assert entry_key(txn(id="txn_x", **fields), payment_id) == key


def payout(status: str, reconciliation: str = "completed") -> Payout:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    return Payout(
        id="po_1", amount=100, currency="usd", status=status, automatic=True, created=at,
        arrival_date=at, reconciliation_status=reconciliation,
    )  # fmt: skip


def told(status: str, reconciliation: str = "completed") -> PayoutSnapshot:
    return PayoutSnapshot(
        id="po_1", status=status, amount=100, currency="usd", created=0, arrival_date=0,
        automatic=True, reconciliation_status=reconciliation,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("known", "news", "taken"),
    [
        ("pending", "in_transit", True),
        ("in_transit", "paid", True),
        ("paid", "failed", True),  # the bank returned it after it arrived
        ("paid", "in_transit", False),  # payout.updated told after payout.paid
        ("failed", "paid", False),
        ("canceled", "pending", False),
        ("paid", "paid", False),
    ],
)
def test_a_payout_never_goes_back_to_an_earlier_status(known: str, news: str, taken: bool) -> None:
    assert _later(told(news), payout(known)) is taken


def test_a_completed_reconciliation_is_taken_in_the_same_status() -> None:
    assert _later(told("in_transit", "completed"), payout("in_transit", "in_progress"))
    assert not _later(told("in_transit", "in_progress"), payout("in_transit", "completed"))
