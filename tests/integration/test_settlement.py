"""Balance transactions and payouts on a real database (SQLite and PostgreSQL) with an
in-memory Stripe: each transaction recorded once and linked to its entry in whichever order
the two arrive, payout events late, twice and out of order, a payout's contents read page
by page, and Stripe out of reach."""

from __future__ import annotations

import time
from dataclasses import replace

from sqlalchemy import func, select

from paydesk.gateway.types import BalanceTransactionSnapshot, PayoutSnapshot
from paydesk.ledger.models import BalanceTransaction, LedgerEntry
from paydesk.ledger.settlement import record_transactions
from tests import stripe_events as se
from tests.integration.conftest import Api

NOW = int(time.time())


def charge_txn(txn_id: str, intent_id: str, amount: int) -> BalanceTransactionSnapshot:
    fee = amount * 29 // 1000 + 30
    return BalanceTransactionSnapshot(
        id=txn_id, type="charge", reporting_category="charge", amount=amount, fee=fee,
        net=amount - fee, currency="usd", status="pending", created=NOW,
        available_on=NOW + 2 * 86_400, source=f"ch_{intent_id[3:]}", source_intent=intent_id,
    )  # fmt: skip


def payout_event(
    event_type: str, status: str, *, created: int, **fields: object
) -> dict[str, object]:
    payout = {
        "id": "po_1", "object": "payout", "amount": 4825, "currency": "usd", "status": status,
        "automatic": True, "created": NOW, "arrival_date": NOW + 86_400,
        "balance_transaction": "txn_po_1", "failure_balance_transaction": None,
        "failure_code": None, "failure_message": None, "reconciliation_status": "completed",
        **fields,
    }  # fmt: skip
    return se.event(event_type, payout, created=created)


async def succeeded(api: Api) -> tuple[str, str]:
    """A payment Stripe says succeeded (by webhook); its payment and PaymentIntent ids."""
    order, payment = await api.paid_order()
    intent_id = payment["stripe_payment_intent_id"]
    body = se.payment_intent(intent_id, "succeeded", order["amount"])
    assert (await api.post_event(se.event("payment_intent.succeeded", body))).status_code == 200
    await api.processor.drain()
    return payment["id"], intent_id


async def linked(api: Api) -> list[tuple[str, int, str | None]]:
    async with api.db.sessions() as session:
        rows = await session.execute(
            select(
                LedgerEntry.kind, LedgerEntry.amount, LedgerEntry.balance_transaction_id
            ).order_by(LedgerEntry.id)
        )
        return [(kind, amount, txn) for kind, amount, txn in rows]


async def test_a_transaction_told_before_its_entry_is_linked_without_asking_stripe(
    api: Api,
) -> None:
    order, payment = await api.paid_order()
    intent_id = payment["stripe_payment_intent_id"]
    async with api.services.units.writing() as work:
        await record_transactions(work, [charge_txn("txn_1", intent_id, order["amount"])])
    body = se.payment_intent(intent_id, "succeeded", order["amount"])
    await api.post_event(se.event("payment_intent.succeeded", body))
    await api.processor.drain()
    assert await linked(api) == [("charge", order["amount"], None)]
    asked = len(api.stripe.calls)
    assert await api.services.settler.settle() == 1
    assert api.stripe.calls[asked:] == []
    assert await linked(api) == [("charge", order["amount"], "txn_1")]
    # Told again, by any route, it changes nothing.
    async with api.services.units.writing() as work:
        await record_transactions(work, [charge_txn("txn_1", intent_id, order["amount"])])
    assert await api.services.settler.settle() == 0
    assert await linked(api) == [("charge", order["amount"], "txn_1")]


