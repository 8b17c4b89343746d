"""The ledger as an accountant reads it: per payment, per time window, and as CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update

from paydesk.ledger import service as ledger_service
from paydesk.ledger.models import LedgerEntry
from paydesk.ledger.repository import Row
from paydesk.ledger.schemas import CSV_HEADER, to_csv
from tests import stripe_events as se
from tests.integration.conftest import Api

DAY_1 = datetime(2026, 3, 1, 10, tzinfo=UTC)
DAY_2 = datetime(2026, 3, 2, 10, tzinfo=UTC)
DAY_3 = datetime(2026, 3, 3, 10, tzinfo=UTC)


@dataclass(frozen=True)
class Booked:
    """A paid order, partly refunded, then disputed and lost, with its ledger backdated."""

    order_id: str
    payment_id: str
    currency: str
    captured: int
    refunded: int
    lost: int
    fee: int


async def deliver(api: Api, *events: dict[str, Any]) -> None:
    for event in events:
        response = await api.post_event(event)
        assert response.status_code == 200, response.text
    await api.processor.drain()


async def pay(api: Api, currency: str, unit_amount: int, quantity: int) -> tuple[str, str, str]:
    """An order in `currency`, paid: its id, its payment's id and PaymentIntent id."""
    items = [{"sku": "SKU-1", "name": "Thing", "unit_amount": unit_amount, "quantity": quantity}]
    order = await api.create_order(items=items, currency=currency)
    response = await api.client.post("/api/payments", json={"order_id": order["id"]})
    assert response.status_code == 200, response.text
    payment = response.json()
    pi = payment["stripe_payment_intent_id"]
    await deliver(api, se.event("charge.succeeded", se.charge(pi, order["amount"], currency)))
    return order["id"], payment["id"], pi


async def book(
    api: Api, currency: str, unit_amount: int, quantity: int, refund: int, fee: int, at: datetime
) -> Booked:
    order_id, payment_id, pi = await pay(api, currency, unit_amount, quantity)
    captured = unit_amount * quantity
    rest = captured - refund
    dispute_id, refund_id = f"dp_{payment_id}", f"re_{payment_id}"
    await deliver(
        api,
        se.event("refund.updated", se.refund(pi, refund_id, refund, currency=currency)),
        se.event(
            "charge.dispute.funds_withdrawn",
            se.dispute(pi, dispute_id, rest, "needs_response", currency=currency, fee=fee),
        ),
        se.event("charge.dispute.closed", se.dispute(pi, dispute_id, rest, "lost", currency)),
    )
    async with api.db.transaction() as session:
        await session.execute(
            update(LedgerEntry).where(LedgerEntry.payment_id == payment_id).values(created_at=at)
        )
    return Booked(order_id, payment_id, currency, captured, refund, rest, fee)


@pytest.fixture
async def books(api: Api) -> dict[str, Booked]:
    """USD on day 1, JPY on day 2, KWD on day 3: four entries each."""
    return {
        "usd": await book(api, "usd", 1999, 2, refund=1000, fee=1500, at=DAY_1),
        "jpy": await book(api, "jpy", 3000, 1, refund=500, fee=1500, at=DAY_2),
        "kwd": await book(api, "kwd", 1250, 2, refund=1250, fee=4500, at=DAY_3),
    }


async def assert_ledger_balances(
    api: Api, payment_id: str, captured: int, refunded: int, lost: int
) -> None:
    """The invariant: the payment's ledger, fees aside, sums to what was captured less what
    was refunded and what was lost to disputes; the reported balance includes the fees."""
    response = await api.client.get(f"/api/payments/{payment_id}/ledger")
    assert response.status_code == 200, response.text
    body = response.json()
    entries = body["entries"]
    assert sum(e["amount"] for e in entries if e["kind"] != "dispute_fee") == (
        captured - refunded - lost
    )
    by_currency: dict[str, int] = {}
    for e in entries:
        by_currency[e["currency"]] = by_currency.get(e["currency"], 0) + e["amount"]
    assert {b["currency"]: b["amount"] for b in body["balances"]} == by_currency


