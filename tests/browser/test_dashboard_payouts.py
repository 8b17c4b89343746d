"""The payouts in a real browser: the list, then one payout with the transactions it paid
out and their total."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from paydesk.gateway.types import BalanceTransactionSnapshot, PayoutSnapshot
from paydesk.ledger.settlement import record_transactions
from paydesk.payouts.service import record_payouts
from paydesk.unit_of_work import DatabaseUnits
from tests.browser.conftest import Screenshot
from tests.browser.test_checkout import create_order
from tests.fixtures.paydesk import Paydesk

if TYPE_CHECKING:
    from playwright.async_api import Page

DAY = 86_400


async def paid_out(paydesk: Paydesk) -> str:
    """An automatic payout of 32.70 EUR, read: the charge of an order of 33.99 EUR, less
    Stripe's 1.29 EUR fee. Returns the order's id."""
    order = await create_order(paydesk)
    async with paydesk.client() as shop:
        answer = await shop.post("/api/payments", json={"order_id": order["id"]})
    assert answer.status_code == 200, answer.text
    intent_id = answer.json()["stripe_payment_intent_id"]
    now = int(time.time())
    charge = BalanceTransactionSnapshot(
        id="txn_browser_charge", type="charge", reporting_category="charge", amount=3399,
        fee=129, net=3270, currency="eur", status="available", created=now - 3 * DAY,
        available_on=now - DAY, source="ch_browser", source_intent=intent_id,
    )  # fmt: skip
    payout = PayoutSnapshot(
        id="po_browser", status="paid", amount=3270, currency="eur", created=now,
        arrival_date=now + DAY, automatic=True, reconciliation_status="completed",
    )  # fmt: skip
    async with DatabaseUnits(paydesk.db).writing() as work:
        await record_payouts(work, [payout])
        await record_transactions(work, [charge], payout_id=payout.id)
        await work.payouts.mark_read(payout.id)
    return str(order["id"])


async def test_open_a_payout_from_the_list_and_see_what_it_paid_out(
    paydesk: Paydesk, operator_page: Page, screenshot: Screenshot
) -> None:
    page = operator_page
    order_id = await paid_out(paydesk)

    await page.get_by_role("link", name="Payouts").click()
    await page.get_by_role("heading", name="Payouts").wait_for()
    row = page.get_by_role("row").filter(has_text="po_browser")
    cells = [c.strip() for c in await row.get_by_role("cell").all_inner_texts()]
    assert cells[1:3] == ["32.70 EUR", "Paid"]
    assert cells[4] == "Reconciled"
    await screenshot("dashboard-payouts")

    await row.get_by_role("link", name="po_browser").click()
    await page.wait_for_url(re.compile(r"/dashboard/payouts/po_browser$"))
    await page.get_by_role("heading", name="What it paid out").wait_for()
    transaction = page.locator("#transactions-table tbody tr")
    assert await transaction.count() == 1
    cells = [c.strip() for c in await transaction.get_by_role("cell").all_inner_texts()]
    assert cells[:6] == ["txn_browser_charge", "charge", order_id, "33.99 EUR", "1.29 EUR",
                         "32.70 EUR"]  # fmt: skip
    total = page.locator("#transactions-table tfoot td")
    assert (await total.all_inner_texts())[:3] == ["33.99 EUR", "1.29 EUR", "32.70 EUR"]
    assert await page.locator("#reconciled").inner_text() == (
        "The net, 32.70 EUR, equals the payout's amount."
    )
    await screenshot("dashboard-payout")
