"""The dashboard's payouts and settlement: the payouts list and one payout with its
transactions, Stripe's fees on the overview, payouts that failed or do not add up and a
charge never paid out under "Needs attention", and a payment's fee and net on its page; on
SQLite and PostgreSQL. Balance transactions and payouts are recorded as the worker records
them (`record_transactions`, `record_payouts`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import update

from paydesk.gateway.types import BalanceTransactionSnapshot, PayoutSnapshot
from paydesk.ledger.models import BalanceTransaction
from paydesk.ledger.settlement import record_transactions
from paydesk.payouts.service import record_payouts
from paydesk.web.dashboard import payouts as payouts_page
from tests.integration.conftest import Api, Dashboard
from tests.integration.test_dashboard_overview import Made, Node, overview, parse, succeeded

DAY = 86_400


def charge_txn(
    txn_id: str,
    made: Made,
    *,
    amount: int,
    fee: int,
    created: int,
    available_on: int,
    currency: str = "usd",
    exchange_rate: str | None = None,
) -> BalanceTransactionSnapshot:
    return BalanceTransactionSnapshot(
        id=txn_id, type="charge", reporting_category="charge", amount=amount, fee=fee,
        net=amount - fee, currency=currency, status="available", created=created,
        available_on=available_on, source=f"ch_{made.intent_id[3:]}",
        source_intent=made.intent_id, exchange_rate=exchange_rate,
    )  # fmt: skip


def payout(payout_id: str, status: str, amount: int, created: int, **fields: str) -> PayoutSnapshot:
    """An automatic USD payout whose reconciliation Stripe completed, unless `fields` say
    otherwise."""
    snapshot = PayoutSnapshot(
        id=payout_id, status=status, amount=amount, currency="usd", created=created,
        arrival_date=created + DAY, automatic=True, reconciliation_status="completed",
    )  # fmt: skip
    return replace(snapshot, **fields)


@dataclass(frozen=True)
class Settled:
    usd: Made  # 50.00 USD: 1.75 USD fee, paid out by po_ok
    eur: Made  # 45.00 EUR settled as 48.74 USD: 1.71 USD fee, paid out by po_ok
    old: Made  # 30.00 USD 40 days ago: paid out by po_off, which is 1.00 USD short of it
    unpaid: Made  # 10.00 USD, available 4 days ago, paid out by nothing
    local: Made  # 20.00 EUR settled in EUR: 0.83 EUR fee, not available yet
    bare: Made  # 5.00 USD whose balance transaction paydesk has not read


@pytest.fixture
async def settled(api: Api) -> Settled:
    now = int(time.time())
    made = Settled(
        usd=await succeeded(api, "usd", 5000),
        eur=await succeeded(api, "eur", 4500),
        old=await succeeded(api, "usd", 3000),
        unpaid=await succeeded(api, "usd", 1000),
        local=await succeeded(api, "eur", 2000),
        bare=await succeeded(api, "usd", 500),
    )
    own = BalanceTransactionSnapshot(
        id="txn_po_ok", type="payout", reporting_category="payout", amount=-9528, fee=0,
        net=-9528, currency="usd", status="available", created=now - 2 * DAY,
        available_on=now - 2 * DAY, source="po_ok",
    )  # fmt: skip
    async with api.services.units.writing() as work:
        await record_payouts(
            work,
            [
                payout("po_transit", "in_transit", 1500, now, reconciliation_status="in_progress"),
                payout(
                    "po_failed",
                    "failed",
                    2000,
                    now - DAY,
                    failure_code="account_closed",
                    failure_message="The bank account has been closed.",
                    failure_balance_transaction="txn_po_failed_back",
                ),
                payout("po_ok", "paid", 9528, now - 2 * DAY, balance_transaction="txn_po_ok"),
                payout("po_off", "paid", 2983, now - 3 * DAY),
            ],
        )
        await record_transactions(
            work,
            [
                charge_txn("txn_usd", made.usd, amount=5000, fee=175, created=now,
                           available_on=now - DAY),
                charge_txn("txn_eur", made.eur, amount=4874, fee=171, created=now - 10 * DAY,
                           available_on=now - 8 * DAY, exchange_rate="1.0831"),
                own,
            ],
            payout_id="po_ok",
        )  # fmt: skip
        await record_transactions(
            work,
            [charge_txn("txn_old", made.old, amount=3000, fee=117, created=now - 40 * DAY,
                        available_on=now - 38 * DAY)],
            payout_id="po_off",
        )  # fmt: skip
        await record_transactions(
            work,
            [
                charge_txn("txn_unpaid", made.unpaid, amount=1000, fee=59,
                           created=now - 6 * DAY, available_on=now - 4 * DAY),
                charge_txn("txn_local", made.local, amount=2000, fee=83, created=now,
                           available_on=now + 2 * DAY, currency="eur"),
            ],
        )  # fmt: skip
        await work.payouts.mark_read("po_ok")
        await work.payouts.mark_read("po_off")
    return made


async def get(dashboard: Dashboard, url: str, status: int = 200) -> Node:
    response = await dashboard.client.get(url)
    assert response.status_code == status, response.text
    return parse(response.text)


# The payouts list


async def test_the_list_shows_each_payout_newest_first_with_its_status_and_reconciliation(
    dashboard: Dashboard, settled: Settled
) -> None:
    page = await get(dashboard, "/dashboard/payouts")
    rows = page.by_id("payouts-table").rows()
    assert [row[0] for row in rows] == ["po_transit", "po_failed", "po_ok", "po_off"]
    assert [row[1:3] + row[4:] for row in rows] == [
        ["15.00 USD", "In transit", "Not read yet"],
        ["20.00 USD", "Failed: The bank account has been closed.", "Not read yet"],
        ["95.28 USD", "Paid", "Reconciled"],
        ["29.83 USD", "Paid", "Does not add up (off by 1.00 USD)"],
    ]
    links = [a.attrs["href"] for a in page.by_id("payouts-table").all("a")]
    assert links == [f"/dashboard/payouts/{row[0]}" for row in rows]
    nav = [a.text() for a in page.all("a") if a.attrs.get("aria-current") == "page"]
    assert nav == ["Payouts"]


async def test_the_list_filters_by_status_and_pages_to_older_payouts(
    dashboard: Dashboard, settled: Settled, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = await get(dashboard, "/dashboard/payouts?status=paid")
    assert [row[0] for row in page.by_id("payouts-table").rows()] == ["po_ok", "po_off"]
    page = await get(dashboard, "/dashboard/payouts?status=canceled")
    assert "No canceled payouts." in page.text()

    monkeypatch.setattr(payouts_page, "PAGE_SIZE", 3)
    first = await get(dashboard, "/dashboard/payouts")
    assert [row[0] for row in first.by_id("payouts-table").rows()] == [
        "po_transit", "po_failed", "po_ok"
    ]  # fmt: skip
    (older,) = [a.attrs["href"] for a in first.all("a") if a.text() == "Older →"]
    assert older == "?after=po_ok"
    second = await get(dashboard, f"/dashboard/payouts{older}")
    assert [row[0] for row in second.by_id("payouts-table").rows()] == ["po_off"]
    assert [a.text() for a in second.all("a") if a.attrs.get("class") == "button"] == [
        "Newest payouts"
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=lost", "“lost” is not a payout status."),
        ("after=po_nobody", "That page link is not valid"),
    ],
)
async def test_a_filter_or_page_link_that_cannot_be_used_is_said_so(
    dashboard: Dashboard, query: str, message: str
) -> None:
    page = await get(dashboard, f"/dashboard/payouts?{query}", status=400)
    (alert,) = [d for d in page.all("div") if d.attrs.get("role") == "alert"]
    assert message in alert.text()


async def test_no_payouts_yet(dashboard: Dashboard) -> None:
    page = await get(dashboard, "/dashboard/payouts")
    assert "No payouts yet." in page.text()


# One payout


async def test_a_payout_lists_its_transactions_their_totals_and_that_they_add_up(
    dashboard: Dashboard, settled: Settled
) -> None:
    page = await get(dashboard, "/dashboard/payouts/po_ok")
    facts = page.by_id("payout-facts").text()
    assert "Amount 95.28 USD Status Paid Kind automatic" in facts
    assert "Its balance transaction txn_po_ok" in facts
    table = page.by_id("transactions-table")
    rows = table.rows()
    # Its own transaction is not among what it paid out.
    assert [row[:7] for row in rows] == [
        ["txn_eur", "charge", settled_order(page, settled.eur), "48.74 USD", "1.71 USD",
         "47.03 USD", "1.0831"],
        ["txn_usd", "charge", settled_order(page, settled.usd), "50.00 USD", "1.75 USD",
         "48.25 USD", "—"],
    ]  # fmt: skip
    (total,) = table.all("tfoot")
    assert total.text() == "Total 98.74 USD 3.46 USD 95.28 USD"
    links = [a.attrs["href"] for a in table.all("a")]
    assert links == [
        f"/dashboard/payments/{settled.eur.payment_id}",
        f"/dashboard/payments/{settled.usd.payment_id}",
    ]
    assert page.by_id("reconciled").text() == "The net, 95.28 USD, equals the payout's amount."


def settled_order(page: Node, made: Made) -> str:
    """The order id the page links to the payment with."""
    (link,) = [
        a for a in page.all("a") if a.attrs.get("href") == f"/dashboard/payments/{made.payment_id}"
    ]
    assert link.text().startswith("ord_")
    return link.text()


async def test_a_payout_whose_transactions_fall_short_says_by_how_much(
    dashboard: Dashboard, settled: Settled
) -> None:
    page = await get(dashboard, "/dashboard/payouts/po_off")
    (total,) = page.by_id("transactions-table").all("tfoot")
    assert total.text() == "Total 30.00 USD 1.17 USD 28.83 USD"
    assert page.by_id("reconciled").text() == (
        "The net, 28.83 USD, does not equal the payout's amount of 29.83 USD: off by 1.00 USD."
    )


async def test_a_failed_payout_and_one_not_read_yet(dashboard: Dashboard, settled: Settled) -> None:
    page = await get(dashboard, "/dashboard/payouts/po_failed")
    facts = page.by_id("payout-facts").text()
    assert "Status Failed: The bank account has been closed." in facts
    assert "Failure code account_closed" in facts
    assert "Money returned by txn_po_failed_back" in facts
    assert "paydesk has not read what this payout paid out yet" in page.text()
    assert [n for n in page.all_elements() if n.attrs.get("id") == "reconciled"] == []


async def test_an_unknown_payout_is_not_found(dashboard: Dashboard) -> None:
    page = await get(dashboard, "/dashboard/payouts/po_nobody", status=404)
    assert "There is no payout po_nobody." in page.text()
    assert [a.attrs["href"] for a in page.all("a") if a.text() == "Back to payouts"] == [
        "/dashboard/payouts"
    ]


async def test_signed_out_the_payouts_send_to_the_login_page(api: Api) -> None:
    async with httpx.AsyncClient(transport=api.transport, base_url="http://paydesk.test") as anon:
        response = await anon.get("/dashboard/payouts/po_ok")
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login?next=/dashboard/payouts/po_ok"


# The overview


async def test_the_overview_shows_stripe_fees_today_and_in_30_days(
    dashboard: Dashboard, settled: Settled
) -> None:
    page = await overview(dashboard)
    assert page.by_id("fees-table").rows() == [
        ["EUR", "0.83 EUR", "0.83 EUR"],
        ["USD", "1.75 USD", "4.05 USD"],  # the 1.17 USD of 40 days ago counts in neither
    ]


async def test_payouts_that_failed_or_do_not_add_up_and_a_charge_never_paid_out_need_attention(
    dashboard: Dashboard, settled: Settled
) -> None:
    page = await overview(dashboard)
    assert page.by_id("payout-attention").text() == (
        "Failed: the bank did not take them 1 failed payout "
        "Transactions that do not add up to the payout 1 payout "
        "Charges not paid out 3 days after they became available 1 charge"
    )
    failed = page.by_id("failed-payouts")
    assert [row[:3] for row in failed.rows()] == [
        ["po_failed", "20.00 USD", "The bank account has been closed."]
    ]
    assert [a.attrs["href"] for a in failed.all("a")] == ["/dashboard/payouts/po_failed"]
    mismatched = page.by_id("mismatched-payouts")
    assert mismatched.rows() == [
        ["po_off", "29.83 USD", "28.83 USD", "Does not add up (off by 1.00 USD)"]
    ]
    assert [a.attrs["href"] for a in mismatched.all("a")] == ["/dashboard/payouts/po_off"]
    unpaid = page.by_id("unpaid-charges")
    assert [row[:3] for row in unpaid.rows()] == [
        [settled.unpaid.payment_id, "txn_unpaid", "9.41 USD"]
    ]
    assert [a.attrs["href"] for a in unpaid.all("a")] == [
        f"/dashboard/payments/{settled.unpaid.payment_id}"
    ]


async def test_a_charge_available_less_than_3_days_ago_does_not_need_attention_yet(
    api: Api, dashboard: Dashboard, settled: Settled
) -> None:
    async with api.db.transaction() as session:
        await session.execute(
            update(BalanceTransaction)
            .where(BalanceTransaction.id == "txn_unpaid")
            .values(available_on=datetime.fromtimestamp(time.time() - 2 * DAY, UTC))
        )
    page = await overview(dashboard)
    assert (
        page.by_id("payout-attention")
        .text()
        .endswith("Charges not paid out 3 days after they became available none")
    )
    assert [n for n in page.all_elements() if n.attrs.get("id") == "unpaid-charges"] == []


# A payment's page


async def test_a_payments_page_shows_its_fee_and_net_and_the_payout_that_paid_it(
    dashboard: Dashboard, settled: Settled
) -> None:
    page = await get(dashboard, f"/dashboard/payments/{settled.eur.payment_id}")
    assert page.by_id("settled-usd").text() == "Stripe fee 1.71 USD · net 47.03 USD"
    (charge,) = page.by_id("ledger-table").rows()
    assert charge[1] == "charge"
    assert charge[3] == "45.00 EUR"
    assert charge[6:] == ["48.74 USD", "1.71 USD", "47.03 USD", "1.0831", "po_ok"]
    (link,) = [a for a in page.by_id("ledger-table").all("a")]
    assert link.attrs["href"] == "/dashboard/payouts/po_ok"

    page = await get(dashboard, f"/dashboard/payments/{settled.unpaid.payment_id}")
    assert page.by_id("settled-usd").text() == "Stripe fee 0.59 USD · net 9.41 USD"
    (charge,) = page.by_id("ledger-table").rows()
    assert charge[6:] == ["10.00 USD", "0.59 USD", "9.41 USD", "—", "not paid out yet"]


async def test_a_payment_whose_balance_transaction_is_not_read_says_so(
    dashboard: Dashboard, settled: Settled
) -> None:
    page = await get(dashboard, f"/dashboard/payments/{settled.bare.payment_id}")
    assert page.by_id("settled-none").text() == (
        "Stripe fee and net: not known yet (no balance transaction read)."
    )
    (charge,) = page.by_id("ledger-table").rows()
    assert charge[6:] == ["—", "—", "—", "—", "—"]
