"""Orders off the happy path, in memory (tests/unit/fakes.py): changing an unpaid order,
the review that holds a payment whose amount is no longer the order's, expiry, and early
fraud warnings refunded once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from paydesk.config import Settings
from paydesk.db import utcnow
from paydesk.errors import ConfigurationError, Conflict, InvalidRequest
from paydesk.fraud.models import FraudWarning, WarningAction
from paydesk.fraud.service import decide
from paydesk.gateway.types import EarlyFraudWarningSnapshot
from paydesk.orders.effects import follow_payments
from paydesk.orders.models import Order, OrderStatus
from paydesk.orders.schemas import OrderCreate, OrderUpdate
from paydesk.orders.service import has_expired
from paydesk.payments.order_changes import change_refusal
from paydesk.principals import Shop
from tests.unit.fakes import FakeWork, InMemory

SHOP = Shop("key_1")
MORE = OrderUpdate.model_validate(
    {
        "items": [
            {"sku": "TEE-1", "name": "T-shirt", "unit_amount": 2500, "quantity": 2},
            {"sku": "CAP-1", "name": "Cap", "unit_amount": 1000, "quantity": 1},
        ]
    }
)


@pytest.fixture
def paydesk() -> InMemory:
    return InMemory.build()


async def order(paydesk: InMemory, **fields: object) -> Order:
    request = OrderCreate.model_validate(
        {
            "items": [{"sku": "TEE-1", "name": "T-shirt", "unit_amount": 2500, "quantity": 2}],
            "currency": "eur",
            "customer_email": "ada@example.com",
            **fields,
        }
    )
    made, _ = await paydesk.orders.create(SHOP, request)
    return made


async def test_a_change_before_payment_updates_the_one_payment_intent(paydesk: InMemory) -> None:
    made = await order(paydesk)
    started = await paydesk.payments.start(SHOP, made.id)
    changed = await paydesk.order_changes.change_items(SHOP, made.id, MORE)
    assert (changed.amount, changed.version, len(changed.items)) == (6000, 2, 2)
    intent_id = started.payment.stripe_payment_intent_id
    assert intent_id is not None
    assert paydesk.stripe.intents[intent_id].amount == 6000
    assert paydesk.store.payments[started.payment.id].amount == 6000
    paid = await paydesk.payments.start(SHOP, made.id, payment_method="pm_card_visa")
    assert (paid.payment.status, paid.payment.review_reason) == ("succeeded", None)
    assert paydesk.store.orders[made.id].status == OrderStatus.PAID
    assert paydesk.stripe.calls.count("create") == 1


async def test_a_change_without_a_payment_intent_asks_nothing_of_stripe(paydesk: InMemory) -> None:
    made = await order(paydesk)
    changed = await paydesk.order_changes.change_items(SHOP, made.id, MORE)
    assert changed.amount == 6000
    assert "update" not in paydesk.stripe.calls


async def test_a_paid_order_cannot_change(paydesk: InMemory) -> None:
    made = await order(paydesk)
    await paydesk.payments.start(SHOP, made.id, payment_method="pm_card_visa")
    with pytest.raises(Conflict) as refused:
        await paydesk.order_changes.change_items(SHOP, made.id, MORE)
    assert refused.value.code == "order_not_changeable"
    assert paydesk.store.orders[made.id].amount == 5000


async def test_stripe_refusing_the_new_amount_leaves_the_order_as_it_was(
    paydesk: InMemory,
) -> None:
    """The customer's confirmation reached Stripe first (paydesk has not heard yet)."""
    made = await order(paydesk)
    started = await paydesk.payments.start(SHOP, made.id)
    intent_id = started.payment.stripe_payment_intent_id
    assert intent_id is not None
    await paydesk.stripe.confirm_payment_intent(
        intent_id, payment_method="pm_card_visa", return_url=None, idempotency_key="browser"
    )
    with pytest.raises(Conflict) as refused:
        await paydesk.order_changes.change_items(SHOP, made.id, MORE)
    assert refused.value.code == "order_not_changeable"
    assert (paydesk.store.orders[made.id].amount, paydesk.store.orders[made.id].version) == (
        5000,
        1,
    )


