"""The dashboard's payments: the list and its filters, one payment's page, and refund,
capture and cancel through a confirmation page, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select, update

from paydesk.ledger.models import LedgerEntry
from paydesk.notifications.models import DeliveryAttempt, Notification
from paydesk.payments.models import Payment, PaymentEvent
from paydesk.refunds.models import Refund
from paydesk.web.dashboard import payments as payments_page
from paydesk.webhooks.models import InboxEvent
from tests import stripe_events
from tests.integration.conftest import OPERATOR_EMAIL, Api, Dashboard

ITEMS = [
    {"sku": "TEE-1", "name": "T-shirt", "unit_amount": 1999, "quantity": 2},
    {"sku": "MUG-1", "name": "Mug", "unit_amount": 1200, "quantity": 1},
]  # 5198 minor units: 51.98 USD, 5,198 JPY
# Stripe takes three-decimal amounts in whole tens of fils: 5.200 KWD.
KWD_ITEMS = [
    {"sku": "TEE-1", "name": "T-shirt", "unit_amount": 2000, "quantity": 2},
    {"sku": "MUG-1", "name": "Mug", "unit_amount": 1200, "quantity": 1},
]


class _Page(HTMLParser):
    """A page's visible text, and the hidden fields of its forms."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.hidden: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        fields = dict(attrs)
        if tag == "input" and fields.get("type") == "hidden" and fields.get("name"):
            self.hidden[str(fields["name"])] = fields.get("value") or ""

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(response: httpx.Response) -> _Page:
    parsed = _Page()
    parsed.feed(response.text)
    return parsed


def text(response: httpx.Response) -> str:
    """What a person reads on the page, with runs of white space as one space."""
    return re.sub(r"\s+", " ", " ".join(parse(response).text)).strip()


def listed(response: httpx.Response) -> list[str]:
    """The payment ids the list links to, in the order shown."""
    return re.findall(r'href="/dashboard/payments/(pay_[0-9a-f]+)"', response.text)


async def paid(api: Api, **order: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """An order paid with a card that succeeds (or, with capture_method=manual, held)."""
    items = KWD_ITEMS if order.get("currency") == "kwd" else ITEMS
    created = await api.create_order(items=items, **order)
    answer = await api.client.post(
        "/api/payments", json={"order_id": created["id"], "payment_method": "pm_card_visa"}
    )
    assert answer.status_code == 200, answer.text
    return created, answer.json()


async def unpaid(api: Api, **order: Any) -> dict[str, Any]:
    created = await api.create_order(items=ITEMS, **order)
    answer = await api.client.post("/api/payments", json={"order_id": created["id"]})
    assert answer.status_code == 200, answer.text
    payment: dict[str, Any] = answer.json()
    return payment


async def ledger_sum(api: Api, payment_id: str) -> int:
    async with api.db.sessions() as session:
        total = await session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.payment_id == payment_id
            )
        )
    return int(total or 0)


async def refunds_of(api: Api, payment_id: str) -> list[tuple[int, str]]:
    async with api.db.sessions() as session:
        rows = await session.execute(
            select(Refund.amount, Refund.status).where(Refund.payment_id == payment_id)
        )
    return [(amount, status) for amount, status in rows]


async def last_change(api: Api, payment_id: str) -> tuple[str, str, str | None]:
    async with api.db.sessions() as session:
        change = await session.scalar(
            select(PaymentEvent)
            .where(PaymentEvent.payment_id == payment_id)
            .order_by(PaymentEvent.id.desc())
            .limit(1)
        )
    assert change is not None
    return change.to_status, change.cause, change.detail


async def ask(dashboard: Dashboard, payment_id: str, action: str, **form: str) -> httpx.Response:
    """The first step: the action's form on the payment's page, posted."""
    return await dashboard.post(f"/dashboard/payments/{payment_id}/{action}", form)