async def ledger_page(api: Api, **params: Any) -> dict[str, Any]:
    response = await api.client.get("/api/ledger", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def error_of(api: Api, url: str, **params: Any) -> dict[str, Any]:
    response = await api.client.get(url, params=params)
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


async def test_a_payments_ledger_is_oldest_first_with_its_balance(
    api: Api, books: dict[str, Booked]
) -> None:
    usd = books["usd"]
    body = (await api.client.get(f"/api/payments/{usd.payment_id}/ledger")).json()
    assert body["payment_id"] == usd.payment_id
    entries = body["entries"]
    assert [(e["kind"], e["amount"], e["amount_display"]) for e in entries] == [
        ("charge", 3998, "39.98 USD"),
        ("refund", -1000, "-10.00 USD"),
        ("dispute_withdrawal", -2998, "-29.98 USD"),
        ("dispute_fee", -1500, "-15.00 USD"),
    ]
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)
    assert {e["currency"] for e in entries} == {"usd"}
    assert {e["order_id"] for e in entries} == {usd.order_id}
    assert entries[1]["stripe_object_id"] == f"re_{usd.payment_id}"
    assert (
        entries[2]["stripe_object_id"] == entries[3]["stripe_object_id"] == f"dp_{usd.payment_id}"
    )
    assert {e["created_at"] for e in entries} == {"2026-03-01T10:00:00Z"}
    assert body["balances"] == [
        {"currency": "usd", "amount": -1500, "amount_display": "-15.00 USD"}
    ]

    jpy = (await api.client.get(f"/api/payments/{books['jpy'].payment_id}/ledger")).json()
    displays = ["3,000 JPY", "-500 JPY", "-2,500 JPY", "-1,500 JPY"]
    assert [e["amount_display"] for e in jpy["entries"]] == displays
    kwd = (await api.client.get(f"/api/payments/{books['kwd'].payment_id}/ledger")).json()
    assert kwd["balances"] == [{"currency": "kwd", "amount": -4500, "amount_display": "-4.500 KWD"}]

    for b in books.values():
        await assert_ledger_balances(api, b.payment_id, b.captured, b.refunded, b.lost)


async def test_a_dispute_won_keeps_the_invariant_with_nothing_lost(api: Api) -> None:
    _, payment_id, pi = await pay(api, "usd", 2500, 1)
    await deliver(
        api,
        se.event(
            "charge.dispute.funds_withdrawn", se.dispute(pi, "dp_won", 2500, "needs_response")
        ),
        se.event("charge.dispute.funds_reinstated", se.dispute(pi, "dp_won", 2500, "won")),
    )
    await assert_ledger_balances(api, payment_id, captured=2500, refunded=0, lost=0)


async def test_a_payment_without_money_has_an_empty_ledger(api: Api) -> None:
    _, payment = await api.paid_order()
    body = (await api.client.get(f"/api/payments/{payment['id']}/ledger")).json()
    assert body == {"payment_id": payment["id"], "entries": [], "balances": []}


async def test_the_window_is_from_inclusive_to_exclusive(
    api: Api, books: dict[str, Booked]
) -> None:
    def currencies(body: dict[str, Any]) -> set[str]:
        return {e["currency"] for e in body["data"]}

    everything = await ledger_page(api)
    assert len(everything["data"]) == 12
    body = await ledger_page(api, **{"from": DAY_2.isoformat(), "to": DAY_3.isoformat()})
    assert currencies(body) == {"jpy"}
    assert len(body["data"]) == 4
    # The same instants written in Tokyo time, and without an offset (taken as UTC).
    tokyo = await ledger_page(
        api, **{"from": "2026-03-02T19:00:00+09:00", "to": "2026-03-03T19:00:00+09:00"}
    )
    assert currencies(tokyo) == {"jpy"}
    naive = await ledger_page(api, **{"from": "2026-03-02T10:00:00", "to": "2026-03-03T10:00:00"})
    assert currencies(naive) == {"jpy"}
    assert currencies(await ledger_page(api, **{"from": "2026-03-02T10:00:00.000001Z"})) == {"kwd"}
    assert currencies(await ledger_page(api, to="2026-03-02T10:00:00.000001Z")) == {"usd", "jpy"}
    assert (await ledger_page(api, **{"from": DAY_2.isoformat(), "to": DAY_2.isoformat()}))[
        "data"
    ] == []


async def test_currency_and_kind_filters(api: Api, books: dict[str, Booked]) -> None:
    kwd = await ledger_page(api, currency="kwd")
    assert {e["payment_id"] for e in kwd["data"]} == {books["kwd"].payment_id}
    assert (await ledger_page(api, currency="KWD"))["data"] == kwd["data"]
    fees = await ledger_page(api, kind="dispute_fee")
    assert [(e["currency"], e["amount"]) for e in fees["data"]] == [
        ("usd", -1500),
        ("jpy", -1500),
        ("kwd", -4500),
    ]
    refunds = await ledger_page(api, kind="refund", currency="jpy", **{"from": DAY_1.isoformat()})
    assert [(e["payment_id"], e["amount"]) for e in refunds["data"]] == [
        (books["jpy"].payment_id, -500)
    ]
    assert (await ledger_page(api, currency="eur"))["data"] == []


