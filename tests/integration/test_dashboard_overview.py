"""The overview page: the numbers it shows for a known set of payments, open disputes, what
needs attention, and a brand-new install; on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update

from paydesk.db import new_id
from paydesk.ledger.models import LedgerEntry
from paydesk.notifications.models import EndpointStatus, Notification, ShopWebhookEndpoint
from paydesk.payments.models import Payment
from paydesk.retry import RetryPolicy
from paydesk.webhooks.models import InboxEvent
from tests import stripe_events as se
from tests.integration.conftest import Api, Dashboard

VOID = frozenset({"br", "hr", "img", "input", "link", "meta"})


@dataclass
class Node:
    """An element of the page, enough of a DOM to read what a person reads."""

    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        pieces: list[str] = []

        def walk(node: Node) -> None:
            for child in node.children:
                if isinstance(child, str):
                    pieces.append(child)
                else:
                    walk(child)
                    pieces.append(" ")

        walk(self)
        return " ".join("".join(pieces).split())

    def all(self, tag: str) -> list[Node]:
        found: list[Node] = []
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag:
                    found.append(child)
                found.extend(child.all(tag))
        return found

    def by_id(self, element_id: str) -> Node:
        matches = [n for n in self.all_elements() if n.attrs.get("id") == element_id]
        assert len(matches) == 1, f"{len(matches)} elements with id {element_id}"
        return matches[0]

    def all_elements(self) -> list[Node]:
        found: list[Node] = []
        for child in self.children:
            if isinstance(child, Node):
                found.append(child)
                found.extend(child.all_elements())
        return found

    def rows(self) -> list[list[str]]:
        """A table's body, as the text of each cell."""
        (body,) = self.all("tbody")
        return [[cell.text() for cell in row.children if isinstance(cell, Node)]
                for row in body.all("tr")]  # fmt: skip


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#document", {})
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.open[-1].children.append(node)
        if tag not in VOID:
            self.open.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open[-1].children.append(Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)


def parse(html: str) -> Node:
    tree = _Tree()
    tree.feed(html)
    tree.close()
    return tree.root


async def overview(dashboard: Dashboard) -> Node:
    response = await dashboard.client.get("/dashboard")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return parse(response.text)


def section(page: Node, heading_id: str) -> Node:
    (found,) = [s for s in page.all("section") if s.attrs.get("aria-labelledby") == heading_id]
    return found


async def deliver(api: Api, *events: dict[str, Any]) -> None:
    for event in events:
        response = await api.post_event(event)
        assert response.status_code == 200, response.text
    await api.processor.drain()


@dataclass(frozen=True)
class Made:
    payment_id: str
    intent_id: str
    amount: int
    currency: str


async def make(api: Api, currency: str, amount: int) -> Made:
    """An order of `amount` `currency` and its payment, not paid yet."""
    items = [{"sku": "SKU-1", "name": "Thing", "unit_amount": amount, "quantity": 1}]
    order = await api.create_order(items=items, currency=currency)
    response = await api.client.post("/api/payments", json={"order_id": order["id"]})
    assert response.status_code == 200, response.text
    payment = response.json()
    return Made(payment["id"], payment["stripe_payment_intent_id"], amount, currency)


async def succeeded(api: Api, currency: str, amount: int) -> Made:
    made = await make(api, currency, amount)
    await deliver(api, se.event("charge.succeeded", se.charge(made.intent_id, amount, currency)))
    return made


async def failed(api: Api, currency: str, amount: int) -> Made:
    made = await make(api, currency, amount)
    declined = se.payment_intent(
        made.intent_id,
        "requires_payment_method",
        amount,
        currency,
        last_payment_error={"code": "card_declined", "decline_code": "generic_decline",
                            "message": "Your card was declined."},
    )  # fmt: skip
    # Stripe's clock counts seconds: a second later than the payment's own first snapshot.
    later = int(datetime.now(UTC).timestamp()) + 1
    await deliver(api, se.event("payment_intent.payment_failed", declined, created=later))
    assert await status_of(api, made) == "failed"
    return made


