"""Refunds and disputes as Stripe runs them (through the sandbox), told to paydesk by its
webhooks; the ledger accounts for every cent after each scenario."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import stripe

from tests.e2e.test_purchase import card, create_order
from tests.e2e.test_webhooks_e2e import wait_for
from tests.fixtures.paydesk import Paydesk


async def pay(paydesk: Paydesk, shop: httpx.AsyncClient, method: str) -> dict[str, Any]:
    order = await create_order(paydesk)
    answer = await shop.post(
        "/api/payments", json={"order_id": order["id"], "payment_method": method}
    )
    assert answer.status_code == 200, answer.text
    payment: dict[str, Any] = answer.json()
    return payment


async def ledger(shop: httpx.AsyncClient, payment_id: str) -> list[tuple[str, int]]:
    entries = (await shop.get(f"/api/payments/{payment_id}/ledger")).json()["entries"]
    return [(e["kind"], e["amount"]) for e in entries]


async def ledger_reaches(
    shop: httpx.AsyncClient, payment_id: str, wanted: list[tuple[str, int]]
) -> None:
    """Wait for the ledger to read `wanted`: some of its entries come with later events."""
    for _ in range(100):
        entries = await ledger(shop, payment_id)
        if entries == wanted:
            return
        await asyncio.sleep(0.1)
    assert entries == wanted


async def refund_status(shop: httpx.AsyncClient, payment_id: str, wanted: str) -> dict[str, Any]:
    for _ in range(100):
        refunds = (await shop.get(f"/api/payments/{payment_id}/refunds")).json()["data"]
        if refunds and refunds[0]["status"] == wanted:
            return dict(refunds[0])
        await asyncio.sleep(0.1)
    raise AssertionError(f"the refund never became {wanted}: {refunds}")


async def test_a_refund_that_stays_pending_then_succeeds(
    paydesk: Paydesk, stripe_client: stripe.StripeClient
) -> None:
    async with paydesk.client() as shop:
        payment = await pay(paydesk, shop, card(stripe_client, "4000000000007726"))
        answer = await shop.post(f"/api/payments/{payment['id']}/refunds", json={"amount": 2000})
        assert answer.json()["status"] == "pending"
        assert (await shop.get(f"/api/payments/{payment['id']}")).json()["status"] == "succeeded"
        held = await shop.post(f"/api/payments/{payment['id']}/refunds", json={"amount": 3001})
        assert held.status_code == 400  # the pending refund holds its 20.00
        await refund_status(shop, payment["id"], "succeeded")
        await wait_for(paydesk, payment["id"], "partially_refunded")
        assert await ledger(shop, payment["id"]) == [("charge", 5000), ("refund", -2000)]


async def test_a_refund_that_fails_after_succeeding_is_reversed(
    paydesk: Paydesk, stripe_client: stripe.StripeClient
) -> None:
    async with paydesk.client() as shop:
        payment = await pay(paydesk, shop, card(stripe_client, "4000000000005126"))
        answer = await shop.post(f"/api/payments/{payment['id']}/refunds", json={})
        assert answer.json()["status"] == "succeeded"
        failed = await refund_status(shop, payment["id"], "failed")
        assert failed["amount"] == 5000
        await wait_for(paydesk, payment["id"], "succeeded")
        assert await ledger(shop, payment["id"]) == [
            ("charge", 5000),
            ("refund", -5000),
            ("refund_reversal", 5000),
        ]


async def dispute_of(shop: httpx.AsyncClient, payment_id: str) -> dict[str, Any]:
    for _ in range(100):
        disputes = (await shop.get("/api/disputes")).json()["data"]
        mine = [d for d in disputes if d["payment_id"] == payment_id]
        if mine:
            return dict(mine[0])
        await asyncio.sleep(0.1)
    raise AssertionError(f"no dispute for {payment_id}")


async def test_a_dispute_answered_with_evidence_and_won(
    paydesk: Paydesk, stripe_client: stripe.StripeClient
) -> None:
    async with paydesk.client() as shop:
        payment = await pay(paydesk, shop, card(stripe_client, "4000000000000259"))
        dispute = await dispute_of(shop, payment["id"])
        await wait_for(paydesk, payment["id"], "disputed")
        assert dispute["evidence_due_by"] is not None
        refused = await shop.post(f"/api/payments/{payment['id']}/refunds", json={})
        assert refused.status_code == 409
        sent = await shop.post(
            f"/api/disputes/{dispute['id']}/evidence",
            json={"product_description": "A book, delivered", "submit": True},
        )
        assert sent.status_code == 200, sent.text
        assert sent.json()["status"] == "under_review"
        at_stripe = stripe_client.v1.disputes.retrieve(dispute["id"])
        assert at_stripe.evidence.product_description == "A book, delivered"
        paydesk.sandbox.close_dispute(dispute["id"], "won")
        await wait_for(paydesk, payment["id"], "succeeded")
        await ledger_reaches(
            shop,
            payment["id"],
            [
                ("charge", 5000),
                ("dispute_withdrawal", -5000),
                ("dispute_fee", -1500),
                ("dispute_reinstatement", 5000),  # its own event, after the dispute closed
            ],
        )


async def test_a_dispute_lost_leaves_the_money_gone(
    paydesk: Paydesk, stripe_client: stripe.StripeClient
) -> None:
    async with paydesk.client() as shop:
        payment = await pay(paydesk, shop, card(stripe_client, "4000000000000259"))
        dispute = await dispute_of(shop, payment["id"])
        paydesk.sandbox.close_dispute(dispute["id"], "lost")
        for _ in range(100):
            if (await shop.get(f"/api/disputes/{dispute['id']}")).json()["status"] == "lost":
                break
            await asyncio.sleep(0.1)
        assert (await shop.get(f"/api/payments/{payment['id']}")).json()["status"] == "disputed"
        await ledger_reaches(
            shop,
            payment["id"],
            [("charge", 5000), ("dispute_withdrawal", -5000), ("dispute_fee", -1500)],
        )