async def test_an_entry_stripe_cannot_answer_for_yet_waits_for_the_next_round(api: Api) -> None:
    payment_id, intent_id = await succeeded(api)
    api.stripe.reachable = False
    assert await api.services.settler.settle() == 0
    api.stripe.reachable = True
    intent = api.stripe.intents[intent_id]
    txn = charge_txn("txn_2", intent_id, intent.amount)
    api.stripe.intents[intent_id] = replace(intent, charge_transaction=txn)
    assert await api.services.settler.settle() == 1
    ledger = (await api.client.get(f"/api/payments/{payment_id}/ledger")).json()
    [entry] = ledger["entries"]
    assert entry["settlement"]["fee"] == txn.fee
    assert entry["settlement"]["net"] == txn.net


async def test_payout_events_late_twice_and_out_of_order_end_in_the_latest_state(
    api: Api,
) -> None:
    failed = payout_event(
        "payout.failed", "failed", created=NOW + 30,
        failure_code="account_closed", failure_message="The bank account has been closed.",
        failure_balance_transaction="txn_po_1_back",
    )  # fmt: skip
    events = [
        payout_event("payout.paid", "paid", created=NOW + 20),
        payout_event("payout.created", "in_transit", created=NOW),
        failed,
        payout_event("payout.updated", "paid", created=NOW + 20),
        failed,
    ]
    for event in events:
        assert (await api.post_event(event)).status_code == 200
        await api.processor.drain()
    [payout] = (await api.client.get("/api/payouts")).json()["data"]
    assert (payout["status"], payout["failure_code"]) == ("failed", "account_closed")
    assert await linked(api) == [("payout", -4825, None), ("payout_reversal", 4825, None)]
    flagged = (await api.client.get("/api/payouts", params={"status": "failed"})).json()
    assert [p["id"] for p in flagged["data"]] == ["po_1"]


async def test_a_payouts_contents_are_read_page_by_page(api: Api) -> None:
    payment_id, intent_id = await succeeded(api)
    ours = charge_txn("txn_ours", intent_id, 5000)
    # Money paydesk did not make (another system's charges) is paid out with the rest.
    others = [charge_txn(f"txn_other_{i:03d}", f"pi_other{i}", 1000) for i in range(230)]
    own = BalanceTransactionSnapshot(
        id="txn_po_1", type="payout", reporting_category="payout", amount=0, fee=0, net=0,
        currency="usd", status="available", created=NOW, available_on=NOW, source="po_1",
    )  # fmt: skip
    total = ours.net + sum(t.net for t in others)
    own = replace(own, amount=-total, net=-total)
    for t in [ours, *others, own]:
        api.stripe.balance_transactions[t.id] = t
    api.stripe.paid_out["po_1"] = [own.id, ours.id, *(t.id for t in others)]
    api.stripe.payouts["po_1"] = PayoutSnapshot(
        id="po_1", status="in_transit", amount=total, currency="usd", created=NOW,
        arrival_date=NOW + 86_400, automatic=True, balance_transaction="txn_po_1",
        reconciliation_status="completed",
    )  # fmt: skip
    result = await api.services.payouts.sync()
    assert (result.payouts, result.contents_read) == (1, 1)
    assert api.stripe.calls.count("list_balance_transactions") == 3  # 100 + 100 + 32
    detail = (await api.client.get("/api/payouts/po_1")).json()
    assert detail["reconciled"] is True
    assert len(detail["transactions"]) == 231
    assert sum(t["net"] for t in detail["transactions"]) == total
    assert [t["order_id"] is not None for t in detail["transactions"]].count(True) == 1
    async with api.db.sessions() as session:
        adjustments = await session.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.kind == "adjustment", LedgerEntry.payment_id.is_(None))
        )
        paid_out = await session.scalar(
            select(func.count())
            .select_from(BalanceTransaction)
            .where(BalanceTransaction.payout_id == "po_1")
        )
    assert (adjustments, paid_out) == (230, 232)
    ledger = (await api.client.get(f"/api/payments/{payment_id}/ledger")).json()
    assert [e["settlement"]["payout_id"] for e in ledger["entries"]] == ["po_1"]
    # Syncing again reads nothing new and changes nothing.
    again = await api.services.payouts.sync()
    assert (again.payouts, again.contents_read) == (1, 0)
    assert (await api.client.get("/api/payouts/po_1")).json() == detail