async def test_a_payment_for_an_amount_the_order_no_longer_has_never_pays_it(
    paydesk: InMemory,
) -> None:
    """Stripe took the new amount, but paydesk's own write of the change was lost: the
    customer pays the new amount, and the payment is held for review, its order unpaid."""
    made = await order(paydesk)
    started = await paydesk.payments.start(SHOP, made.id)
    intent_id = started.payment.stripe_payment_intent_id
    assert intent_id is not None
    await paydesk.stripe.update_payment_intent(
        intent_id, amount=6000, metadata={}, idempotency_key=f"paydesk-{made.id}-v2"
    )
    paid = await paydesk.payments.start(SHOP, made.id, payment_method="pm_card_visa")
    assert paid.payment.status == "succeeded"
    assert paid.payment.review_reason == "PaymentIntent amount 6000 differs from the order's 5000"
    assert paydesk.store.orders[made.id].status == OrderStatus.PENDING_PAYMENT
    assert ("webhook", "order.paid") not in outbox_kinds(paydesk)

    # Stripe now refuses a new amount (it is paid), so paydesk refuses the change too: the
    # operator sees the held payment and decides.
    with pytest.raises(Conflict):
        await paydesk.order_changes.change_items(SHOP, made.id, MORE)
    assert paydesk.store.orders[made.id].status == OrderStatus.PENDING_PAYMENT


def outbox_kinds(paydesk: InMemory) -> set[tuple[str, str]]:
    return {(m.channel, m.kind) for m in paydesk.store.outbox.values()}


def test_what_may_change_and_when() -> None:
    now = utcnow()
    unpaid = Order(id="ord_1", status=OrderStatus.PENDING_PAYMENT, expires_at=now + timedelta(1))
    assert change_refusal(unpaid, None) is None
    for status in ("paid", "authorized", "awaiting_funds", "canceled", "refunded"):
        refused = change_refusal(
            Order(id="ord_1", status=status, expires_at=now + timedelta(1)), None
        )
        assert refused is not None
        assert refused.code == "order_not_changeable"
    late = Order(id="ord_1", status=OrderStatus.PENDING_PAYMENT, expires_at=now)
    assert has_expired(late, now)
    refusal = change_refusal(late, None)
    assert refusal is not None
    assert refusal.code == "order_expired"
    paid_late = Order(id="ord_1", status=OrderStatus.PAID, expires_at=now - timedelta(1))
    assert not has_expired(paid_late, now)


async def test_an_expired_order_leaves_expiry_only_by_being_paid(paydesk: InMemory) -> None:
    made = await order(paydesk)
    paydesk.store.orders[made.id].status = OrderStatus.EXPIRED
    work = FakeWork(paydesk.store)
    for status in (OrderStatus.CANCELED, OrderStatus.PAYMENT_FAILED, OrderStatus.PENDING_PAYMENT):
        assert await follow_payments(work, [(made.id, status)]) == []
        assert paydesk.store.orders[made.id].status == OrderStatus.EXPIRED
    assert await follow_payments(work, [(made.id, OrderStatus.PAID)]) == [made.id]
    assert paydesk.store.orders[made.id].status == OrderStatus.PAID
    assert paydesk.store.orders[made.id].paid_after_expiry
    assert await follow_payments(work, [(made.id, OrderStatus.REFUNDED)]) == []
    assert paydesk.store.orders[made.id].status == OrderStatus.REFUNDED


async def test_an_expired_order_is_not_started(paydesk: InMemory) -> None:
    made = await order(paydesk, expires_at=(utcnow() + timedelta(seconds=30)).isoformat())
    paydesk.store.orders[made.id].expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(Conflict) as refused:
        await paydesk.payments.start(SHOP, made.id, payment_method="pm_card_visa")
    assert refused.value.code == "order_expired"
    assert paydesk.stripe.calls == []