async def refund(api: Api, made: Made, amount: int) -> None:
    refund_id = f"re_{made.payment_id}"
    event = se.refund(made.intent_id, refund_id, amount, currency=made.currency)
    await deliver(api, se.event("refund.updated", event))


async def dispute(
    api: Api, made: Made, dispute_id: str, status: str, due_by: datetime | None = None
) -> None:
    body = se.dispute(made.intent_id, dispute_id, made.amount, status, made.currency)
    if due_by is not None:
        body["evidence_details"] = {"due_by": int(due_by.timestamp()), "submission_count": 0}
    await deliver(api, se.event("charge.dispute.created", body))


async def backdate(api: Api, made: Made, at: datetime) -> None:
    """The payment and its money movements, as if they had happened at `at`."""
    async with api.db.transaction() as session:
        await session.execute(
            update(Payment).where(Payment.id == made.payment_id).values(created_at=at)
        )
        await session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.payment_id == made.payment_id)
            .values(created_at=at)
        )


async def status_of(api: Api, made: Made) -> str:
    async with api.db.sessions() as session:
        row = await session.get(Payment, made.payment_id)
    assert row is not None
    return row.status


def midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Known:
    now: datetime
    disputed_eur: Made
    inquiry_kwd: Made
    due_by: datetime


async def far_from_utc(api: Api) -> None:
    """On PostgreSQL, sessions in UTC+14: a day taken in the session's zone, not in UTC,
    would move yesterday evening's payments into today."""
    if api.db.is_sqlite:
        return
    name = api.db.engine.url.database
    async with api.db.transaction() as session:
        await session.execute(text(f"ALTER DATABASE \"{name}\" SET timezone TO 'Etc/GMT-14'"))
    await api.db.engine.dispose()
    async with api.db.sessions() as session:
        assert await session.scalar(text("SHOW timezone")) == "Etc/GMT-14"


@pytest.fixture
async def known(api: Api) -> Known:
    """USD, EUR, JPY and KWD payments today, yesterday (late evening, UTC) and 40 days ago."""
    await far_from_utc(api)
    now = datetime.now(UTC)
    yesterday = midnight(now) - timedelta(minutes=30)
    long_ago = now - timedelta(days=40)

    # Today: USD 50.00 and 25.00 succeeded, 40.00 refunded in full, 15.00 failed, 10.00
    # pending; EUR 30.00 disputed; JPY 5,000 succeeded.
    await succeeded(api, "usd", 5000)
    await succeeded(api, "usd", 2500)
    await refund(api, refunded := await succeeded(api, "usd", 4000), 4000)
    await failed(api, "usd", 1500)
    await make(api, "usd", 1000)
    disputed_eur = await succeeded(api, "eur", 3000)
    due_by = now + timedelta(days=5, hours=1)
    await dispute(api, disputed_eur, "dp_eur_open", "needs_response", due_by)
    await succeeded(api, "jpy", 5000)
    assert await status_of(api, refunded) == "refunded"
    assert await status_of(api, disputed_eur) == "disputed"

    # Yesterday: USD 70.00 succeeded (a dispute on it was won), 60.00 partly refunded
    # (10.00), 9.00 failed; EUR 20.00 succeeded; KWD 1.250 under an open inquiry.
    won = await succeeded(api, "usd", 7000)
    await dispute(api, won, "dp_usd_won", "needs_response", now + timedelta(days=2))
    await deliver(
        api, se.event("charge.dispute.closed", se.dispute(won.intent_id, "dp_usd_won", 7000, "won"))
    )
    assert await status_of(api, won) == "succeeded"
    partly = await succeeded(api, "usd", 6000)
    await refund(api, partly, 1000)
    inquiry_kwd = await succeeded(api, "kwd", 1250)
    await dispute(api, inquiry_kwd, "dp_kwd_inquiry", "warning_under_review")
    for made in [won, partly, await failed(api, "usd", 900), await succeeded(api, "eur", 2000),
                 inquiry_kwd]:  # fmt: skip
        await backdate(api, made, yesterday)

    # 40 days ago, counted nowhere: USD 200.00 partly refunded (5.00), 3.00 failed.
    old = await succeeded(api, "usd", 20000)
    await refund(api, old, 500)
    for made in [old, await failed(api, "usd", 300)]:
        await backdate(api, made, long_ago)
    return Known(now, disputed_eur, inquiry_kwd, due_by)


