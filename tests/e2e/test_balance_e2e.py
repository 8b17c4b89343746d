"""The money Stripe keeps and pays out, end to end: charges, refunds and disputes through the
SDK and a sandbox of each test's own (so its balance holds only the test's money), told to
paydesk by webhooks; the worker reads the balance transactions and payout contents the
ledger lacks. After every scenario paydesk's books and the sandbox's balance agree to the
cent (`assert_books`)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import func, select

from paydesk.app import create_app
from paydesk.config import Settings
from paydesk.ledger.models import BalanceTransaction, LedgerEntry
from paydesk.payouts.models import Payout
from paydesk.sandbox import SandboxConfig, SandboxServer
from paydesk.unit_of_work import DatabaseUnits
from paydesk.webhooks.service import InboxService
from paydesk.worker.runner import WorkerSchedule
from tests.e2e.test_cli import paydesk_cli
from tests.e2e.test_purchase import card, create_order
from tests.e2e.test_refunds_disputes_e2e import dispute_of, pay, refund_status
from tests.e2e.test_webhooks_e2e import wait_for
from tests.fixtures.paydesk import Paydesk, ServerThread

DAY = 86_400
DISPUTED_CARD = "4000000000000259"
# The kinds of the money the customer paid and got back (the rest is Stripe's or the bank's).
MONEY_KINDS = {"charge", "refund", "refund_reversal", "dispute_withdrawal", "dispute_reinstatement"}
SETTLING_WORKER = WorkerSchedule(
    poll_seconds=0.2,
    backfill_every_seconds=None,
    reconcile_every_seconds=None,
    settle_every_seconds=0.2,
)


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig()


@pytest.fixture
def sandbox(sandbox_config: SandboxConfig) -> Iterator[SandboxServer]:
    """A sandbox of the test's own: its balance and payouts hold only this test's money."""
    with SandboxServer(sandbox_config) as server:
        yield server


@pytest.fixture
def paydesk_server(paydesk_settings: Settings, listener: Any) -> Iterator[ServerThread]:
    app = create_app(paydesk_settings, worker=SETTLING_WORKER)
    with ServerThread(app, listener) as server:
        yield server


@pytest.fixture
async def shop(paydesk: Paydesk) -> AsyncIterator[httpx.AsyncClient]:
    async with paydesk.client() as client:
        yield client


def at_stripe(sandbox: SandboxServer, path: str, **params: Any) -> dict[str, Any]:
    answer = httpx.get(f"{sandbox.url}{path}", params=params, auth=("sk_test_paydesk_e2e", ""))
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


def fail_payout(sandbox: SandboxServer, payout_id: str, code: str) -> None:
    """The bank returns the payout: `POST /_sandbox/payouts/{id}/fail`."""
    answer = httpx.post(
        f"{sandbox.url}/_sandbox/payouts/{payout_id}/fail", json={"failure_code": code}
    )
    assert answer.status_code == 200, answer.text


def every(sandbox: SandboxServer, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every object of one of Stripe's lists, page by page."""
    found: list[dict[str, Any]] = []
    while True:
        page = at_stripe(sandbox, path, limit=100, **params)
        found.extend(page["data"])
        if not page["has_more"]:
            return found
        params["starting_after"] = page["data"][-1]["id"]


async def entries(shop: httpx.AsyncClient) -> list[dict[str, Any]]:
    body = (await shop.get("/api/ledger", params={"limit": 1000})).json()
    return list(body["data"])


async def eventually(check: Any, what: str, seconds: float = 15) -> Any:
    """`await check()` until it answers something true."""
    for _ in range(int(seconds / 0.1)):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"never: {what}")


async def settled(shop: httpx.AsyncClient) -> list[dict[str, Any]]:
    """The ledger, once every entry whose money moves in a transaction of its own knows it."""

    async def check() -> list[dict[str, Any]] | None:
        rows = await entries(shop)
        waiting = [e for e in rows if e["kind"] != "dispute_fee" and e["settlement"] is None]
        return None if waiting else rows

    found: list[dict[str, Any]] = await eventually(check, "every ledger entry settled")
    return found


