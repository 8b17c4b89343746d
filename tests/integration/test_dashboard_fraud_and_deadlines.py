"""Fraud signals and deadlines on the dashboard: risky payments, early fraud warnings left
to the operator, authorizations about to lapse and orders paid after they expired under
"Needs attention", each leaving it once resolved; a payment's "Fraud signals", why it was
canceled, and its order's expiry and version on its page; the risk marker in the payments
list. Rows are seeded through the database, as Stripe's events and the worker leave them;
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from paydesk.fraud.models import FraudWarning
from paydesk.orders.models import Order
from paydesk.payments.models import Payment, PaymentEvent
from paydesk.refunds.models import Refund
from paydesk.web.dashboard.overview import duration, lapse_row
from tests.integration.conftest import Api, Dashboard
from tests.integration.test_dashboard_overview import (
    Made,
    Node,
    make,
    overview,
    parse,
    refund,
    section,
    succeeded,
)

RISKY = {
    "risk_level": "elevated",
    "risk_score": 65,
    "outcome_type": "authorized",
    "seller_message": "Stripe evaluated this payment as having elevated risk.",
    "radar_rule": None,
}


async def set_payment(api: Api, made: Made, **values: Any) -> None:
    async with api.db.transaction() as session:
        await session.execute(update(Payment).where(Payment.id == made.payment_id).values(values))


async def order_of(api: Api, made: Made) -> str:
    async with api.db.sessions() as session:
        order_id = await session.scalar(
            select(Payment.order_id).where(Payment.id == made.payment_id)
        )
    assert order_id is not None
    return order_id


async def set_order(api: Api, made: Made, **values: Any) -> str:
    order_id = await order_of(api, made)
    async with api.db.transaction() as session:
        await session.execute(update(Order).where(Order.id == order_id).values(values))
    return order_id


async def warn(api: Api, made: Made, warning_id: str, **values: Any) -> None:
    """An early fraud warning on the payment, as the worker leaves it once decided."""
    fields: dict[str, Any] = {
        "fraud_type": "made_with_stolen_card",
        "actionable": True,
        "created": datetime.now(UTC) - timedelta(hours=1),
        "action": "operator",
        "outcome": "left to the operator",
        **values,
    }
    async with api.db.transaction() as session:
        session.add(FraudWarning(id=warning_id, payment_id=made.payment_id, **fields))


async def authorized(api: Api, amount: int, ago: timedelta) -> Made:
    """A manual-capture payment authorized `ago`, not captured."""
    made = await make(api, "usd", amount)
    await set_payment(api, made, status="requires_capture", authorized_at=datetime.now(UTC) - ago)
    return made


def attention(page: Node) -> Node:
    return section(page, "attention-heading")


def links(node: Node) -> list[str]:
    return [a.attrs["href"] for a in node.all("a")]


async def test_a_risky_payment_needs_attention_until_it_is_refunded(
    api: Api, dashboard: Dashboard
) -> None:
    risky = await succeeded(api, "usd", 4200)
    await set_payment(api, risky, **{**RISKY, "risk_level": "highest", "risk_score": 88,
                                     "outcome_type": "manual_review",
                                     "radar_rule": "rule_review_large"})  # fmt: skip
    normal = await succeeded(api, "usd", 1000)
    await set_payment(api, normal, risk_level="normal", risk_score=12)
    old = await succeeded(api, "usd", 900)
    await set_payment(api, old, **RISKY, created_at=datetime.now(UTC) - timedelta(days=40))

    page = await overview(dashboard)
    assert "Rated elevated or highest risk by Radar in the last 30 days, not refunded or " \
        "disputed 1 payment" in page.by_id("risk-attention").text()  # fmt: skip
    table = page.by_id("risky-payments")
    (row,) = table.rows()
    assert row[:5] == [
        risky.payment_id,
        "42.00 USD",
        "succeeded",
        "highest risk (score 88)",
        "manual review rule rule_review_large",
    ]
    assert links(table) == [f"/dashboard/payments/{risky.payment_id}"]
    assert "the latest" not in table.all("caption")[0].text()

    await refund(api, risky, 4200)
    page = await overview(dashboard)
    assert "risky-payments" not in [n.attrs.get("id") for n in page.all("table")]
    assert attention(page).all("p")[0].text().startswith("Nothing needs attention:")


async def test_an_authorized_risky_payment_counts_and_a_disputed_one_does_not(
    api: Api, dashboard: Dashboard
) -> None:
    held = await make(api, "eur", 3000)
    await set_payment(api, held, **RISKY, status="requires_capture")
    disputed = await succeeded(api, "eur", 2000)
    await set_payment(api, disputed, **RISKY, status="disputed")
    rows = (await overview(dashboard)).by_id("risky-payments").rows()
    assert [(r[0], r[2], r[3]) for r in rows] == [
        (held.payment_id, "requires capture", "elevated risk (score 65)")
    ]


async def test_the_risky_list_is_capped_and_says_so(api: Api, dashboard: Dashboard) -> None:
    made = [await make(api, "usd", 100 + n) for n in range(12)]
    now = datetime.now(UTC)
    for n, payment in enumerate(made):
        await set_payment(
            api, payment, **RISKY, status="succeeded", created_at=now - timedelta(minutes=n)
        )
    page = await overview(dashboard)
    table = page.by_id("risky-payments")
    assert len(table.rows()) == 10
    assert [r[0] for r in table.rows()] == [p.payment_id for p in made[:10]]
    assert "(the latest 10 of 12)" in table.all("caption")[0].text()
    assert "12 payments" in page.by_id("risk-attention").text()


async def test_a_fraud_warning_left_to_the_operator_until_the_payment_is_refunded(
    api: Api, dashboard: Dashboard
) -> None:
    warned = await succeeded(api, "usd", 8000)
    await warn(api, warned, "issfr_operator")
    gone = await succeeded(api, "usd", 500)
    await warn(api, gone, "issfr_refunded", action="refund", outcome="refunded in full")
    stale = await succeeded(api, "usd", 600)
    await warn(api, stale, "issfr_stale", actionable=False, fraud_type="card_never_received",
               outcome="not refunded: Stripe refused",
               created=datetime.now(UTC) - timedelta(hours=2))  # fmt: skip

    page = await overview(dashboard)
    assert "Early fraud warnings left to the operator 2 warnings" in (
        page.by_id("risk-attention").text()
    )
    table = page.by_id("fraud-warnings")
    rows = table.rows()
    assert [r[0].split() for r in rows] == [
        [warned.payment_id, "issfr_operator"],
        [stale.payment_id, "issfr_stale"],
    ]
    assert rows[0][1:5] == [
        "80.00 USD",
        "made with stolen card",
        "yes: a refund can still prevent a dispute",
        "left to the operator",
    ]
    assert rows[1][2:5] == [
        "card never received",
        "no longer actionable",
        "not refunded: Stripe refused",
    ]
    assert links(table) == [
        f"/dashboard/payments/{warned.payment_id}",
        f"/dashboard/payments/{stale.payment_id}",
    ]

    await refund(api, warned, 8000)
    await refund(api, stale, 600)
    page = await overview(dashboard)
    assert "fraud-warnings" not in [n.attrs.get("id") for n in page.all("table")]
    assert attention(page).all("p")[0].text().startswith("Nothing needs attention:")


async def test_authorizations_about_to_be_released_say_when(api: Api, dashboard: Dashboard) -> None:
    # Released by the worker six days after the authorization (the default).
    soon = await authorized(api, 2500, timedelta(days=5, hours=19, minutes=10))
    late = await authorized(api, 3500, timedelta(days=6, hours=2, minutes=5))
    later = await authorized(api, 4500, timedelta(days=3))  # more than a day left

    page = await overview(dashboard)
    assert "Authorizations settled without an operator soon 2 authorizations" in (
        page.by_id("risk-attention").text()
    )
    table = page.by_id("lapsing-authorizations")
    rows = table.rows()
    assert [r[0] for r in rows] == [late.payment_id, soon.payment_id]
    assert rows[0][1] == "35.00 USD"
    assert rows[0][3].startswith("released on the worker's next round (due 2 hours ago) at ")
    assert rows[1][3].startswith("released in 4 hours at ")
    assert links(table) == [
        f"/dashboard/payments/{late.payment_id}",
        f"/dashboard/payments/{soon.payment_id}",
    ]
    assert later.payment_id not in table.text()

    await set_payment(api, soon, status="succeeded")  # captured
    await set_payment(api, late, status="canceled", cancellation_reason="abandoned")
    page = await overview(dashboard)
    assert "lapsing-authorizations" not in [n.attrs.get("id") for n in page.all("table")]


def test_what_happens_to_an_authorization_in_words() -> None:
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    payment = Payment(id="pay_x", amount=100, currency="usd", created_at=now,
                      authorized_at=now - timedelta(days=5, hours=19))  # fmt: skip
    six_days = timedelta(days=6)
    assert lapse_row(payment, now, six_days, "release").what == "released in 5 hours"
    assert lapse_row(payment, now, six_days, "capture").what == "captured in 5 hours"
    assert lapse_row(payment, now, six_days, "none").what == "Stripe releases it in 1 day 5 hours"
    overdue = lapse_row(payment, now, timedelta(days=5), "capture")
    assert (overdue.what, overdue.overdue) == (
        "captured on the worker's next round (due 19 hours ago)",
        True,
    )
    assert lapse_row(payment, now, six_days, "none").at == now + timedelta(days=1, hours=5)
    assert [duration(timedelta(seconds=s)) for s in (30, 60, 3599, 3600, 86400, 90000)] == [
        "under a minute",
        "1 minute",
        "59 minutes",
        "1 hour",
        "1 day",
        "1 day 1 hour",
    ]


async def test_orders_paid_after_they_expired_in_the_last_30_days(
    api: Api, dashboard: Dashboard
) -> None:
    late = await succeeded(api, "usd", 1999)
    expired_at = datetime.now(UTC) - timedelta(hours=3)
    order_id = await set_order(api, late, paid_after_expiry=True, expires_at=expired_at)
    old = await succeeded(api, "usd", 2999)
    await set_order(
        api,
        old,
        paid_after_expiry=True,
        expires_at=datetime.now(UTC) - timedelta(days=41),
        updated_at=datetime.now(UTC) - timedelta(days=40),
    )

    page = await overview(dashboard)
    assert "Orders paid after they expired, in the last 30 days 1 order" in (
        page.by_id("risk-attention").text()
    )
    table = page.by_id("paid-after-expiry")
    (row,) = table.rows()
    assert row == [
        order_id,
        "19.99 USD",
        "paid",
        expired_at.strftime("%Y-%m-%d %H:%M UTC"),
        late.payment_id,
    ]
    assert links(table) == [f"/dashboard/payments/{late.payment_id}"]

    await set_order(api, late, updated_at=datetime.now(UTC) - timedelta(days=31))
    page = await overview(dashboard)
    assert "paid-after-expiry" not in [n.attrs.get("id") for n in page.all("table")]
    assert attention(page).all("p")[0].text().startswith("Nothing needs attention:")


async def test_nothing_needs_attention_names_fraud_and_deadlines(dashboard: Dashboard) -> None:
    text = attention(await overview(dashboard)).all("p")[0].text()
    assert "no early fraud warning waits for a decision" in text
    assert "no authorization is settled without an operator within a day" in text
    assert "no order in the last 30 days was paid after it expired" in text


async def payment_page(dashboard: Dashboard, made: Made) -> Node:
    response = await dashboard.client.get(f"/dashboard/payments/{made.payment_id}")
    assert response.status_code == 200, response.text
    return parse(response.text)


async def test_the_payment_page_shows_its_fraud_signals_and_warnings(
    api: Api, dashboard: Dashboard
) -> None:
    made = await succeeded(api, "usd", 3000)
    await set_payment(api, made, **{**RISKY, "radar_rule": "rule_block_risky_ip"},
                      fraud_warning="made_with_stolen_card")  # fmt: skip
    await refund(api, made, 3000)
    async with api.db.sessions() as session:
        refund_id = await session.scalar(
            select(Refund.id).where(Refund.payment_id == made.payment_id)
        )
    assert refund_id is not None
    await warn(api, made, "issfr_done", action="refund", refund_id=refund_id,
               outcome="refunded in full")  # fmt: skip
    await warn(api, made, "issfr_new", action=None, outcome=None, actionable=False,
               created=datetime.now(UTC))  # fmt: skip

    page = await payment_page(dashboard, made)
    fraud = section(page, "fraud-heading")
    assert (
        page.by_id("risk-note")
        .text()
        .startswith("Stripe's Radar rated this payment elevated risk.")
    )
    assert page.by_id("radar-facts").text() == (
        "Risk level elevated risk Risk score 65 (0 to 99: higher is riskier) "
        "Outcome authorized "
        "Stripe's message Stripe evaluated this payment as having elevated risk. "
        "Radar rule rule_block_risky_ip"
    )
    (level,) = [s for s in fraud.all("span") if "risk" in s.attrs.get("class", "").split()]
    assert level.attrs["class"] == "risk risk-elevated"
    table = page.by_id("payment-fraud-warnings")
    assert table.all("caption")[0].text() == (
        "Early fraud warnings from the card issuer, oldest first"
    )
    rows = table.rows()
    assert rows[0][0].startswith("made with stolen card issfr_done")
    assert rows[0][1:] == ["yes", "refunded in full", refund_id]
    assert rows[1][1:] == [
        "no",
        "not decided yet: the worker decides on its next round",
        "none",
    ]
    assert links(table) == [f"#refund-{refund_id}"]
    assert page.by_id(f"refund-{refund_id}").tag == "tr"


async def test_a_payment_without_signals_says_so(api: Api, dashboard: Dashboard) -> None:
    made = await succeeded(api, "usd", 3000)
    page = await payment_page(dashboard, made)
    assert (
        page.by_id("radar-facts")
        .text()
        .startswith(
            "Risk level not known: Stripe has not rated a charge of this payment Risk score —"
        )
    )
    assert page.by_id("no-fraud-warnings").text() == (
        "No early fraud warning from the card issuer."
    )
    assert "risk-note" not in [n.attrs.get("id") for n in page.all("p")]
    assert "cancellation-reason" not in [n.attrs.get("id") for n in page.all("dd")]
    assert page.by_id("order-facts").text().endswith("(no longer applies: the order is paid)")


@pytest.mark.parametrize(
    ("reason", "order_status", "authorized", "words"),
    [
        ("automatic", "canceled", True, "Stripe let the authorization lapse"),
        ("abandoned", "expired", False, "abandoned: the order expired"),
        (
            "abandoned",
            "canceled",
            True,
            "abandoned: the authorization was released, not captured in time",
        ),
        ("requested_by_customer", "canceled", False, "requested by the customer"),
        ("duplicate", "canceled", False, "duplicate"),
    ],
)
async def test_a_canceled_payment_says_why(
    api: Api, dashboard: Dashboard, reason: str, order_status: str, authorized: bool, words: str
) -> None:
    made = await make(api, "usd", 1500)
    when = datetime.now(UTC) - timedelta(days=7) if authorized else None
    await set_payment(api, made, status="canceled", cancellation_reason=reason, authorized_at=when)
    await set_order(api, made, status=order_status)
    page = await payment_page(dashboard, made)
    assert page.by_id("cancellation-reason").text() == words


async def test_the_order_shows_its_expiry_version_and_paid_after_expiry(
    api: Api, dashboard: Dashboard
) -> None:
    made = await succeeded(api, "usd", 5700)
    expired_at = datetime.now(UTC) - timedelta(minutes=5)
    await set_order(api, made, version=2, expires_at=expired_at, paid_after_expiry=True)
    async with api.db.transaction() as session:
        session.add_all(
            [
                PaymentEvent(
                    payment_id=made.payment_id, from_status="pending", to_status="pending",
                    cause="api", detail="order changed (version 2): 50.00 USD → 57.00 USD",
                ),
                PaymentEvent(
                    payment_id=made.payment_id, from_status="requires_capture",
                    to_status="canceled", cause="deadline",
                ),
            ]
        )  # fmt: skip
    page = await payment_page(dashboard, made)
    assert page.by_id("order-facts").text() == (
        "Version 2 (its items changed 1 time; see the timeline) "
        f"Expiry {expired_at.strftime('%Y-%m-%d %H:%M UTC')} (paid after it)"
    )
    assert page.by_id("paid-after-expiry").text().startswith("Paid after it expired:")
    timeline = section(page, "timeline-heading").text()
    assert "pending (status unchanged)" in timeline
    assert "order changed (version 2): 50.00 USD → 57.00 USD" in timeline
    assert "requires capture → canceled" in timeline
    assert "deadline: the worker, as time ran out" in timeline


async def test_an_expired_order_says_it_expired_unpaid(api: Api, dashboard: Dashboard) -> None:
    made = await make(api, "usd", 1200)
    expired_at = datetime.now(UTC) - timedelta(hours=1)
    await set_order(api, made, status="expired", expires_at=expired_at)
    page = await payment_page(dashboard, made)
    assert page.by_id("order-facts").text().endswith("(expired unpaid)")
    assert "paid-after-expiry" not in [n.attrs.get("id") for n in page.all("p")]


async def test_the_payments_list_marks_elevated_and_highest_risk(
    api: Api, dashboard: Dashboard
) -> None:
    elevated = await succeeded(api, "usd", 1000)
    await set_payment(api, elevated, **RISKY)
    highest = await succeeded(api, "usd", 2000)
    await set_payment(api, highest, **{**RISKY, "risk_level": "highest"})
    normal = await succeeded(api, "usd", 3000)
    await set_payment(api, normal, risk_level="normal")
    response = await dashboard.client.get("/dashboard/payments")
    assert response.status_code == 200
    (table,) = parse(response.text).all("table")
    status = {row[0]: row[5] for row in table.rows()}
    assert status == {
        elevated.payment_id: "succeeded elevated risk",
        highest.payment_id: "succeeded highest risk",
        normal.payment_id: "succeeded",
    }