async def test_today_and_30_days_per_currency_with_the_success_rate(
    dashboard: Dashboard, known: Known
) -> None:
    page = await overview(dashboard)
    assert page.by_id("today-rate").text() == (
        "Success rate today 83% — 5 of 6 5 collected of 6 finished payments (collected or failed)"
    )
    assert page.by_id("today-usd").text() == (
        "Collected today in USD 115.00 USD 3 collected of 5 payments "
        "Refunds paid out today: 40.00 USD"
    )
    assert page.by_id("today-eur").text() == (
        "Collected today in EUR 30.00 EUR 1 collected of 1 payment Refunds paid out today: 0.00 EUR"
    )
    assert "Collected today in JPY 5,000 JPY 1 collected of 1 payment" in (
        page.by_id("today-jpy").text()
    )
    assert "today-kwd" not in [n.attrs.get("id") for n in page.all("div")]

    assert page.by_id("month-rate").text().startswith("Success rate in 30 days 81% — 9 of 11 ")
    assert page.by_id("month-usd").text() == (
        "Collected in 30 days in USD 245.00 USD 5 collected of 8 payments "
        "Refunds paid out in 30 days: 50.00 USD"
    )
    assert "50.00 EUR 2 collected of 2 payments" in page.by_id("month-eur").text()
    assert "5,000 JPY 1 collected of 1 payment" in page.by_id("month-jpy").text()
    assert "1.250 KWD 1 collected of 1 payment" in page.by_id("month-kwd").text()
    # Currencies with the most payments first.
    cards = [n.attrs["id"] for n in section(page, "month-heading").all("div") if "id" in n.attrs]
    assert cards == ["month-rate", "month-usd", "month-eur", "month-jpy", "month-kwd"]


async def test_the_status_table_counts_each_currency_and_status(
    dashboard: Dashboard, known: Known
) -> None:
    page = await overview(dashboard)
    assert page.by_id("status-table").rows() == [
        ["USD", "pending", "1", "10.00 USD", "1", "10.00 USD"],
        ["USD", "succeeded", "2", "75.00 USD", "3", "145.00 USD"],
        ["USD", "partially refunded", "0", "0.00 USD", "1", "60.00 USD"],
        ["USD", "refunded", "1", "40.00 USD", "1", "40.00 USD"],
        ["USD", "failed", "1", "15.00 USD", "2", "24.00 USD"],
        ["EUR", "succeeded", "0", "0.00 EUR", "1", "20.00 EUR"],
        ["EUR", "disputed", "1", "30.00 EUR", "1", "30.00 EUR"],
        ["JPY", "succeeded", "1", "5,000 JPY", "1", "5,000 JPY"],
        ["KWD", "disputed", "0", "0.000 KWD", "1", "1.250 KWD"],
    ]


async def test_the_chart_has_a_bar_pair_a_title_and_a_table_for_each_of_30_days(
    dashboard: Dashboard, known: Known
) -> None:
    page = await overview(dashboard)
    (svg,) = page.all("svg")
    assert svg.attrs["role"] == "img"
    title = svg.by_id("daily-chart-title").text()
    today, yesterday = known.now.date(), known.now.date() - timedelta(days=1)
    first = today - timedelta(days=29)
    assert title == f"Collected and failed payments per day, {first} to {today} (UTC)"
    assert svg.by_id("daily-chart-desc").text() == (
        f"9 collected and 2 failed over 30 days, {first} to {today}. Most collected: 5 on {today}."
    )
    tips = [g.all("title")[0].text() for g in svg.all("g")]
    assert len(tips) == 30
    assert tips[-1] == f"{today}: 5 collected, 1 failed"
    assert tips[-2] == f"{yesterday}: 4 collected, 1 failed"
    assert [t for t in tips[:-2] if not t.endswith(": 0 collected, 0 failed")] == []
    ok_bars = [float(r.attrs["height"]) for r in svg.all("rect") if r.attrs["class"] == "bar-ok"]
    assert len(ok_bars) == 2
    assert ok_bars[0] / ok_bars[1] == pytest.approx(4 / 5)

    rows = page.by_id("daily-table").rows()
    assert len(rows) == 30
    assert rows[:3] == [
        [str(today), "5", "1"],
        [str(yesterday), "4", "1"],
        [str(yesterday - timedelta(days=1)), "0", "0"],
    ]
    assert rows[-1] == [str(first), "0", "0"]
    (legend,) = [ul.text() for ul in page.all("ul") if ul.attrs.get("class") == "legend"]
    assert legend == "Collected payments (left bar) Failed payments (right bar)"


