"""The webhook inbox pages: listing, filters, pages, one event, replaying, and who may."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select, update

from paydesk.db import utcnow
from paydesk.gateway.types import EventSnapshot
from paydesk.payments import service as payments_service
from paydesk.payments.models import Payment
from paydesk.retry import RetryPolicy
from paydesk.webhooks.inbox import inbox_row
from paydesk.webhooks.models import EventStatus, InboxEvent
from tests import stripe_events as se
from tests.integration.conftest import Api, Dashboard

EVENT_LINK = re.compile(r'href="/dashboard/webhooks/(evt_[^"?/]+)"')
OLDER_LINK = re.compile(r'href="([^"]+)" rel="next"')


def text(response: httpx.Response) -> str:
    """The page as a reader sees it: tags gone, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def listed(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return EVENT_LINK.findall(response.text)


async def stored(api: Api, event: dict[str, Any]) -> dict[str, Any]:
    assert (await api.post_event(event)).status_code == 200
    return event


async def dead(api: Api, intent_id: str = "pi_nobody") -> dict[str, Any]:
    """A charge for a PaymentIntent paydesk never made: retried three times, then dead."""
    event = await stored(api, se.event("charge.succeeded", se.charge(intent_id, 1000)))
    await api.processor.drain()
    return event


async def failed(api: Api) -> dict[str, Any]:
    """Failed once, and due again only in a minute."""
    event = await stored(api, se.event("charge.succeeded", se.charge("pi_later", 500)))
    await api.processor.with_retry(RetryPolicy(max_attempts=3, base_delay_seconds=60)).drain()
    return event


async def ignored(api: Api, **fields: Any) -> dict[str, Any]:
    """A type paydesk has no handler for."""
    customer = {"id": "cus_1", "object": "customer", **fields}
    event = await stored(api, se.event("customer.created", customer))
    await api.processor.drain()
    return event


async def processed(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    order, payment = await api.paid_order()
    intent = se.payment_intent(payment["stripe_payment_intent_id"], "succeeded", order["amount"])
    event = await stored(api, se.event("payment_intent.succeeded", intent))
    await api.processor.drain()
    return event, payment


async def row(api: Api, event: dict[str, Any]) -> InboxEvent:
    async with api.db.sessions() as session:
        found = await session.get(InboxEvent, event["id"])
    assert found is not None
    return found


async def test_the_inbox_lists_events_newest_first_with_their_status_and_counts(
    api: Api, dashboard: Dashboard
) -> None:
    done, _ = await processed(api)
    gone = await dead(api)
    skipped = await ignored(api)
    page = await dashboard.client.get("/dashboard/webhooks")
    assert listed(page) == [skipped["id"], gone["id"], done["id"]]
    seen = text(page)
    assert "All (3) Pending (0) Failed (0) Dead (1) Ignored (1) Processed (1)" in seen
    assert f"{gone['id']} charge.succeeded dead 3" in seen
    assert "Flag: never resolved: no payment for PaymentIntent pi_nobody yet" in seen
    assert "PaymentNotFoundYet: no payment for PaymentIntent pi_nobody yet" in seen
    assert f"{done['id']} payment_intent.succeeded processed 0" in seen
    assert 'class="badge badge-dead">dead<' in page.text
    assert "Replay all failed and dead (1)" in seen
    assert 'aria-current="page">All' in page.text


async def test_filters_by_status_and_by_type(api: Api, dashboard: Dashboard) -> None:
    done, _ = await processed(api)
    gone = await dead(api)
    skipped = await ignored(api)

    only_dead = await dashboard.client.get("/dashboard/webhooks", params={"status": "dead"})
    assert listed(only_dead) == [gone["id"]]
    assert 'aria-current="page">Dead' in only_dead.text

    charges = await dashboard.client.get("/dashboard/webhooks", params={"type": "payment_intent."})
    assert listed(charges) == [done["id"]]
    # Switching status keeps the type, and the type form keeps the status.
    assert 'href="/dashboard/webhooks?status=ignored&amp;type=payment_intent."' in charges.text
    both = await dashboard.client.get(
        "/dashboard/webhooks", params={"status": "ignored", "type": "customer."}
    )
    assert listed(both) == [skipped["id"]]
    assert '<input type="hidden" name="status" value="ignored">' in both.text

    # `_` is a letter in a type, not a wildcard.
    assert listed(await dashboard.client.get("/dashboard/webhooks?type=payment_intent_")) == []
    none = await dashboard.client.get("/dashboard/webhooks", params={"status": "pending"})
    assert listed(none) == []
    assert "No events in status pending." in text(none)

    unknown = await dashboard.client.get("/dashboard/webhooks", params={"status": "lost"})
    assert unknown.status_code == 404
    assert "There is no event status called “lost”." in text(unknown)


async def test_older_pages_follow_the_filter_and_skip_nothing_among_equal_times(
    api: Api, dashboard: Dashboard
) -> None:
    now = utcnow()
    rows = []
    for n in range(130):
        event = se.event("charge.succeeded", se.charge(f"pi_{n}", 100), event_id=f"evt_{n:04d}")
        fields = inbox_row(
            EventSnapshot.from_stripe(event),
            se.dumps(event),
            source="backfill",
            headers="{}",
            livemode=False,
        )
        # Seven events share each arrival time; every other one is dead.
        status = EventStatus.DEAD if n % 2 == 0 else EventStatus.PROCESSED
        rows.append(
            InboxEvent(
                **fields | {"status": status, "received_at": now + timedelta(seconds=n // 7)}
            )
        )
    async with api.db.transaction() as session:
        session.add_all(rows)
    expected = [
        r.id
        for r in sorted(rows, key=lambda r: (r.received_at, r.id), reverse=True)
        if r.status == EventStatus.DEAD
    ]

    seen: list[str] = []
    url: str | None = "/dashboard/webhooks?status=dead"
    pages = 0
    while url is not None:
        answer = await dashboard.client.get(url)
        seen += listed(answer)
        pages += 1
        older = OLDER_LINK.search(answer.text)
        url = html.unescape(older.group(1)) if older else None
        assert ("← Newest" in text(answer)) == (pages > 1)
        if url is not None:
            assert "status=dead" in url
    assert (pages, len(seen)) == (2, 65)
    assert seen == expected


async def test_an_event_page_shows_its_body_escaped_and_no_header_beyond_the_kept_ones(
    api: Api, dashboard: Dashboard
) -> None:
    event = await ignored(api, description="<script>alert('owned')</script>")
    kept = orjson.loads((await row(api, event)).headers)
    async with api.db.transaction() as session:
        await session.execute(
            update(InboxEvent)
            .where(InboxEvent.id == event["id"])
            .values(
                headers=orjson.dumps(
                    {**kept, "authorization": "Bearer pd_sk_leaked", "cookie": "s=leaked"}
                ).decode()
            )
        )
    page = await dashboard.client.get(f"/dashboard/webhooks/{event['id']}")
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert (
        "&#34;description&#34;: &#34;&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;&#34;"
        in (page.text)
    )
    seen = text(page)
    assert "customer.created ignored" in seen
    assert "Stripe event id " + event["id"] in seen
    assert "stripe-signature t=" in seen
    assert "user-agent python-httpx/" in seen
    assert "leaked" not in page.text
    assert api.shop_key not in page.text
    assert "Payment none paydesk knows" in seen


async def test_an_event_page_shows_the_error_of_a_dead_event(
    api: Api, dashboard: Dashboard
) -> None:
    event = await dead(api)
    seen = text(await dashboard.client.get(f"/dashboard/webhooks/{event['id']}"))
    assert "charge.succeeded dead" in seen
    assert "Attempts 3" in seen
    assert "Flag: never resolved: no payment for PaymentIntent pi_nobody yet" in seen
    assert "Last error: PaymentNotFoundYet: no payment for PaymentIntent pi_nobody yet" in seen
    assert "Traceback" not in seen  # nothing crashed: the payment never came


async def test_an_event_page_shows_the_traceback_of_a_crash(
    api: Api, dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    order, payment = await api.paid_order()

    async def disk_full(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(payments_service, "record_news", disk_full)
    intent = se.payment_intent(payment["stripe_payment_intent_id"], "succeeded", order["amount"])
    event = await stored(api, se.event("payment_intent.succeeded", intent))
    await api.processor.drain()
    seen = text(await dashboard.client.get(f"/dashboard/webhooks/{event['id']}"))
    assert "Last error: RuntimeError: the disk is full" in seen
    assert "Traceback of the last failed attempt Traceback (most recent call last):" in seen


@pytest.mark.parametrize(
    "event_type",
    ["payment_intent.succeeded", "charge.succeeded", "refund.created", "charge.dispute.created"],
)
async def test_an_event_page_links_the_payment_its_object_belongs_to(
    api: Api, dashboard: Dashboard, event_type: str
) -> None:
    order, payment = await api.paid_order()
    intent_id, amount = payment["stripe_payment_intent_id"], order["amount"]
    objects = {
        "payment_intent.succeeded": se.payment_intent(intent_id, "succeeded", amount),
        "charge.succeeded": se.charge(intent_id, amount),
        "refund.created": se.refund(intent_id, "re_1", amount),
        "charge.dispute.created": se.dispute(intent_id, "dp_1", amount, "needs_response"),
    }
    event = await stored(api, se.event(event_type, objects[event_type]))
    page = await dashboard.client.get(f"/dashboard/webhooks/{event['id']}")
    assert f'href="/dashboard/payments/{payment["id"]}"' in page.text


async def test_replaying_one_event_makes_it_due_and_the_worker_applies_it(
    api: Api, dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    order, payment = await api.paid_order()
    real = payments_service.record_news

    async def disk_full(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(payments_service, "record_news", disk_full)
    intent = se.payment_intent(payment["stripe_payment_intent_id"], "succeeded", order["amount"])
    event = await stored(api, se.event("payment_intent.succeeded", intent))
    await api.processor.drain()
    gone = await row(api, event)
    assert (gone.status, gone.attempts) == (EventStatus.DEAD, 3)
    monkeypatch.setattr(payments_service, "record_news", real)

    answer = await dashboard.post(f"/dashboard/webhooks/{event['id']}/replay")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/dashboard/webhooks/{event['id']}?replayed=1"
    replayed = await row(api, event)
    assert (replayed.status, replayed.attempts) == (EventStatus.PENDING, 0)
    shown = text(await dashboard.client.get(answer.headers["location"]))
    assert "Replayed: this event is due again with a fresh count of attempts" in shown
    assert "payment_intent.succeeded pending" in shown

    assert await api.processor.drain() == 1
    assert (await row(api, event)).status == EventStatus.PROCESSED
    async with api.db.sessions() as session:
        assert (
            await session.scalar(select(Payment.status).where(Payment.id == payment["id"]))
            == "succeeded"
        )


async def test_replay_all_brings_back_every_failed_and_dead_event_and_says_how_many(
    api: Api, dashboard: Dashboard
) -> None:
    done, _ = await processed(api)
    gone = [await dead(api, "pi_a"), await dead(api, "pi_b")]
    waiting = await failed(api)
    assert "Replay all failed and dead (3)" in text(
        await dashboard.client.get("/dashboard/webhooks")
    )

    answer = await dashboard.post("/dashboard/webhooks/replay-failed")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/webhooks?replayed=3"
    for event in [*gone, waiting]:
        now = await row(api, event)
        assert (now.status, now.attempts) == (EventStatus.PENDING, 0)
    assert (await row(api, done)).status == EventStatus.PROCESSED
    after = await dashboard.client.get(answer.headers["location"])
    assert "Replayed 3 events." in text(after)
    assert 'role="status"' in after.text
    assert "Replay all failed and dead" not in after.text  # none left to replay


@pytest.mark.parametrize("token", [None, "not-this-session's"])
async def test_a_replay_without_this_sessions_token_is_refused_and_changes_nothing(
    api: Api, dashboard: Dashboard, token: str | None
) -> None:
    event = await dead(api)
    form = {} if token is None else {"csrf_token": token}
    for url in ("/dashboard/webhooks/replay-failed", f"/dashboard/webhooks/{event['id']}/replay"):
        answer = await dashboard.client.post(url, data=form)
        assert answer.status_code == 403
        assert "This form was refused" in answer.text
    refused = await row(api, event)
    assert (refused.status, refused.attempts) == (EventStatus.DEAD, 3)


async def test_signed_out_the_pages_send_to_login_and_replays_do_nothing(api: Api) -> None:
    event = await dead(api)
    async with httpx.AsyncClient(transport=api.transport, base_url="http://paydesk.test") as anon:
        for url in ("/dashboard/webhooks?status=dead", f"/dashboard/webhooks/{event['id']}"):
            answer = await anon.get(url)
            assert answer.status_code == 303
            assert answer.headers["location"].startswith(
                "/dashboard/login?next=/dashboard/webhooks"
            )
        posted = await anon.post("/dashboard/webhooks/replay-failed", data={"csrf_token": "x"})
        assert posted.status_code == 303
        assert posted.headers["location"] == "/dashboard/login?next=/dashboard"
    assert (await row(api, event)).status == EventStatus.DEAD


async def test_an_unknown_event_is_a_not_found_page(api: Api, dashboard: Dashboard) -> None:
    shown = await dashboard.client.get("/dashboard/webhooks/evt_nothing_here")
    assert shown.status_code == 404
    assert "No Stripe event evt_nothing_here is in the inbox." in text(shown)
    assert 'href="/dashboard/webhooks"' in shown.text
    replayed = await dashboard.post("/dashboard/webhooks/evt_nothing_here/replay")
    assert replayed.status_code == 404


async def test_an_event_page_hides_the_client_secret(api: Api, dashboard: Dashboard) -> None:
    event, _ = await processed(api)
    secret = event["data"]["object"]["client_secret"]
    page = await dashboard.client.get(f"/dashboard/webhooks/{event['id']}")
    assert page.status_code == 200
    assert secret not in page.text
    assert "&#34;client_secret&#34;: &#34;•••• (hidden)&#34;" in page.text
