"""The services' rules and the effects table, in memory (tests/unit/fakes.py): what a
payment, a refund and a dispute do, what each change causes, and what is refused."""

from __future__ import annotations

import pytest

from paydesk.errors import CardDeclined, Conflict, InvalidRequest
from paydesk.gateway.types import DisputeSnapshot, RefundSnapshot
from paydesk.ledger.models import LedgerKind
from paydesk.notifications.models import Channel, EndpointStatus, ShopWebhookEndpoint
from paydesk.orders.models import Order
from paydesk.orders.schemas import OrderCreate
from paydesk.payments.facts import dispute_fact, refund_fact
from paydesk.payments.models import Cause
from paydesk.payments.service import now_ms
from paydesk.principals import Shop
from tests.unit.fakes import InMemory

SHOP = Shop("key_1")


@pytest.fixture
def paydesk() -> InMemory:
    return InMemory.build()


async def order(paydesk: InMemory, *, capture_method: str = "automatic") -> Order:
    request = OrderCreate.model_validate(
        {
            "items": [{"sku": "TEE-1", "name": "T-shirt", "unit_amount": 2500, "quantity": 2}],
            "currency": "eur",
            "customer_email": "ada@example.com",
            "capture_method": capture_method,
        }
    )
    made, _ = await paydesk.orders.create(SHOP, request)
    return made


def ledger(paydesk: InMemory) -> list[tuple[str, int]]:
    return sorted((e.kind, e.amount) for e in paydesk.store.ledger.values())


def outbox(paydesk: InMemory) -> list[tuple[str, str]]:
    return sorted((m.channel, m.kind) for m in paydesk.store.outbox.values())


async def test_one_payment_and_one_intent_however_often_it_starts(paydesk: InMemory) -> None:
    made = await order(paydesk)
    first = await paydesk.payments.start(SHOP, made.id)
    again = await paydesk.payments.start(SHOP, made.id)
    assert first.payment.id == again.payment.id
    assert paydesk.stripe.calls.count("create") == 1
    assert [e.to_status for e in again.timeline] == ["pending"]


async def test_a_decline_then_a_card_that_pays_and_all_it_causes(paydesk: InMemory) -> None:
    made = await order(paydesk)
    with pytest.raises(CardDeclined):
        await paydesk.payments.start(
            SHOP, made.id, payment_method="pm_card_chargeDeclinedInsufficientFunds"
        )
    failed = paydesk.store.payments[next(iter(paydesk.store.payments))]
    assert (failed.status, failed.last_error_code) == ("failed", "insufficient_funds")
    assert paydesk.store.orders[made.id].status == "payment_failed"
    assert outbox(paydesk) == [(Channel.EMAIL, "payment_failed")]
    paid = await paydesk.payments.start(SHOP, made.id, payment_method="pm_card_visa")
    assert (paid.payment.status, paid.payment.last_error_code) == ("succeeded", None)
    assert paydesk.store.orders[made.id].status == "paid"
    assert ledger(paydesk) == [(LedgerKind.CHARGE, 5000)]
    assert outbox(paydesk) == [(Channel.EMAIL, "payment_failed"), (Channel.EMAIL, "receipt")]
    # Stripe's answer carried the charge's balance transaction: its fee, linked to the entry.
    [charge] = paydesk.store.ledger.values()
    [txn] = paydesk.store.transactions.values()
    assert charge.balance_transaction_id == txn["id"]
    assert (txn["amount"], txn["fee"], txn["net"], txn["entry_kind"]) == (5000, 175, 4825, "charge")
    # The same news again changes nothing and queues nothing.
    await paydesk.payments.verify(SHOP, paid.payment.id)
    assert ledger(paydesk) == [(LedgerKind.CHARGE, 5000)]
    assert len(paydesk.store.outbox) == 2
    assert len(paydesk.store.transactions) == 1


async def test_the_shop_hears_of_a_success_on_every_endpoint_it_subscribed(
    paydesk: InMemory,
) -> None:
    paydesk.store.endpoints.append(
        ShopWebhookEndpoint(id="we_1", events='["*"]', status=EndpointStatus.ENABLED)
    )
    made = await order(paydesk)
    await paydesk.payments.start(SHOP, made.id, payment_method="pm_card_visa")
    assert outbox(paydesk) == [
        (Channel.EMAIL, "receipt"),
        (Channel.WEBHOOK, "order.paid"),
        (Channel.WEBHOOK, "payment.succeeded"),
    ]


