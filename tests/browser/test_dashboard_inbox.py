"""The webhook inbox in a real browser: find a failing event, read why, replay it."""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING

import httpx

from paydesk.webhooks.models import EventStatus, InboxEvent
from paydesk.webhooks.receiver import PATH as WEBHOOK_PATH
from tests import stripe_events as se
from tests.browser.conftest import Screenshot
from tests.fixtures.paydesk import Paydesk

if TYPE_CHECKING:
    from playwright.async_api import Page


async def wait_for_status(paydesk: Paydesk, event_id: str, status: EventStatus) -> None:
    deadline = time.monotonic() + 10
    while True:
        async with paydesk.db.sessions() as session:
            row = await session.get(InboxEvent, event_id)
        if row is not None and row.status == status:
            return
        assert time.monotonic() < deadline, f"{event_id} is {row and row.status}, not {status}"
        await asyncio.sleep(0.1)


async def test_an_operator_finds_a_failing_event_reads_its_error_and_replays_it(
    paydesk: Paydesk, operator_page: Page, webhook_secret: str, screenshot: Screenshot
) -> None:
    # A charge for a PaymentIntent paydesk never made, signed as Stripe signs it: the
    # in-process worker tries it, fails, and keeps the error.
    event = se.event("charge.succeeded", se.charge("pi_from_nowhere", 2500))
    body = se.dumps(event)
    async with httpx.AsyncClient(base_url=paydesk.url) as stripe:
        delivered = await stripe.post(
            WEBHOOK_PATH,
            content=body,
            headers={
                "Stripe-Signature": se.sign(body, webhook_secret),
                "Content-Type": "application/json",
            },
        )
    assert delivered.status_code == 200, delivered.text
    await wait_for_status(paydesk, event["id"], EventStatus.FAILED)

    page = operator_page
    await page.goto(f"{paydesk.url}/dashboard/webhooks")
    await page.get_by_role("heading", name="Webhook inbox").wait_for()
    await page.get_by_role("button", name="Replay all failed and dead (1)").wait_for()
    # With the keyboard: the status filter is a list of links.
    failed_filter = page.get_by_role("navigation", name="Filter by status").get_by_role(
        "link", name=re.compile(r"^Failed \(1\)")
    )
    await failed_filter.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/dashboard/webhooks\?status=failed$"))
    row = page.get_by_role("row").filter(has_text=event["id"])
    await row.get_by_text("failed", exact=True).wait_for()
    assert "no payment for PaymentIntent pi_from_nowhere yet" in await row.inner_text()
    assert await page.get_by_role("row").count() == 2  # the header and this event
    await screenshot("dashboard-webhooks")

    await row.get_by_role("link", name=event["id"]).click()
    await page.wait_for_url(f"{paydesk.url}/dashboard/webhooks/{event['id']}")
    await page.get_by_text(
        "Last error: PaymentNotFoundYet: no payment for PaymentIntent pi_from_nowhere yet"
    ).wait_for()
    assert '"payment_intent": "pi_from_nowhere"' in await page.locator("pre.body").last.inner_text()
    await screenshot("dashboard-webhook-event")

    await page.get_by_role("button", name="Replay this event").press("Enter")
    await page.wait_for_url(f"{paydesk.url}/dashboard/webhooks/{event['id']}?replayed=1")
    notice = page.get_by_role("status")
    assert "Replayed: this event is due again" in await notice.inner_text()