async def confirm(dashboard: Dashboard, payment_id: str, asked: httpx.Response) -> httpx.Response:
    """The second step: the confirmation page's form, posted as the browser would."""
    fields = parse(asked).hidden
    assert fields.get("confirm") == "yes", asked.text
    action = re.search(r'<form method="post" action="([^"]+)"', asked.text.split("<main")[1])
    assert action is not None
    return await dashboard.client.post(action.group(1), data=fields)


# The list


async def test_the_list_shows_payments_newest_first_in_their_currencies(
    api: Api, dashboard: Dashboard
) -> None:
    _, yen = await paid(api, currency="jpy", customer_email="kenji@example.com")
    _, euro = await paid(api, currency="eur", customer_email="eva@example.com")
    _, dinar = await paid(api, currency="kwd", customer_email="dana@example.com")
    answer = await dashboard.client.get("/dashboard/payments")
    assert answer.status_code == 200
    assert listed(answer) == [dinar["id"], euro["id"], yen["id"]]
    shown = text(answer)
    for amount, email in [
        ("5.200 KWD", "dana@example.com"),
        ("51.98 EUR", "eva@example.com"),
        ("5,198 JPY", "kenji@example.com"),
    ]:
        assert f"{email} {amount} Visa •••• 4242 succeeded" in shown
    assert dinar["order_id"] in shown
    assert "Newer" not in shown
    assert "Older" not in shown


async def test_the_filters_and_the_search(api: Api, dashboard: Dashboard) -> None:
    today = datetime.now(UTC).date().isoformat()
    euro_order, euro = await paid(api, currency="eur", customer_email="Eva@Example.com")
    _, held = await paid(api, capture_method="manual", customer_email="hugo@example.com")
    waiting = await unpaid(api, customer_email="wanda@example.org")

    async def matching(**query: str) -> list[str]:
        answer = await dashboard.client.get("/dashboard/payments", params=query)
        assert answer.status_code == 200, answer.text
        return listed(answer)

    assert await matching(status="requires_capture") == [held["id"]]
    assert await matching(status="pending") == [waiting["id"]]
    assert await matching(currency="EUR") == [euro["id"]]
    assert await matching(currency="usd") == [waiting["id"], held["id"]]
    assert await matching(order_id=euro_order["id"]) == [euro["id"]]
    assert await matching(email="eva@example.com") == [euro["id"]]
    assert await matching(email="eva@") == []  # the e-mail filter is the whole address
    assert await matching(q=held["id"]) == [held["id"]]
    assert await matching(q=euro_order["id"]) == [euro["id"]]
    assert await matching(q=waiting["stripe_payment_intent_id"]) == [waiting["id"]]
    assert await matching(q="EXAMPLE.ORG") == [waiting["id"]]
    assert await matching(q="%") == []  # a wildcard is only a character
    assert await matching(q="example.com", status="succeeded") == [euro["id"]]

    async with api.db.transaction() as session:
        await session.execute(
            update(Payment)
            .where(Payment.id == euro["id"])
            .values(created_at=datetime(2026, 1, 15, 23, 59, tzinfo=UTC))
        )
    assert await matching(created_from="2026-01-01", created_to="2026-01-15") == [euro["id"]]
    answer = await dashboard.client.get("/dashboard/payments", params={"created_to": "2026-01-15"})
    assert "51.98 EUR Visa •••• 4242 succeeded 2026-01-15 23:59" in text(answer)
    assert await matching(created_from="2026-01-16", created_to="2026-01-31") == []
    assert await matching(created_from=today) == [waiting["id"], held["id"]]
    answer = await dashboard.client.get("/dashboard/payments", params={"q": "nobody"})
    assert "No payments match these filters." in text(answer)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"status": "lost"}, "“lost” is not a payment status."),
        ({"currency": "XYZ"}, "“XYZ” is not a currency paydesk takes"),
        ({"created_from": "2026-13-01"}, "The “From” date “2026-13-01” is not a date"),
        ({"created_to": "yesterday"}, "The “To” date “yesterday” is not a date"),
        (
            {"created_from": "2026-02-01", "created_to": "2026-01-01"},
            "The “From” date is after the “To” date.",
        ),
        ({"before": "pay_'; drop table payments"}, "That page link is not valid"),
        ({"q": "x" * 400}, "The search filter is too long."),
    ],
)
async def test_filters_that_cannot_be_used_are_explained(
    api: Api, dashboard: Dashboard, query: dict[str, str], message: str
) -> None:
    await paid(api)
    answer = await dashboard.client.get("/dashboard/payments", params=query)
    assert answer.status_code == 400
    assert message in text(answer)
    assert listed(answer) == []


