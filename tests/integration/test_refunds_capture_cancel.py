"""Money going back, held and released: refunds, manual capture and cancel, through the API."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from paydesk.ledger.models import LedgerEntry
from paydesk.refunds.models import Refund, RefundStatus
from tests.integration.conftest import Api

ITEM = {"sku": "LAMP", "name": "Lamp", "unit_amount": 5000, "quantity": 1}


async def paid(api: Api, **order: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    created = await api.create_order(items=[ITEM], **order)
    response = await api.client.post(
        "/api/payments", json={"order_id": created["id"], "payment_method": "pm_card_visa"}
    )
    assert response.status_code == 200, response.text
    return created, response.json()


async def refund(api: Api, payment: dict[str, Any], **body: Any) -> Any:
    return await api.client.post(f"/api/payments/{payment['id']}/refunds", json=body)


async def status_of(api: Api, order: dict[str, Any], payment: dict[str, Any]) -> tuple[str, str]:
    p = (await api.client.get(f"/api/payments/{payment['id']}")).json()
    o = (await api.client.get(f"/api/orders/{order['id']}")).json()
    return p["status"], o["status"]


async def ledger_sum(api: Api, payment: dict[str, Any]) -> int:
    async with api.db.sessions() as session:
        amounts = await session.scalars(
            select(LedgerEntry.amount).where(LedgerEntry.payment_id == payment["id"])
        )
        return sum(amounts)


async def test_partial_refunds_then_full_then_nothing_left(api: Api) -> None:
    order, payment = await paid(api)
    first = await refund(api, payment, amount=1500, reason="requested_by_customer")
    assert first.status_code == 201, first.text
    assert (first.json()["status"], first.json()["amount"]) == ("succeeded", 1500)
    assert await status_of(api, order, payment) == ("partially_refunded", "partially_refunded")
    rest = await refund(api, payment)
    assert rest.json()["amount"] == 3500
    assert await status_of(api, order, payment) == ("refunded", "refunded")
    again = await refund(api, payment, amount=1)
    assert again.status_code == 409
    assert "already fully refunded" in again.json()["error"]["message"]
    listed = (await api.client.get(f"/api/payments/{payment['id']}/refunds")).json()["data"]
    assert [r["amount"] for r in listed] == [1500, 3500]
    assert await ledger_sum(api, payment) == 0


async def test_never_more_than_is_refundable(api: Api) -> None:
    _, payment = await paid(api)
    assert (await refund(api, payment, amount=4000)).status_code == 201
    too_much = await refund(api, payment, amount=1001)
    assert too_much.status_code == 400
    error = too_much.json()["error"]
    assert (error["code"], error["param"]) == ("amount_too_large", "amount")
    assert "10.00 USD" in error["message"]
    for bad in [{"amount": 0}, {"amount": -5}, {"amount": 10.5}, {"reason": "because"}]:
        assert (await refund(api, payment, **bad)).status_code == 400


async def test_two_refunds_racing_for_the_same_money(api: Api) -> None:
    _, payment = await paid(api)
    answers = await asyncio.gather(*[refund(api, payment, amount=3000) for _ in range(2)])
    assert sorted(a.status_code for a in answers) == [201, 400]
    assert api.stripe.calls.count("refund") == 1


@pytest.mark.parametrize(
    ("currency", "unit", "part", "shown"),
    [("jpy", 5000, 1234, "1,234 JPY"), ("kwd", 5000, 1250, "1.250 KWD")],
)
async def test_refunds_in_zero_and_three_decimal_currencies(
    api: Api, currency: str, unit: int, part: int, shown: str
) -> None:
    order, payment = await paid(api, currency=currency)
    answer = await refund(api, payment, amount=part)
    assert answer.json()["amount_display"] == shown
    assert await status_of(api, order, payment) == ("partially_refunded", "partially_refunded")
    assert await ledger_sum(api, payment) == unit - part


async def test_unpaid_and_canceled_payments_are_not_refundable(api: Api) -> None:
    order = await api.create_order(items=[ITEM])
    payment = (await api.client.post("/api/payments", json={"order_id": order["id"]})).json()
    unpaid = await refund(api, payment)
    assert (unpaid.status_code, unpaid.json()["error"]["code"]) == (409, "payment_not_refundable")
    assert (await api.client.post(f"/api/payments/{payment['id']}/cancel")).status_code == 200
    canceled = await refund(api, payment)
    assert "is canceled" in canceled.json()["error"]["message"]
    assert (await refund(api, {"id": "pay_nope"})).status_code == 404


async def test_a_retried_refund_with_its_idempotency_key_refunds_once(api: Api) -> None:
    _, payment = await paid(api)
    api.stripe.reachable = False
    key = {"Idempotency-Key": "refund-order-7"}
    lost = await api.client.post(
        f"/api/payments/{payment['id']}/refunds", json={"amount": 2000}, headers=key
    )
    assert lost.status_code == 502
    api.stripe.reachable = True
    done = await api.client.post(
        f"/api/payments/{payment['id']}/refunds", json={"amount": 2000}, headers=key
    )
    assert done.status_code == 201, done.text
    listed = (await api.client.get(f"/api/payments/{payment['id']}/refunds")).json()["data"]
    assert [(r["id"], r["status"]) for r in listed] == [(done.json()["id"], "succeeded")]
    assert await ledger_sum(api, payment) == 3000


async def test_checkout_tokens_cannot_refund(api: Api) -> None:
    order, payment = await paid(api)
    token = {"Authorization": f"Bearer {order['checkout_token']}"}
    answer = await api.client.post(f"/api/payments/{payment['id']}/refunds", json={}, headers=token)
    assert answer.status_code == 403


async def test_manual_capture_partial_releases_the_rest(api: Api) -> None:
    order, payment = await paid(api, capture_method="manual")
    assert payment["status"] == "requires_capture"
    assert (await api.client.get(f"/api/orders/{order['id']}")).json()["status"] == "authorized"
    too_much = await api.client.post(
        f"/api/payments/{payment['id']}/capture", json={"amount": 5001}
    )
    assert too_much.status_code == 400
    captured = await api.client.post(
        f"/api/payments/{payment['id']}/capture", json={"amount": 3000}
    )
    assert captured.status_code == 200, captured.text
    assert captured.json()["status"] == "succeeded"
    assert await ledger_sum(api, payment) == 3000
    twice = await api.client.post(f"/api/payments/{payment['id']}/capture")
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "payment_not_capturable")
    assert (await refund(api, payment)).json()["amount"] == 3000


async def test_cancel_releases_an_authorization_but_not_a_success(api: Api) -> None:
    order, held = await paid(api, capture_method="manual")
    canceled = await api.client.post(f"/api/payments/{held['id']}/cancel")
    assert canceled.json()["status"] == "canceled"
    assert (await api.client.get(f"/api/orders/{order['id']}")).json()["status"] == "canceled"
    _, done = await paid(api)
    refused = await api.client.post(f"/api/payments/{done['id']}/cancel")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "payment_not_cancelable")


@pytest.mark.parametrize(
    ("currency", "taken", "shown"), [("jpy", 3210, "3,210 JPY"), ("kwd", 3210, "3.210 KWD")]
)
async def test_partial_capture_in_zero_and_three_decimal_currencies(
    api: Api, currency: str, taken: int, shown: str
) -> None:
    order, payment = await paid(api, currency=currency, capture_method="manual")
    captured = await api.client.post(
        f"/api/payments/{payment['id']}/capture", json={"amount": taken}
    )
    assert captured.json()["status"] == "succeeded"
    refund_answer = await refund(api, payment)
    assert (refund_answer.json()["amount"], refund_answer.json()["amount_display"]) == (
        taken,
        shown,
    )
    assert await status_of(api, order, payment) == ("refunded", "refunded")
    assert await ledger_sum(api, payment) == 0


async def test_a_refund_stripe_never_answered_for_is_settled_later(api: Api) -> None:
    _, payment = await paid(api)
    service = api.services.refunds
    api.stripe.reachable = False
    assert (await refund(api, payment, amount=1000)).status_code == 502  # never reached Stripe
    api.stripe.reachable = True
    [lost] = (await api.client.get(f"/api/payments/{payment['id']}/refunds")).json()["data"]
    # Stripe made this one, but its answer was lost on the way back.
    await api.stripe.create_refund(
        payment["stripe_payment_intent_id"],
        amount=2000,
        reason=None,
        metadata={"paydesk_refund_id": "rf_answer_lost"},
        idempotency_key="lost-answer",
    )
    async with api.db.transaction() as session:
        session.add(
            Refund(id="rf_answer_lost", payment_id=payment["id"], amount=2000, currency="usd",
                   status=RefundStatus.PENDING)
        )  # fmt: skip
    held = await refund(api, payment, amount=2001)
    assert held.status_code == 400  # 10.00 + 20.00 are held of 50.00
    assert await service.settle_unanswered(older_than=timedelta(0)) == 2
    by_id = {
        r["id"]: r
        for r in (await api.client.get(f"/api/payments/{payment['id']}/refunds")).json()["data"]
    }
    assert by_id[lost["id"]]["status"] == "canceled"
    assert by_id["rf_answer_lost"]["status"] == "succeeded"
    assert by_id["rf_answer_lost"]["stripe_refund_id"].startswith("re_")
    assert (await refund(api, payment, amount=3000)).status_code == 201  # the 10.00 is free again
    assert await ledger_sum(api, payment) == 0