async def test_a_new_order_expires_after_the_ttl_or_when_the_shop_says(paydesk: InMemory) -> None:
    made = await order(paydesk)
    assert made.expires_at is not None
    assert timedelta(hours=23, minutes=59) < made.expires_at - utcnow() <= timedelta(hours=24)
    with pytest.raises(InvalidRequest) as refused:
        await order(paydesk, expires_at=(utcnow() - timedelta(seconds=1)).isoformat())
    assert refused.value.code == "invalid_expires_at"


def warning(actionable: bool = True) -> FraudWarning:
    return FraudWarning(id="issfr_1", payment_id="pay_1", fraud_type="misc", actionable=actionable)


@pytest.mark.parametrize(
    ("status", "amount", "threshold", "actionable", "action"),
    [
        ("succeeded", 5000, 5000, True, WarningAction.REFUND),
        ("succeeded", 5001, 5000, True, WarningAction.OPERATOR),
        ("succeeded", 5000, None, True, WarningAction.OPERATOR),
        ("partially_refunded", 5000, 9000, True, WarningAction.REFUND),
        ("refunded", 5000, 9000, True, WarningAction.NONE),
        ("disputed", 5000, 9000, True, WarningAction.NONE),
        ("succeeded", 5000, 9000, False, WarningAction.NONE),
    ],
)
def test_what_is_done_about_an_early_fraud_warning(
    status: str, amount: int, threshold: int | None, actionable: bool, action: str
) -> None:
    assert decide(warning(actionable), status, amount, threshold) == action


async def test_a_warning_told_again_and_acted_on_twice_refunds_once() -> None:
    paydesk = InMemory.build(auto_refund_max=10_000)
    made = await order(paydesk)
    paid = await paydesk.payments.start(SHOP, made.id, payment_method="pm_card_visa")
    told = EarlyFraudWarningSnapshot(
        id="issfr_1",
        charge=None,
        payment_intent=paid.payment.stripe_payment_intent_id,
        fraud_type="made_with_stolen_card",
        actionable=True,
        created=1_700_000_000,
    )
    work = FakeWork(paydesk.store)
    for _ in range(5):
        await work.fraud_warnings.record([(paid.payment.id, told)])
    assert await paydesk.fraud.act() == 1
    assert await paydesk.fraud.act() == 0
    # A worker that died after Stripe refunded but before it wrote so finds the refund again.
    paydesk.store.fraud_warnings["issfr_1"].refund_id = None
    assert await paydesk.fraud.act() == 1
    assert paydesk.stripe.calls.count("refund") == 1
    [refund] = paydesk.store.refunds.values()
    assert (refund.amount, refund.reason) == (5000, "fraudulent")
    row = paydesk.store.fraud_warnings["issfr_1"]
    assert (row.action, row.refund_id, row.outcome) == ("refund", refund.id, "refunded in full")


@pytest.mark.parametrize(
    ("raw", "seconds"), [("90m", 5400), ("24h", 86400), ("6d", 518400), ("3600", 3600)]
)
def test_times_are_read_with_their_units(raw: str, seconds: int) -> None:
    settings = Settings.from_env({"STRIPE_SECRET_KEY": "sk_test_x", "PAYDESK_ORDER_TTL": raw})
    assert settings.order_ttl == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "env",
    [
        {"PAYDESK_ORDER_TTL": "soon"},
        {"PAYDESK_ORDER_TTL": "0"},
        {"PAYDESK_UNCAPTURED_AFTER": "7d"},
        {"PAYDESK_UNCAPTURED_ACTION": "maybe"},
        {"PAYDESK_EFW_AUTO_REFUND_MAX": "-1"},
        {"PAYDESK_EFW_AUTO_REFUND_MAX": "ten"},
    ],
)
def test_settings_off_the_happy_path_are_checked(env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        Settings.from_env({"STRIPE_SECRET_KEY": "sk_test_x", **env})