async def test_pages_go_by_payment_id_and_keep_the_filters(
    api: Api, dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(payments_page, "PAGE_SIZE", 2)
    euro = [await unpaid(api, currency="eur") for _ in range(5)]
    await unpaid(api)  # another currency, never listed
    newest_first = sorted((p["id"] for p in euro), reverse=True)

    first = await dashboard.client.get("/dashboard/payments", params={"currency": "eur"})
    assert listed(first) == newest_first[:2]
    assert "Newer" not in text(first)
    older = re.search(r'href="(\?[^"]+)">Older', first.text)
    assert older is not None
    assert "currency=eur" in older.group(1)

    second = await dashboard.client.get(
        "/dashboard/payments" + older.group(1).replace("&amp;", "&")
    )
    assert listed(second) == newest_first[2:4]
    older = re.search(r'href="(\?[^"]+)">Older', second.text)
    assert older is not None
    third = await dashboard.client.get("/dashboard/payments" + older.group(1).replace("&amp;", "&"))
    assert listed(third) == newest_first[4:]
    assert "Older" not in text(third)

    newer = re.search(r'href="(\?[^"]+)">← Newer', third.text)
    assert newer is not None
    assert "currency=eur" in newer.group(1)
    back = await dashboard.client.get("/dashboard/payments" + newer.group(1).replace("&amp;", "&"))
    assert listed(back) == newest_first[2:4]
    newer = re.search(r'href="(\?[^"]+)">← Newer', back.text)
    assert newer is not None
    top = await dashboard.client.get("/dashboard/payments" + newer.group(1).replace("&amp;", "&"))
    assert listed(top) == newest_first[:2]
    assert "← Newer" not in text(top)


# One payment


async def test_the_payment_page_shows_its_whole_story(api: Api, dashboard: Dashboard) -> None:
    order, payment = await paid(api)
    refunded = await api.client.post(
        f"/api/payments/{payment['id']}/refunds", json={"amount": 1000, "reason": "duplicate"}
    )
    assert refunded.status_code == 201, refunded.text
    intent_id = payment["stripe_payment_intent_id"]
    applied = stripe_events.event(
        "payment_intent.succeeded", stripe_events.payment_intent(intent_id, "succeeded", 5198)
    )
    assert (await api.post_event(applied)).status_code == 200
    await api.processor.drain()
    waiting = stripe_events.event(
        "charge.dispute.created",
        stripe_events.dispute(intent_id, "dp_waiting", 5198, "needs_response"),
    )
    async with api.db.transaction() as session:
        session.add(
            InboxEvent(id=waiting["id"], type=waiting["type"], livemode=False,
                       stripe_created=waiting["created"], source="webhook",
                       object_id="dp_waiting", payment_intent_id=intent_id,
                       body=orjson.dumps(waiting), headers="{}", status="dead", attempts=5,
                       last_error="no handler could apply it")
        )  # fmt: skip
        receipt = await session.scalar(
            select(Notification).where(Notification.payment_id == payment["id"])
        )
        assert receipt is not None
        session.add(
            DeliveryAttempt(notification_id=receipt.id, succeeded=False,
                            error="connection refused", duration_ms=12)
        )  # fmt: skip

    answer = await dashboard.client.get(f"/dashboard/payments/{payment['id']}")
    assert answer.status_code == 200
    shown = text(answer)
    assert f"Payment {payment['id']}" in shown
    assert "T-shirt TEE-1 2 19.99 USD 39.98 USD" in shown
    assert "Order total 51.98 USD" in shown
    assert "Amount 51.98 USD Captured 51.98 USD Refunded 10.00 USD" in shown
    assert "Net 41.98 USD the ledger's balance" in shown
    # The timeline: every change, from → to, with its cause.
    when = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
    changes = re.findall(rf"(?:(\w+) → )?(\w[\w ]*?) {when} · (\w+)", shown.split("Timeline")[1])
    assert changes == [
        ("", "pending", "api"),
        ("pending", "succeeded", "api"),
        ("succeeded", "partially refunded", "api"),
    ]
    # Refunds, ledger with its running balance, Stripe's facts.
    assert "10.00 USD duplicate the shop's API succeeded" in shown
    assert "51.98 USD 51.98 USD" in shown  # the charge, and the balance after it
    assert "-10.00 USD 41.98 USD" in shown  # the refund, and the balance after it
    assert "webhook " + applied["id"] in shown
    # Webhook events: the one applied, and the dead one about this PaymentIntent.
    assert f"{applied['id']} payment_intent.succeeded processed" in shown
    assert f"{waiting['id']} charge.dispute.created dead 5" in shown
    assert "no handler could apply it" in shown
    # Notifications and their delivery attempts.
    assert "receipt email" in shown
    assert "failed, connection refused (12 ms)" in shown
    # What can be done now: only a refund, of what is left.
    assert "Up to 41.98 USD" in shown
    assert "/capture" not in answer.text
    assert "/cancel" not in answer.text
    assert order["id"] in shown


async def test_an_unknown_payment_is_a_404_page(api: Api, dashboard: Dashboard) -> None:
    answer = await dashboard.client.get("/dashboard/payments/pay_nope")
    assert answer.status_code == 404
    assert "There is no payment pay_nope." in text(answer)
    refund = await ask(dashboard, "pay_nope", "refund", amount="1", reason="duplicate")
    assert refund.status_code == 404


async def test_signed_out_the_pages_send_to_the_login_page(api: Api) -> None:
    _, payment = await paid(api)
    async with httpx.AsyncClient(transport=api.transport, base_url="http://paydesk.test") as anon:
        listing = await anon.get("/dashboard/payments?status=succeeded")
        assert listing.status_code == 303
        assert listing.headers["location"] == (
            "/dashboard/login?next=/dashboard/payments%3Fstatus%3Dsucceeded"
        )
        detail = await anon.get(f"/dashboard/payments/{payment['id']}")
        assert (
            detail.headers["location"]
            == f"/dashboard/login?next=/dashboard/payments/{payment['id']}"
        )
        posted = await anon.post(
            f"/dashboard/payments/{payment['id']}/refund",
            data={"amount": "1", "reason": "duplicate", "confirm": "yes", "nonce": "n" * 32},
        )
        assert posted.status_code == 303
    assert await refunds_of(api, payment["id"]) == []


# Refunds


async def test_a_partial_refund_through_the_confirmation_page(
    api: Api, dashboard: Dashboard
) -> None:
    _, payment = await paid(api, customer_email="customer@example.com")
    asked = await ask(
        dashboard, payment["id"], "refund", amount="12.50", reason="requested_by_customer"
    )
    assert asked.status_code == 200, asked.text
    shown = text(asked)
    assert "Refund 12.50 USD of 51.98 USD to customer@example.com?" in shown
    assert "39.48 USD of the payment stays refundable afterwards." in shown
    assert "Reason requested by customer" in shown
    hidden = parse(asked).hidden
    assert (hidden["amount"], hidden["reason"], hidden["confirm"]) == (
        "12.50",
        "requested_by_customer",
        "yes",
    )
    assert "refund" not in api.stripe.calls  # asking changes nothing
    assert await refunds_of(api, payment["id"]) == []

    done = await confirm(dashboard, payment["id"], asked)
    assert done.status_code == 303
    assert done.headers["location"] == f"/dashboard/payments/{payment['id']}?notice=refunded"
    assert await refunds_of(api, payment["id"]) == [(1250, "succeeded")]
    assert await ledger_sum(api, payment["id"]) == 5198 - 1250
    assert await last_change(api, payment["id"]) == (
        "partially_refunded",
        "operator",
        f"by {OPERATOR_EMAIL}",
    )
    page = text(await dashboard.client.get(done.headers["location"]))
    assert "Refund made: it is listed under Refunds and in the ledger." in page
    assert "succeeded → partially refunded" in page
    assert f"operator · by {OPERATOR_EMAIL}" in page
    assert "-12.50 USD 39.48 USD" in page
    assert "Up to 39.48 USD" in page


async def test_each_refund_says_who_asked_for_it(api: Api, dashboard: Dashboard) -> None:
    _, payment = await paid(api)
    by_api = await api.client.post(f"/api/payments/{payment['id']}/refunds", json={"amount": 500})
    assert by_api.status_code == 201, by_api.text
    asked = await ask(dashboard, payment["id"], "refund", amount="1.00", reason="duplicate")
    assert (await confirm(dashboard, payment["id"], asked)).status_code == 303
    async with api.db.sessions() as session:
        rows = await session.execute(
            select(Refund.amount, Refund.requested_by)
            .where(Refund.payment_id == payment["id"])
            .order_by(Refund.amount)
        )
        assert [tuple(row) for row in rows] == [(100, OPERATOR_EMAIL), (500, "api")]
    page = text(await dashboard.client.get(f"/dashboard/payments/{payment['id']}"))
    assert f"1.00 USD duplicate {OPERATOR_EMAIL} succeeded" in page
    assert "5.00 USD — the shop's API succeeded" in page


async def test_a_confirmation_sent_twice_refunds_once(api: Api, dashboard: Dashboard) -> None:
    _, payment = await paid(api)
    asked = await ask(dashboard, payment["id"], "refund", amount="20", reason="duplicate")
    first = await confirm(dashboard, payment["id"], asked)
    again = await confirm(dashboard, payment["id"], asked)
    assert (first.status_code, again.status_code) == (303, 303)
    assert again.headers["location"] == first.headers["location"]
    assert await refunds_of(api, payment["id"]) == [(2000, "succeeded")]
    assert api.stripe.calls.count("refund") == 1
    assert await ledger_sum(api, payment["id"]) == 5198 - 2000


async def test_confirmations_sent_at_once_refund_once(api: Api, dashboard: Dashboard) -> None:
    _, payment = await paid(api)
    asked = await ask(dashboard, payment["id"], "refund", amount="", reason="duplicate")
    assert "Refund 51.98 USD of 51.98 USD" in text(asked)
    assert "Nothing of the payment stays refundable afterwards." in text(asked)
    answers = await asyncio.gather(*[confirm(dashboard, payment["id"], asked) for _ in range(3)])
    assert [a.status_code for a in answers] == [303, 303, 303]
    assert await refunds_of(api, payment["id"]) == [(5198, "succeeded")]
    assert await ledger_sum(api, payment["id"]) == 0
    refunded = await dashboard.client.get(f"/dashboard/payments/{payment['id']}")
    assert "Nothing can be done with a refunded payment." in text(refunded)
    assert "/refund" not in refunded.text


@pytest.mark.parametrize(
    ("currency", "typed", "status", "message"),
    [
        ("usd", "51.99", 400, "At most 51.98 USD of this payment can be refunded."),
        ("usd", "12.345", 400, "USD amounts have at most 2 decimals."),
        ("usd", "twelve", 400, "“twelve” is not an amount."),
        ("usd", "0", 400, "The amount must be more than zero."),
        ("usd", "-5", 400, "“-5” is not an amount."),
        ("jpy", "12.5", 400, "JPY amounts have no decimals."),
        ("kwd", "1.2345", 400, "KWD amounts have at most 3 decimals."),
    ],
)
async def test_a_refund_that_cannot_be_made_is_explained_on_the_payment_page(
    api: Api, dashboard: Dashboard, currency: str, typed: str, status: int, message: str
) -> None:
    _, payment = await paid(api, currency=currency)
    answer = await ask(dashboard, payment["id"], "refund", amount=typed, reason="duplicate")
    assert answer.status_code == status
    shown = text(answer)
    assert message in shown
    assert f"Payment {payment['id']}" in shown
    assert f'value="{typed}"' in answer.text  # what was typed, to correct it
    assert await refunds_of(api, payment["id"]) == []


@pytest.mark.parametrize(
    ("currency", "typed", "question"),
    [
        ("jpy", "1,234", "Refund 1,234 JPY of 5,198 JPY"),
        ("kwd", "1.25", "Refund 1.250 KWD of 5.200 KWD"),
        ("eur", ".5", "Refund 0.50 EUR of 51.98 EUR"),
    ],
)
async def test_refunds_in_each_currencys_own_units(
    api: Api, dashboard: Dashboard, currency: str, typed: str, question: str
) -> None:
    _, payment = await paid(api, currency=currency)
    asked = await ask(dashboard, payment["id"], "refund", amount=typed, reason="fraudulent")
    assert question in text(asked)
    assert (await confirm(dashboard, payment["id"], asked)).status_code == 303
    [(amount, _)] = await refunds_of(api, payment["id"])
    assert await ledger_sum(api, payment["id"]) == payment["amount"] - amount
    assert amount == {"jpy": 1234, "kwd": 1250, "eur": 50}[currency]


async def test_a_refund_of_an_unpaid_payment_or_without_a_reason_is_refused(
    api: Api, dashboard: Dashboard
) -> None:
    payment = await unpaid(api)
    answer = await ask(dashboard, payment["id"], "refund", amount="1", reason="duplicate")
    assert answer.status_code == 409
    assert f"Payment {payment['id']} has not been paid." in text(answer)
    _, done = await paid(api)
    no_reason = await ask(dashboard, done["id"], "refund", amount="1", reason="because")
    assert no_reason.status_code == 400
    assert "Choose a reason for the refund." in text(no_reason)
    tampered = await dashboard.post(
        f"/dashboard/payments/{done['id']}/refund",
        {"amount": "1", "reason": "duplicate", "confirm": "yes", "nonce": "short"},
    )
    assert tampered.status_code == 400
    assert "This confirmation is incomplete" in text(tampered)
    assert await refunds_of(api, done["id"]) == []


async def test_refunds_under_way_hold_what_is_left(api: Api, dashboard: Dashboard) -> None:
    _, payment = await paid(api)
    api.stripe.reachable = False
    lost = await api.client.post(f"/api/payments/{payment['id']}/refunds", json={})
    assert lost.status_code == 502  # reserved, and unanswered: it holds all of the payment
    api.stripe.reachable = True
    detail = text(await dashboard.client.get(f"/dashboard/payments/{payment['id']}"))
    assert "Refunded 0.00 USD 51.98 USD more under way" in detail
    assert "Nothing is left to refund: refunds under way hold the rest." in detail
    asked = await ask(dashboard, payment["id"], "refund", amount="1", reason="duplicate")
    assert asked.status_code == 409
    assert "Nothing of this payment is left to refund" in text(asked)


async def test_stripe_unreachable_keeps_the_confirmation_to_send_again(
    api: Api, dashboard: Dashboard
) -> None:
    _, payment = await paid(api)
    asked = await ask(dashboard, payment["id"], "refund", amount="5", reason="duplicate")
    api.stripe.reachable = False
    lost = await confirm(dashboard, payment["id"], asked)
    assert lost.status_code == 502
    assert "Stripe could not be reached" in text(lost)
    assert "Refund 5.00 USD of 51.98 USD" in text(lost)
    assert "46.98 USD of the payment stays refundable afterwards." in text(lost)
    assert parse(lost).hidden["nonce"] == parse(asked).hidden["nonce"]
    api.stripe.reachable = True
    done = await confirm(dashboard, payment["id"], lost)
    assert done.status_code == 303
    assert await refunds_of(api, payment["id"]) == [(500, "succeeded")]
    assert await ledger_sum(api, payment["id"]) == 5198 - 500


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    api: Api, dashboard: Dashboard
) -> None:
    _, payment = await paid(api)
    asked = await ask(dashboard, payment["id"], "refund", amount="5", reason="duplicate")
    fields = parse(asked).hidden
    url = f"/dashboard/payments/{payment['id']}/refund"
    without = {k: v for k, v in fields.items() if k != "csrf_token"}
    for form in [without, {**without, "csrf_token": "not-this-sessions-token"}]:
        refused = await dashboard.client.post(url, data=form)
        assert refused.status_code == 403
        assert "This form was refused" in text(refused)
    _, held = await paid(api, capture_method="manual")
    for action in ("capture", "cancel"):
        refused = await dashboard.client.post(
            f"/dashboard/payments/{held['id']}/{action}", data={"confirm": "yes", "amount": "1"}
        )
        assert refused.status_code == 403
    assert await refunds_of(api, payment["id"]) == []
    assert [c for c in api.stripe.calls if c in ("refund", "capture", "cancel")] == []
    detail = await dashboard.client.get(f"/dashboard/payments/{held['id']}")
    assert "requires capture" in text(detail)