async def test_open_disputes_by_due_date_link_to_their_payment(
    dashboard: Dashboard, known: Known
) -> None:
    disputes = section(await overview(dashboard), "disputes-heading")
    assert disputes.all("h2")[0].text() == "Open disputes (2)"
    due = known.due_by.strftime("%Y-%m-%d %H:%M UTC")
    assert disputes.rows() == [
        [f"{due} in 5 days", "30.00 EUR", "fraudulent", "needs response",
         known.disputed_eur.payment_id],
        ["— no due date given", "1.250 KWD", "fraudulent", "warning under review",
         known.inquiry_kwd.payment_id],
    ]  # fmt: skip
    links = [a.attrs["href"] for a in disputes.all("a")]
    assert links == [
        f"/dashboard/payments/{known.disputed_eur.payment_id}",
        f"/dashboard/payments/{known.inquiry_kwd.payment_id}",
    ]
    assert "dp_usd_won" not in disputes.text()


async def test_a_dispute_due_tomorrow_is_urgent_and_one_past_due_overdue(
    api: Api, dashboard: Dashboard
) -> None:
    soon = await succeeded(api, "gbp", 4000)
    late = await succeeded(api, "gbp", 5000)
    now = datetime.now(UTC)
    await dispute(api, soon, "dp_soon", "needs_response", now + timedelta(hours=30))
    await dispute(api, late, "dp_late", "warning_needs_response", now - timedelta(hours=2))
    rows = section(await overview(dashboard), "disputes-heading").rows()
    assert [(r[0].split(" UTC ")[1], r[1]) for r in rows] == [
        ("overdue", "50.00 GBP"),
        ("in 1 day", "40.00 GBP"),
    ]
    page = await dashboard.client.get("/dashboard")
    assert page.text.count('class="due urgent"') == 2