async def test_totals_cover_the_whole_selection_not_the_page(
    api: Api, books: dict[str, Booked]
) -> None:
    body = await ledger_page(api, limit=2)
    assert len(body["data"]) == 2
    totals = {(t["currency"], t["kind"]): (t["count"], t["amount"]) for t in body["totals"]}
    assert totals == {
        ("jpy", "charge"): (1, 3000),
        ("jpy", "dispute_fee"): (1, -1500),
        ("jpy", "dispute_withdrawal"): (1, -2500),
        ("jpy", "refund"): (1, -500),
        ("kwd", "charge"): (1, 2500),
        ("kwd", "dispute_fee"): (1, -4500),
        ("kwd", "dispute_withdrawal"): (1, -1250),
        ("kwd", "refund"): (1, -1250),
        ("usd", "charge"): (1, 3998),
        ("usd", "dispute_fee"): (1, -1500),
        ("usd", "dispute_withdrawal"): (1, -2998),
        ("usd", "refund"): (1, -1000),
    }
    assert [t["amount_display"] for t in body["totals"] if t["currency"] == "kwd"] == [
        "2.500 KWD",
        "-4.500 KWD",
        "-1.250 KWD",
        "-1.250 KWD",
    ]
    assert body["balances"] == [
        {"currency": "jpy", "amount": -1500, "amount_display": "-1,500 JPY"},
        {"currency": "kwd", "amount": -4500, "amount_display": "-4.500 KWD"},
        {"currency": "usd", "amount": -1500, "amount_display": "-15.00 USD"},
    ]
    charges = await ledger_page(api, kind="charge", **{"from": DAY_2.isoformat()}, limit=1)
    assert [(t["currency"], t["count"], t["amount"]) for t in charges["totals"]] == [
        ("jpy", 1, 3000),
        ("kwd", 1, 2500),
    ]