# Capture and cancel


async def test_a_partial_capture_releases_the_rest(api: Api, dashboard: Dashboard) -> None:
    order, payment = await paid(api, capture_method="manual", customer_email="hugo@example.com")
    detail = await dashboard.client.get(f"/dashboard/payments/{payment['id']}")
    assert "Up to 51.98 USD authorized" in text(detail)
    assert "/refund" not in detail.text  # only authorized: nothing to refund yet
    too_much = await ask(dashboard, payment["id"], "capture", amount="52")
    assert too_much.status_code == 400
    assert "At most 51.98 USD was authorized." in text(too_much)

    asked = await ask(dashboard, payment["id"], "capture", amount="30")
    shown = text(asked)
    assert "Capture 30.00 USD of the 51.98 USD authorized from hugo@example.com?" in shown
    assert "The other 21.98 USD is released to the customer's card." in shown
    assert "capture" not in api.stripe.calls
    done = await confirm(dashboard, payment["id"], asked)
    assert done.headers["location"] == f"/dashboard/payments/{payment['id']}?notice=captured"
    assert await ledger_sum(api, payment["id"]) == 3000
    assert await last_change(api, payment["id"]) == (
        "succeeded",
        "operator",
        f"by {OPERATOR_EMAIL}",
    )
    page = text(await dashboard.client.get(done.headers["location"]))
    assert "Payment captured" in page
    assert "Captured 30.00 USD" in page
    assert "Up to 30.00 USD" in page  # now refundable

    again = await confirm(dashboard, payment["id"], asked)
    assert again.status_code == 409
    assert "only an authorized payment (requires_capture) can be captured" in text(again)
    assert api.stripe.calls.count("capture") == 1
    assert (await api.client.get(f"/api/orders/{order['id']}")).json()["status"] == "paid"