async def test_dead_failing_and_flagged_events_and_undelivered_notifications(
    api: Api, dashboard: Dashboard
) -> None:
    made = await succeeded(api, "usd", 2500)
    dead = se.event("charge.succeeded", se.charge("pi_nobody", 1000))
    await deliver(api, dead)  # three attempts at once, then dead and flagged
    patient = api.processor.with_retry(RetryPolicy(max_attempts=3, base_delay_seconds=60))
    assert (
        await api.post_event(se.event("charge.succeeded", se.charge("pi_later", 900)))
    ).is_success
    assert await patient.drain() == 1  # failed once, retried in a minute
    other_mode = se.event("charge.succeeded", se.charge("pi_live", 100), livemode=True)
    long_ago = se.event("charge.succeeded", se.charge("pi_live_old", 100), livemode=True)
    await deliver(api, other_mode, long_ago)
    now = datetime.now(UTC)
    async with api.db.transaction() as session:
        await session.execute(
            update(InboxEvent)
            .where(InboxEvent.id == long_ago["id"])
            .values(received_at=now - timedelta(days=40))
        )
        receipt = await session.scalar(
            update(Notification)
            .where(Notification.payment_id == made.payment_id)
            .values(status="dead", attempts=5, last_error="550 <ada@example.com> unknown user")
            .returning(Notification.id)
        )
        session.add(
            ShopWebhookEndpoint(
                id=new_id("we"),
                url="https://shop.example/hooks",
                events='["*"]',
                secret="whsec_x",
                status=EndpointStatus.DISABLED,
                disabled_reason="failing since 2026-11-20: HTTP 500 for 3 days",
            )
        )
    assert receipt is not None

    page = await overview(dashboard)
    attention = section(page, "attention-heading")
    assert page.by_id("inbox-attention").text() == (
        "Dead: failed too often, waiting for a replay 1 dead event "
        "Failing: being retried 1 failing event "
        "Flagged in the last 30 days 2 flagged events"
    )
    hrefs = [a.attrs["href"] for a in page.by_id("inbox-attention").all("a")]
    assert hrefs == ["/dashboard/webhooks?status=dead", "/dashboard/webhooks?status=failed"]
    flagged = page.by_id("flagged-events").rows()
    assert [row[1].split()[0] for row in flagged] == [other_mode["id"], dead["id"]]
    assert [row[2] for row in flagged] == ["ignored", "dead"]
    assert "livemode differs" in flagged[0][3]
    assert "never resolved" in flagged[1][3]

    assert page.by_id("notification-attention").text() == (
        "Dead: not delivered, can be resent 1 dead notification "
        "Failing: being retried none "
        "Disabled shop endpoints 1 endpoint"
    )
    (undelivered,) = page.by_id("undelivered").rows()
    assert undelivered[1:] == [
        "receipt email to ada@example.com",
        "dead",
        "5",
        "550 <ada@example.com> unknown user",
        made.payment_id,
    ]
    (endpoint,) = page.by_id("disabled-endpoints").rows()
    assert endpoint[0].startswith("https://shop.example/hooks we_")
    assert endpoint[1:3] == ["disabled", "failing since 2026-11-20: HTTP 500 for 3 days"]
    html = (await dashboard.client.get("/dashboard")).text
    assert "550 &lt;ada@example.com&gt; unknown user" in html
    assert "Nothing needs attention" not in attention.text()


async def test_a_notification_being_retried_needs_attention(api: Api, dashboard: Dashboard) -> None:
    made = await succeeded(api, "usd", 2500)
    async with api.db.transaction() as session:
        await session.execute(
            update(Notification)
            .where(Notification.payment_id == made.payment_id)
            .values(attempts=2, last_error="SMTP: connection timed out")
        )
    page = await overview(dashboard)
    assert "Failing: being retried 1 notification" in page.by_id("notification-attention").text()
    (row,) = page.by_id("undelivered").rows()
    assert row[2:5] == ["retrying", "2", "SMTP: connection timed out"]
    assert page.by_id("inbox-attention").text().endswith("Flagged in the last 30 days none")


async def test_a_brand_new_install_says_there_is_nothing_yet(dashboard: Dashboard) -> None:
    page = await overview(dashboard)
    assert section(page, "today-heading").all("p")[0].text() == "No payments yet today."
    assert section(page, "month-heading").all("p")[0].text() == "No payments in the last 30 days."
    assert section(page, "status-heading").all("p")[0].text() == "No payments in the last 30 days."
    assert section(page, "disputes-heading").all("p")[0].text() == "No open disputes."
    assert (
        section(page, "attention-heading").all("p")[0].text().startswith("Nothing needs attention:")
    )
    (svg,) = page.all("svg")
    assert "No payments in the last 30 days" in svg.text()
    assert svg.all("rect") == []
    assert page.by_id("daily-table").rows()[0][1:] == ["0", "0"]
    nav = [a for a in page.all("a") if a.attrs.get("aria-current") == "page"]
    assert [a.text() for a in nav] == ["Overview"]


async def test_signed_out_the_overview_sends_to_the_login_page(api: Api) -> None:
    async with httpx.AsyncClient(transport=api.transport, base_url="http://paydesk.test") as anon:
        response = await anon.get("/dashboard")
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login?next=/dashboard"
    shop = await api.client.get("/dashboard")  # the shop's API key is no way in

    assert shop.status_code == 303