async def test_pages_walk_every_entry_once_oldest_first(api: Api, books: dict[str, Booked]) -> None:
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 5} | ({"cursor": cursor} if cursor else {})
        body = await ledger_page(api, **params)
        seen += [e["id"] for e in body["data"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == 12
    assert seen == sorted(set(seen))
    # A page that ends exactly at the last entry says there is no next one.
    assert (await ledger_page(api, limit=12))["next_cursor"] is None
    filtered = await ledger_page(api, currency="usd", limit=3)
    assert filtered["next_cursor"] is not None
    rest = await ledger_page(api, currency="usd", limit=3, cursor=filtered["next_cursor"])
    assert [e["kind"] for e in filtered["data"] + rest["data"]] == [
        "charge",
        "refund",
        "dispute_withdrawal",
        "dispute_fee",
    ]
    assert rest["next_cursor"] is None
    assert len(rest["totals"]) == 4


async def test_csv_is_the_whole_selection_in_major_units(
    api: Api, books: dict[str, Booked]
) -> None:
    response = await api.client.get(
        "/api/ledger",
        params={"limit": 2, "to": "2026-04-01T00:00:00Z"},
        headers={"Accept": "text/csv"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == (
        'attachment; filename="paydesk-ledger-start-20260401T000000Z.csv"'
    )
    assert response.text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(response.text, newline="")))
    assert tuple(rows[0]) == CSV_HEADER
    records = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert len(records) == 12
    assert [int(r["entry_id"]) for r in records] == sorted(int(r["entry_id"]) for r in records)
    decimals = {(r["currency"], r["kind"]): r["amount_decimal"] for r in records}
    assert decimals == {
        ("usd", "charge"): "39.98",
        ("usd", "refund"): "-10.00",
        ("usd", "dispute_withdrawal"): "-29.98",
        ("usd", "dispute_fee"): "-15.00",
        ("jpy", "charge"): "3000",
        ("jpy", "refund"): "-500",
        ("jpy", "dispute_withdrawal"): "-2500",
        ("jpy", "dispute_fee"): "-1500",
        ("kwd", "charge"): "2.500",
        ("kwd", "refund"): "-1.250",
        ("kwd", "dispute_withdrawal"): "-1.250",
        ("kwd", "dispute_fee"): "-4.500",
    }
    kwd_charge = next(r for r in records if r["currency"] == "kwd" and r["kind"] == "charge")
    assert kwd_charge["amount"] == "2500"
    assert kwd_charge["payment_id"] == books["kwd"].payment_id
    assert kwd_charge["order_id"] == books["kwd"].order_id
    assert kwd_charge["created_at"] == "2026-03-03T10:00:00Z"


async def test_csv_follows_the_filters_and_names_the_window(
    api: Api, books: dict[str, Booked]
) -> None:
    response = await api.client.get(
        "/api/ledger",
        params={"from": DAY_2.isoformat(), "to": DAY_3.isoformat(), "kind": "refund"},
        headers={"Accept": "application/json;q=0.5, text/csv"},
    )
    assert response.status_code == 200, response.text
    assert (
        'filename="paydesk-ledger-20260302T100000Z-20260303T100000Z.csv"'
        in (response.headers["content-disposition"])
    )
    rows = list(csv.reader(io.StringIO(response.text, newline="")))
    assert rows[1:] == [
        [rows[1][0], "2026-03-02T10:00:00Z", books["jpy"].payment_id, books["jpy"].order_id,
         "refund", "-500", "jpy", "-500", f"re_{books['jpy'].payment_id}", *[""] * 10],
    ]  # fmt: skip
    empty = await api.client.get("/api/ledger", params={"currency": "eur"},
                                 headers={"Accept": "text/csv"})  # fmt: skip
    assert empty.text == ",".join(CSV_HEADER) + "\r\n"
    json_preferred = await api.client.get(
        "/api/ledger", headers={"Accept": "application/json, text/csv;q=0.5"}
    )
    assert json_preferred.headers["content-type"] == "application/json"


def test_csv_quotes_fields_as_rfc_4180_says() -> None:
    row = Row(7, "pay_1", "ord_1", "refund", -5, "usd", 're_"odd",id', DAY_1)
    text = to_csv([row])
    assert (
        text.splitlines()[1]
        == '7,2026-03-01T10:00:00Z,pay_1,ord_1,refund,-5,usd,-0.05,"re_""odd"",id"' + "," * 10
    )
    assert list(csv.reader(io.StringIO(text, newline="")))[1][8] == 're_"odd",id'


async def test_a_csv_over_the_row_limit_is_refused(
    api: Api, books: dict[str, Booked], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger_service, "MAX_EXPORT_ROWS", 11)
    response = await api.client.get("/api/ledger", headers={"Accept": "text/csv"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "export_too_large"
    assert "12" in error["message"]
    allowed = await api.client.get(
        "/api/ledger", params={"from": DAY_2.isoformat()}, headers={"Accept": "text/csv"}
    )
    assert allowed.status_code == 200
    assert len(allowed.text.splitlines()) == 9


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"from": "yesterday"}, "from", "parameter_invalid"),
        ({"to": "2026-13-01T00:00:00Z"}, "to", "parameter_invalid"),
        ({"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "from",
         "invalid_range"),
        ({"from": "2026-03-01T09:00:00+09:00", "to": "2026-02-28T23:59:59Z"}, "from",
         "invalid_range"),
        ({"currency": "xyz"}, "currency", "unsupported_currency"),
        ({"currency": "dollars"}, "currency", "unsupported_currency"),
        ({"kind": "deposit"}, "kind", "parameter_invalid"),
        ({"cursor": "abc"}, "cursor", "parameter_invalid"),
        ({"limit": "0"}, "limit", "parameter_invalid"),
    ],
)  # fmt: skip
async def test_bad_parameters_are_400_naming_the_param(
    api: Api, params: dict[str, str], param: str, code: str
) -> None:
    error = await error_of(api, "/api/ledger", **params)
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", code, param)


async def test_the_csv_export_checks_its_parameters_too(api: Api) -> None:
    response = await api.client.get(
        "/api/ledger",
        params={"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
        headers={"Accept": "text/csv"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "from"


async def test_checkout_token_callers_are_refused(api: Api) -> None:
    order, payment = await api.paid_order()
    token = {"Authorization": f"Bearer {order['checkout_token']}"}
    for url in (f"/api/payments/{payment['id']}/ledger", "/api/ledger"):
        response = await api.client.get(url, headers=token)
        assert response.status_code == 403, url
        assert response.json()["error"]["code"] == "shop_key_required"
    unauthenticated = await api.client.get("/api/ledger", headers={"Authorization": ""})
    assert unauthenticated.status_code == 401


async def test_an_unknown_payment_is_404(api: Api) -> None:
    response = await api.client.get("/api/payments/pay_nobody/ledger")
    assert response.status_code == 404
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("resource_missing", "payment_id")