async def payouts_read(shop: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    """The payouts, once there are `count` and paydesk has read what each paid out."""

    async def check() -> list[dict[str, Any]] | None:
        payouts = (await shop.get("/api/payouts")).json()["data"]
        read = len(payouts) == count and all(p["reconciled"] is not None for p in payouts)
        return payouts if read else None

    found: list[dict[str, Any]] = await eventually(check, f"{count} payout(s) read")
    return found


async def assert_books(paydesk: Paydesk, shop: httpx.AsyncClient) -> None:
    """paydesk's books and the sandbox's balance agree to the cent."""
    sandbox = paydesk.sandbox
    rows = await settled(shop)
    transactions = {t["id"]: t for t in every(sandbox, "/v1/balance_transactions")}
    # Every transaction is on exactly one entry, with Stripe's amount, fee and net.
    linked = [e["settlement"] for e in rows if e["settlement"]]
    assert sorted(s["balance_transaction_id"] for s in linked) == sorted(transactions)
    for s in linked:
        txn = transactions[s["balance_transaction_id"]]
        assert (s["gross"], s["fee"], s["net"], s["currency"]) == (
            txn["amount"],
            txn["fee"],
            txn["net"],
            txn["currency"],
        )
        assert s["exchange_rate"] == (
            None if txn["exchange_rate"] is None else repr(txn["exchange_rate"])
        )
    # Per payment: gross - refunds - dispute losses is the money part of its ledger.
    money: dict[str, int] = defaultdict(int)
    for e in rows:
        if e["kind"] in MONEY_KINDS:
            money[e["payment_id"]] += e["amount"]
    disputes = every(sandbox, "/v1/disputes")
    for payment_id, amount in money.items():
        payment = (await shop.get(f"/api/payments/{payment_id}")).json()
        intent = at_stripe(
            sandbox,
            f"/v1/payment_intents/{payment['stripe_payment_intent_id']}",
            **{"expand[]": "latest_charge"},
        )
        charge = intent["latest_charge"]
        lost = sum(
            d["amount"] for d in disputes if d["charge"] == charge["id"] and d["status"] == "lost"
        )
        assert amount == charge["amount_captured"] - charge["amount_refunded"] - lost, payment_id
    # Each dispute fee once: as its withdrawal's fee, and as one dispute_fee entry.
    withdrawals = [t for t in transactions.values() if t["reporting_category"] == "dispute"]
    fees = Counter(e["stripe_object_id"] for e in rows if e["kind"] == "dispute_fee")
    assert sorted(fees.elements()) == sorted(t["source"] for t in withdrawals if t["fee"])
    # Per payout: the net of what it paid out is its amount, and Stripe's list says the same.
    for payout in (await shop.get("/api/payouts", params={"limit": 100})).json()["data"]:
        detail = (await shop.get(f"/api/payouts/{payout['id']}")).json()
        if not payout["automatic"]:
            continue
        assert payout["reconciled"] is True
        assert sum(t["net"] for t in detail["transactions"]) == payout["amount"]
        listed = every(sandbox, "/v1/balance_transactions", payout=payout["id"])
        own = payout["balance_transaction_id"]
        assert sorted(t["id"] for t in detail["transactions"]) == sorted(
            t["id"] for t in listed if t["id"] != own
        )
    # The balance: what paydesk recorded per currency is what the sandbox holds.
    nets: dict[str, int] = defaultdict(int)
    for s in linked:
        nets[s["currency"]] += s["net"]
    page = (await shop.get("/api/ledger", params={"limit": 1000})).json()
    assert {t["currency"]: (t["fee"], t["net"]) for t in page["settlement"]} == {
        c: (
            sum(s["fee"] for s in linked if s["currency"] == c),
            sum(s["net"] for s in linked if s["currency"] == c),
        )
        for c in nets
    }
    balance = at_stripe(sandbox, "/v1/balance")
    held: dict[str, int] = defaultdict(int)
    for part in balance["available"] + balance["pending"]:
        held[part["currency"]] += part["amount"]
    assert {c: n for c, n in held.items() if n} == {c: n for c, n in nets.items() if n}
    recorded = (await shop.get("/api/balance")).json()
    ours: dict[str, int] = defaultdict(int)
    for part in recorded["available"] + recorded["pending"]:
        ours[part["currency"]] += part["amount"]
    assert {c: n for c, n in ours.items() if n} == {c: n for c, n in held.items() if n}


async def count_rows(paydesk: Paydesk) -> tuple[int, int, int]:
    async with paydesk.db.sessions() as session:
        txns = await session.scalar(select(func.count()).select_from(BalanceTransaction))
        ledger = await session.scalar(select(func.count()).select_from(LedgerEntry))
        payouts = await session.scalar(select(func.count()).select_from(Payout))
    return int(txns or 0), int(ledger or 0), int(payouts or 0)


async def replay_everything(paydesk: Paydesk) -> None:
    """Every stored event applied again, and waited for."""
    inbox = InboxService(DatabaseUnits(paydesk.db))
    stored = await inbox.list_events(status=None, limit=1000)
    await inbox.replay(event_ids=[e.id for e in stored])

    async def applied() -> bool:
        events = await inbox.list_events(status=None, limit=1000)
        return all(e.status in ("processed", "ignored") for e in events)

    await eventually(applied, "every replayed event applied")


async def test_a_card_charges_fee_and_net_are_recorded_once(
    paydesk: Paydesk, shop: httpx.AsyncClient, stripe_client: stripe.StripeClient
) -> None:
    payment = await pay(paydesk, shop, card(stripe_client, "4242424242424242"))
    [entry] = await settled(shop)
    # Stripe's standard US card pricing: 2.9% + 30 cents.
    assert entry["kind"] == "charge"
    assert entry["settlement"] | {"balance_transaction_id": None, "payout_id": None} == {
        "balance_transaction_id": None,
        "currency": "usd",
        "gross": 5000,
        "fee": 175,
        "net": 4825,
        "net_display": "48.25 USD",
        "exchange_rate": None,
        "payout_id": None,
    }
    ledger = (await shop.get(f"/api/payments/{payment['id']}/ledger")).json()
    assert [e["settlement"]["fee"] for e in ledger["entries"]] == [175]
    before = await count_rows(paydesk)
    await replay_everything(paydesk)
    assert await count_rows(paydesk) == before == (1, 1, 0)
    await assert_books(paydesk, shop)


async def test_a_charge_told_only_by_webhooks_gets_its_transaction_from_stripe(
    paydesk: Paydesk, shop: httpx.AsyncClient, stripe_client: stripe.StripeClient
) -> None:
    order = await create_order(paydesk)
    async with paydesk.client(order["checkout_token"]) as browser:
        started = (await browser.post("/api/payments", json={"order_id": order["id"]})).json()
    # Stripe.js confirms in the browser: paydesk hears of the charge from events alone,
    # whose charge names its balance transaction without it.
    stripe_client.v1.payment_intents.confirm(
        started["stripe_payment_intent_id"],
        {"payment_method": "pm_card_visa", "return_url": f"{paydesk.url}/checkout/result"},
    )
    await wait_for(paydesk, started["id"], "succeeded")
    [entry] = await settled(shop)
    assert (entry["settlement"]["gross"], entry["settlement"]["fee"]) == (5000, 175)
    await assert_books(paydesk, shop)


async def test_a_partial_refund_and_a_lost_dispute_are_in_the_payout(
    paydesk: Paydesk, shop: httpx.AsyncClient, stripe_client: stripe.StripeClient
) -> None:
    refunded = await pay(paydesk, shop, card(stripe_client, "4242424242424242"))
    answer = await shop.post(f"/api/payments/{refunded['id']}/refunds", json={"amount": 2000})
    assert answer.status_code == 201, answer.text
    disputed = await pay(paydesk, shop, card(stripe_client, DISPUTED_CARD))
    dispute = await dispute_of(shop, disputed["id"])
    paydesk.sandbox.close_dispute(dispute["id"], "lost")
    await wait_for(paydesk, disputed["id"], "disputed")
    paydesk.sandbox.advance_clock(3 * DAY)
    [payout] = await payouts_read(shop, 1)
    assert payout["reconciled"] is True
    assert payout["status"] == "in_transit"
    detail = (await shop.get(f"/api/payouts/{payout['id']}")).json()
    by_type = sorted(
        (t["type"], t["order_id"], t["gross"], t["fee"]) for t in detail["transactions"]
    )
    assert by_type == sorted(
        [
            ("charge", refunded["order_id"], 5000, 175),
            ("refund", refunded["order_id"], -2000, 0),
            ("charge", disputed["order_id"], 5000, 175),
            ("adjustment", disputed["order_id"], -5000, 1500),
        ]
    )
    # 4825 - 2000 + 4825 - 6500
    assert payout["amount"] == 1150 == detail["totals"][0]["net"]
    rows = await settled(shop)
    assert all(
        e["settlement"]["payout_id"] == payout["id"]
        for e in rows
        if e["kind"] != "payout" and e["settlement"]
    )
    assert [e["amount"] for e in rows if e["kind"] == "dispute_fee"] == [-1500]
    paydesk.sandbox.advance_clock(DAY)
    await eventually(lambda: _status_is(shop, payout["id"], "paid"), "the payout paid")
    await assert_books(paydesk, shop)


async def _status_is(shop: httpx.AsyncClient, payout_id: str, status: str) -> bool:
    return bool((await shop.get(f"/api/payouts/{payout_id}")).json()["status"] == status)


async def test_a_refund_that_fails_after_succeeding_gets_its_money_back_in_the_books(
    paydesk: Paydesk, shop: httpx.AsyncClient, stripe_client: stripe.StripeClient
) -> None:
    payment = await pay(paydesk, shop, card(stripe_client, "4000000000005126"))
    answer = await shop.post(f"/api/payments/{payment['id']}/refunds", json={})
    assert answer.status_code == 201, answer.text
    await refund_status(shop, payment["id"], "failed")

    async def reversed_and_settled() -> list[dict[str, Any]] | None:
        rows = await settled(shop)
        return (
            rows if [e["kind"] for e in rows] == ["charge", "refund", "refund_reversal"] else None
        )

    rows = await eventually(reversed_and_settled, "the refund reversed and settled")
    assert [(e["settlement"]["gross"], e["settlement"]["net"]) for e in rows] == [
        (5000, 4825),
        (-5000, -5000),
        (5000, 5000),
    ]
    await assert_books(paydesk, shop)


async def test_a_eur_charge_settles_in_usd_with_the_exchange_rate_kept(
    paydesk: Paydesk, shop: httpx.AsyncClient, stripe_client: stripe.StripeClient
) -> None:
    order = await create_order(paydesk, currency="eur")
    answer = await shop.post(
        "/api/payments",
        json={"order_id": order["id"], "payment_method": card(stripe_client, "4242424242424242")},
    )
    assert answer.status_code == 200, answer.text
    [entry] = await settled(shop)
    txn = at_stripe(
        paydesk.sandbox, f"/v1/balance_transactions/{entry['settlement']['balance_transaction_id']}"
    )
    assert (entry["amount"], entry["currency"]) == (5000, "eur")
    settlement = entry["settlement"]
    assert settlement["currency"] == "usd"
    assert settlement["exchange_rate"] == repr(txn["exchange_rate"]) == "1.08"
    assert settlement["gross"] == txn["amount"] == 5400
    assert settlement["net"] == 5400 - settlement["fee"]
    paydesk.sandbox.advance_clock(3 * DAY)
    [payout] = await payouts_read(shop, 1)
    assert (payout["currency"], payout["amount"]) == ("usd", settlement["net"])
    await assert_books(paydesk, shop)


async def test_a_failed_payout_returns_its_money_and_is_flagged(
    paydesk: Paydesk, shop: httpx.AsyncClient, stripe_client: stripe.StripeClient
) -> None:
    await pay(paydesk, shop, card(stripe_client, "4242424242424242"))
    paydesk.sandbox.advance_clock(3 * DAY)
    [payout] = await payouts_read(shop, 1)
    fail_payout(paydesk.sandbox, payout["id"], "account_closed")
    await eventually(lambda: _status_is(shop, payout["id"], "failed"), "the payout failed")
    [listed] = (await shop.get("/api/payouts", params={"status": "failed"})).json()["data"]
    assert listed["failure_code"] == "account_closed"
    assert listed["status_text"] == "Failed: The bank account has been closed."
    rows = await settled(shop)
    assert [(e["kind"], e["amount"]) for e in rows if e["payment_id"] is None] == [
        ("payout", -4825),
        ("payout_reversal", 4825),
    ]
    balance = (await shop.get("/api/balance")).json()
    assert [(b["currency"], b["amount"]) for b in balance["available"]] == [("usd", 4825)]
    await assert_books(paydesk, shop)
    # The money returned goes out again in the next payout.
    paydesk.sandbox.advance_clock(DAY)
    payouts = await payouts_read(shop, 2)
    again = next(p for p in payouts if p["id"] != payout["id"])
    assert (again["amount"], again["reconciled"]) == (4825, True)
    detail = (await shop.get(f"/api/payouts/{again['id']}")).json()
    assert [t["type"] for t in detail["transactions"]] == ["payout_failure"]
    await assert_books(paydesk, shop)


async def test_duplicate_and_out_of_order_events_change_nothing(
    paydesk: Paydesk, shop: httpx.AsyncClient, stripe_client: stripe.StripeClient
) -> None:
    paydesk.sandbox.mix_webhooks(duplicate_rate=1.0, shuffle_window_seconds=0.4, seed=7)
    try:
        payment = await pay(paydesk, shop, card(stripe_client, "4242424242424242"))
        await shop.post(f"/api/payments/{payment['id']}/refunds", json={"amount": 1000})
        paydesk.sandbox.advance_clock(3 * DAY)
        [payout] = await payouts_read(shop, 1)
        paydesk.sandbox.advance_clock(DAY)  # paid: payout.updated and payout.paid, shuffled
        await eventually(lambda: _status_is(shop, payout["id"], "paid"), "the payout paid")
    finally:
        paydesk.sandbox.calm_webhooks()
    await assert_books(paydesk, shop)
    before = await count_rows(paydesk), await entries(shop)
    await replay_everything(paydesk)
    assert (await count_rows(paydesk), await entries(shop)) == before
    assert await _status_is(shop, payout["id"], "paid")


async def test_payout_sync_finds_a_payout_whose_webhook_was_dropped(
    paydesk: Paydesk, shop: httpx.AsyncClient, stripe_client: stripe.StripeClient
) -> None:
    await pay(paydesk, shop, card(stripe_client, "4242424242424242"))
    await settled(shop)
    paydesk.sandbox.mix_webhooks(drop_rate=1.0)
    try:
        paydesk.sandbox.advance_clock(3 * DAY)
        [made] = every(paydesk.sandbox, "/v1/payouts")
        await asyncio.sleep(0.5)
    finally:
        paydesk.sandbox.calm_webhooks()
    assert (await shop.get("/api/payouts")).json()["data"] == []
    env = {
        "PAYDESK_DATABASE_URL": paydesk.db.engine.url.render_as_string(hide_password=False),
        "STRIPE_SECRET_KEY": "sk_test_paydesk_e2e",
        "STRIPE_API_BASE": paydesk.sandbox.url,
    }
    synced = await asyncio.to_thread(paydesk_cli, "payouts", "sync", env=env)
    assert synced.returncode == 0, synced.stderr
    assert "read 1 payout(s) from Stripe" in synced.stdout
    assert "read what 1 payout(s) paid out" in synced.stdout
    [payout] = await payouts_read(shop, 1)
    assert (payout["id"], payout["amount"], payout["reconciled"]) == (made["id"], 4825, True)
    listed = await asyncio.to_thread(paydesk_cli, "payouts", "list", env=env)
    [line] = listed.stdout.splitlines()
    assert line.split()[:3] == [made["id"], "48.25", "USD"]
    assert line.endswith("In transit  reconciled")
    shown = await asyncio.to_thread(paydesk_cli, "payouts", "show", made["id"], env=env)
    [row] = list(csv.DictReader(io.StringIO(shown.stdout, newline="")))
    assert (row["type"], row["net"], row["net_decimal"]) == ("charge", "4825", "48.25")
    await assert_books(paydesk, shop)


@pytest.mark.parametrize(
    "sandbox_config",
    [SandboxConfig(settlement_currency="jpy"), SandboxConfig(settlement_currency="kwd")],
    ids=["jpy", "kwd"],
)
async def test_a_payouts_csv_sums_to_its_amount(
    paydesk: Paydesk,
    shop: httpx.AsyncClient,
    stripe_client: stripe.StripeClient,
    sandbox_config: SandboxConfig,
) -> None:
    settlement = sandbox_config.settlement_currency
    for currency in ("jpy", "kwd", "usd", "eur"):
        order = await create_order(paydesk, currency=currency)
        answer = await shop.post(
            "/api/payments",
            json={
                "order_id": order["id"],
                "payment_method": card(stripe_client, "4242424242424242"),
            },
        )
        assert answer.status_code == 200, answer.text
        if currency == "kwd":
            refund = await shop.post(
                f"/api/payments/{answer.json()['id']}/refunds", json={"amount": 1230}
            )
            assert refund.status_code == 201, refund.text
    paydesk.sandbox.advance_clock(3 * DAY)
    [payout] = await payouts_read(shop, 1)
    assert payout["currency"] == settlement
    exported = await shop.get(f"/api/payouts/{payout['id']}", headers={"Accept": "text/csv"})
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    records = list(csv.DictReader(io.StringIO(exported.text, newline="")))
    assert len(records) == 5  # four charges and a refund
    assert sum(int(r["net"]) for r in records) == payout["amount"]
    assert {r["currency"] for r in records} == {settlement}
    decimals = sum(Decimal(r["net_decimal"]) for r in records)
    digits = {"jpy": 0, "kwd": 3}[settlement]
    assert decimals == Decimal(payout["amount"]).scaleb(-digits)
    assert all(r["order_id"] for r in records)
    rates = {r["type"]: r["exchange_rate"] for r in records if r["exchange_rate"]}
    assert rates  # the charges in other currencies name their rate
    await assert_books(paydesk, shop)


@pytest.mark.parametrize(
    "sandbox_config", [SandboxConfig(payout_account_number="000111111113")], ids=["closed"]
)
async def test_a_payout_to_stripes_closed_test_account_fails_and_is_flagged(
    paydesk: Paydesk, shop: httpx.AsyncClient, stripe_client: stripe.StripeClient
) -> None:
    await pay(paydesk, shop, card(stripe_client, "4242424242424242"))
    paydesk.sandbox.advance_clock(3 * DAY)
    [payout] = await payouts_read(shop, 1)
    paydesk.sandbox.advance_clock(DAY)  # when it would arrive, the bank returns it
    await eventually(lambda: _status_is(shop, payout["id"], "failed"), "the payout failed")
    [failed] = (await shop.get("/api/payouts", params={"status": "failed"})).json()["data"]
    assert (failed["id"], failed["failure_code"]) == (payout["id"], "account_closed")
    await payouts_read(shop, 2)  # the returned money went out again
    await assert_books(paydesk, shop)