async def test_an_empty_capture_amount_takes_all_of_it(api: Api, dashboard: Dashboard) -> None:
    _, payment = await paid(api, capture_method="manual", currency="kwd")
    asked = await ask(dashboard, payment["id"], "capture", amount="")
    assert "Capture 5.200 KWD of the 5.200 KWD authorized" in text(asked)
    assert "All of the authorization is taken." in text(asked)
    assert parse(asked).hidden["amount"] == "5.200"
    assert (await confirm(dashboard, payment["id"], asked)).status_code == 303
    assert await ledger_sum(api, payment["id"]) == 5200


async def test_cancel_releases_an_authorization(api: Api, dashboard: Dashboard) -> None:
    order, payment = await paid(api, capture_method="manual")
    asked = await ask(dashboard, payment["id"], "cancel")
    shown = text(asked)
    assert "Cancel the payment of 51.98 USD by ada@example.com?" in shown
    assert "The authorization is released: the customer is not charged." in shown
    assert "cancel" not in api.stripe.calls
    done = await confirm(dashboard, payment["id"], asked)
    assert done.headers["location"] == f"/dashboard/payments/{payment['id']}?notice=canceled"
    assert await last_change(api, payment["id"]) == ("canceled", "operator", f"by {OPERATOR_EMAIL}")
    assert (await api.client.get(f"/api/orders/{order['id']}")).json()["status"] == "canceled"
    page = await dashboard.client.get(done.headers["location"])
    assert "Payment canceled, and its order with it." in text(page)
    assert "Nothing can be done with a canceled payment." in text(page)
    assert await ledger_sum(api, payment["id"]) == 0


