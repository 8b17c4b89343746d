"""Fraud signals in a real browser: a card Radar rates elevated, paid at the checkout, needs
attention on the overview, with the issuer's early fraud warning left to the operator; its
link leads, with the keyboard, to the payment's "Fraud signals"."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from paydesk.fraud.models import FraudWarning
from paydesk.payments.models import Payment
from tests.browser.conftest import Screenshot
from tests.browser.test_checkout import checkout_url, create_order, pay
from tests.fixtures.paydesk import Paydesk

if TYPE_CHECKING:
    from playwright.async_api import Page


async def test_a_risky_payment_and_its_fraud_warning_lead_to_its_fraud_signals(
    paydesk: Paydesk, operator_page: Page, screenshot: Screenshot
) -> None:
    page = operator_page
    order = await create_order(paydesk)
    await page.goto(checkout_url(paydesk, order))
    await pay(page, "4000 0000 0000 9235")  # Radar: elevated risk
    await page.get_by_role("heading", name="Paid").wait_for()
    async with paydesk.db.transaction() as session:
        payment = await session.scalar(select(Payment).where(Payment.order_id == order["id"]))
        assert payment is not None
        assert payment.risk_level == "elevated"
        session.add(
            FraudWarning(
                id="issfr_browser",
                payment_id=payment.id,
                fraud_type="made_with_stolen_card",
                actionable=True,
                created=datetime.now(UTC),
                action="operator",
                outcome="left to the operator",
            )
        )
        payment_id = payment.id

    await page.goto(f"{paydesk.url}/dashboard")
    await page.get_by_role("heading", name="Fraud signals and deadlines").wait_for()
    risky = page.get_by_role("table", name=re.compile("Payments Radar rated risky"))
    row = risky.get_by_role("row").filter(has_text=payment_id)
    assert "elevated risk (score 70)" in await row.inner_text()
    warnings = page.get_by_role("table", name=re.compile("Early fraud warnings left"))
    warned = warnings.get_by_role("row").filter(has_text=payment_id)
    assert "made with stolen card" in await warned.inner_text()
    assert "yes: a refund can still prevent a dispute" in await warned.inner_text()
    await screenshot("dashboard-fraud-attention")

    await row.get_by_role("link", name=payment_id).focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{paydesk.url}/dashboard/payments/{payment_id}")
    signals = page.get_by_role("region", name="Fraud signals")
    await signals.wait_for()
    assert await page.locator("#risk-note").get_attribute("role") == "note"
    assert await signals.locator(".risk-elevated").inner_text() == "elevated risk"
    facts = await signals.locator("#radar-facts").inner_text()
    assert "manual review" in facts
    assert "70" in facts
    table = signals.get_by_role("table", name=re.compile("Early fraud warnings"))
    assert "left to the operator" in await table.inner_text()
    await screenshot("dashboard-payment-fraud")