async def test_capture_and_cancel_refuse_what_their_status_forbids(paydesk: InMemory) -> None:
    made = await order(paydesk)
    paid = await paydesk.payments.start(SHOP, made.id, payment_method="pm_card_visa")
    with pytest.raises(Conflict, match="only an authorized payment"):
        await paydesk.payments.capture(paid.payment.id, amount=None)
    with pytest.raises(Conflict, match="refund it instead"):
        await paydesk.payments.cancel(paid.payment.id)
    held = await order(paydesk, capture_method="manual")
    authorized = await paydesk.payments.start(SHOP, held.id, payment_method="pm_card_visa")
    assert paydesk.store.orders[held.id].status == "authorized"
    with pytest.raises(InvalidRequest, match="At most"):
        await paydesk.payments.capture(authorized.payment.id, amount=5001)
    captured = await paydesk.payments.capture(authorized.payment.id, amount=3000)
    assert captured.payment.status == "succeeded"
    assert (LedgerKind.CHARGE, 3000) in ledger(paydesk)


async def test_refunds_never_take_more_than_was_captured(paydesk: InMemory) -> None:
    made = await order(paydesk)
    paid = (await paydesk.payments.start(SHOP, made.id, payment_method="pm_card_visa")).payment
    assert await paydesk.refunds.refundable(paid.id) == 5000
    first = await paydesk.refunds.refund(paid.id, amount=2000, reason=None)
    assert (first.status, paid.status) == ("succeeded", "partially_refunded")
    assert await paydesk.refunds.refundable(paid.id) == 3000
    with pytest.raises(InvalidRequest, match=r"At most 30\.00 EUR"):
        await paydesk.refunds.refund(paid.id, amount=3001, reason=None)
    await paydesk.refunds.refund(paid.id, amount=None, reason="requested_by_customer")
    assert paid.status == "refunded"
    assert paydesk.store.orders[made.id].status == "refunded"
    with pytest.raises(Conflict, match="already fully refunded"):
        await paydesk.refunds.refundable(paid.id)
    assert ledger(paydesk) == [
        (LedgerKind.CHARGE, 5000),
        (LedgerKind.REFUND, -3000),
        (LedgerKind.REFUND, -2000),
    ]
    assert [m.kind for m in paydesk.store.outbox.values()].count("refund_issued") == 2


async def test_the_same_refund_request_again_finds_the_first(paydesk: InMemory) -> None:
    made = await order(paydesk)
    paid = (await paydesk.payments.start(SHOP, made.id, payment_method="pm_card_visa")).payment
    once = await paydesk.refunds.refund(paid.id, amount=1000, reason=None, client_key="k")
    twice = await paydesk.refunds.refund(paid.id, amount=1000, reason=None, client_key="k")
    assert once.id == twice.id
    assert paydesk.stripe.calls.count("refund") == 1


async def test_a_refund_made_outside_paydesk_gets_its_row_when_its_news_comes(
    paydesk: InMemory,
) -> None:
    made = await order(paydesk)
    paid = (await paydesk.payments.start(SHOP, made.id, payment_method="pm_card_visa")).payment
    outside = RefundSnapshot(id="re_outside", status="succeeded", amount=1500, currency="eur")
    async with paydesk.units.writing() as work:
        await paydesk.recorder.record(
            work, paid, [refund_fact(outside, now_ms())], cause=Cause.WEBHOOK
        )
    [row] = paydesk.store.refunds.values()
    assert (row.stripe_refund_id, row.amount, row.requested_by) == ("re_outside", 1500, None)
    # It fails after all: the ledger reverses it, and the refund row says so.
    failed = RefundSnapshot(id="re_outside", status="failed", amount=1500, currency="eur")
    async with paydesk.units.writing() as work:
        await paydesk.recorder.record(
            work, paid, [refund_fact(failed, now_ms())], cause=Cause.WEBHOOK
        )
    assert row.status == "failed"
    assert (LedgerKind.REFUND_REVERSAL, 1500) in ledger(paydesk)
    assert paid.status == "succeeded"


async def test_a_dispute_opens_and_is_lost_the_shop_hears_the_customer_does_not(
    paydesk: InMemory,
) -> None:
    paydesk.store.endpoints.append(
        ShopWebhookEndpoint(
            id="we_1", events='["dispute.opened", "dispute.closed"]', status="enabled"
        )
    )
    made = await order(paydesk)
    paid = (await paydesk.payments.start(SHOP, made.id, payment_method="pm_card_visa")).payment
    for status in ("needs_response", "under_review", "lost"):
        dispute = DisputeSnapshot(id="dp_1", status=status, amount=5000, currency="eur")
        async with paydesk.units.writing() as work:
            await paydesk.recorder.record(
                work, paid, [dispute_fact(dispute, now_ms())], cause=Cause.WEBHOOK
            )
    assert (paid.status, paydesk.store.orders[made.id].status) == ("disputed", "disputed")
    assert paydesk.store.disputes["dp_1"].status == "lost"
    webhooks = sorted(m.kind for m in paydesk.store.outbox.values() if m.channel == "webhook")
    assert webhooks == ["dispute.closed", "dispute.opened"]
    emails = [m.kind for m in paydesk.store.outbox.values() if m.channel == "email"]
    assert emails == ["receipt"]
