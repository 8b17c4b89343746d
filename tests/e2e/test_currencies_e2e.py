"""Orders in a three-, a zero- and a two-decimal currency, made through paydesk's API and
paid offline against the sandbox: each payment succeeds for the order's whole amount, at
Stripe and in paydesk's ledger. A total Stripe would refuse is refused when the order is made."""

from __future__ import annotations

import pytest
import stripe

from tests.e2e.test_purchase import create_order
from tests.fixtures.paydesk import Paydesk


@pytest.mark.parametrize(
    ("currency", "unit_amount", "total", "shown"),
    [
        ("kwd", 1250, 2500, "2.500 KWD"),
        ("jpy", 750, 1500, "1,500 JPY"),
        ("usd", 1999, 3998, "39.98 USD"),
    ],
)
async def test_an_order_is_paid_in_its_currency(
    paydesk: Paydesk,
    stripe_client: stripe.StripeClient,
    currency: str,
    unit_amount: int,
    total: int,
    shown: str,
) -> None:
    items = [{"sku": "GIFT-1", "name": "A gift", "unit_amount": unit_amount, "quantity": 2}]
    order = await create_order(paydesk, items=items, currency=currency)
    assert (order["amount"], order["amount_display"]) == (total, shown)
    async with paydesk.client(order["checkout_token"]) as browser:
        answer = await browser.post(
            "/api/payments", json={"order_id": order["id"], "payment_method": "pm_card_visa"}
        )
    assert answer.status_code == 200, answer.text
    payment = answer.json()
    assert (payment["status"], payment["amount"], payment["currency"]) == (
        "succeeded",
        total,
        currency,
    )
    intent = stripe_client.v1.payment_intents.retrieve(payment["stripe_payment_intent_id"])
    assert (intent.status, intent.amount_received, intent.currency) == (
        "succeeded",
        total,
        currency,
    )
    async with paydesk.client() as shop:
        ledger = (await shop.get(f"/api/payments/{payment['id']}/ledger")).json()
        assert (await shop.get(f"/api/orders/{order['id']}")).json()["status"] == "paid"
    entries = [(e["kind"], e["amount"], e["currency"]) for e in ledger["entries"]]
    assert entries == [("charge", total, currency)]
    assert ledger["balances"] == [{"currency": currency, "amount": total, "amount_display": shown}]


async def test_a_three_decimal_total_stripe_would_refuse_is_refused_at_once(
    paydesk: Paydesk,
) -> None:
    items = [{"sku": "GIFT-1", "name": "A gift", "unit_amount": 1255, "quantity": 1}]
    async with paydesk.client() as shop:
        answer = await shop.post(
            "/api/orders",
            json={"items": items, "currency": "kwd", "customer_email": "c@example.com"},
        )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_charge_amount", "items")