async def test_an_unpaid_payment_can_be_canceled_but_a_paid_one_cannot(
    api: Api, dashboard: Dashboard
) -> None:
    waiting = await unpaid(api)
    detail = await dashboard.client.get(f"/dashboard/payments/{waiting['id']}")
    assert f"/dashboard/payments/{waiting['id']}/cancel" in detail.text
    assert "/capture" not in detail.text
    asked = await ask(dashboard, waiting["id"], "cancel")
    assert "can no longer pay with this payment" in text(asked)
    assert (await confirm(dashboard, waiting["id"], asked)).status_code == 303

    _, done = await paid(api)
    refused = await ask(dashboard, done["id"], "cancel")
    assert refused.status_code == 409
    assert "has succeeded: refund it instead" in text(refused)
    assert api.stripe.calls.count("cancel") == 1


async def test_notice_codes_are_the_only_text_a_url_can_add(api: Api, dashboard: Dashboard) -> None:
    _, payment = await paid(api)
    url = f"/dashboard/payments/{payment['id']}"
    failed = await dashboard.client.get(url, params={"notice": "refund_failed"})
    assert 'role="alert">Stripe did not make the refund' in failed.text
    forged = await dashboard.client.get(url, params={"notice": "<b>Send money to x</b>"})
    assert forged.status_code == 200
    assert "Send money" not in forged.text
    assert 'class="notice"' not in forged.text


@pytest.mark.parametrize("typed", ["²", "1²", "½"])
async def test_an_amount_in_other_digits_is_explained_not_a_500(
    api: Api, dashboard: Dashboard, typed: str
) -> None:
    _, payment = await paid(api)
    answer = await ask(dashboard, payment["id"], "refund", amount=typed, reason="duplicate")
    assert answer.status_code == 400
    assert f"“{typed}” is not an amount." in text(answer)
    assert "invalid literal" not in answer.text
    assert await refunds_of(api, payment["id"]) == []


async def test_the_last_day_of_the_calendar_is_a_filter_like_any(
    api: Api, dashboard: Dashboard
) -> None:
    _, payment = await paid(api)
    answer = await dashboard.client.get(
        "/dashboard/payments", params={"created_from": "0001-01-01", "created_to": "9999-12-31"}
    )
    assert answer.status_code == 200
    assert listed(answer) == [payment["id"]]
