"""Sending a payment's notification again from its page, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from paydesk.db import utcnow
from paydesk.notifications.models import DeliveryAttempt, Notification, NotificationStatus
from paydesk.notifications.outbox import SENDING
from tests.integration.conftest import OPERATOR_EMAIL, Api, Dashboard
from tests.integration.test_dashboard_payments import paid, text


def resend_url(payment_id: str, notification_id: str) -> str:
    return f"/dashboard/payments/{payment_id}/notifications/{notification_id}/resend"


async def receipt_of(api: Api, payment_id: str, **changes: object) -> Notification:
    """The payment's receipt e-mail, changed as given (as the worker would have left it)."""
    async with api.db.transaction() as session:
        receipt = await session.scalar(
            select(Notification).where(
                Notification.payment_id == payment_id, Notification.kind == "receipt"
            )
        )
        assert receipt is not None
        for name, value in changes.items():
            setattr(receipt, name, value)
    return receipt


async def current(api: Api, notification_id: str) -> Notification:
    async with api.db.sessions() as session:
        row = await session.get(Notification, notification_id)
    assert row is not None
    return row


async def test_a_dead_notification_sent_again_gets_a_fresh_round(
    api: Api, dashboard: Dashboard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="paydesk.web.dashboard")
    _, payment = await paid(api)
    later = utcnow() + timedelta(days=1)
    receipt = await receipt_of(
        api,
        payment["id"],
        status=NotificationStatus.DEAD,
        attempts=8,
        last_error="550 mailbox unavailable",
        next_attempt_at=later,
    )
    page = await dashboard.client.get(f"/dashboard/payments/{payment['id']}")
    assert f'action="{resend_url(payment["id"], receipt.id)}"' in page.text
    assert (
        'Send again<span class="visually-hidden">: the receipt email to ada@example.com</span>'
        in page.text
    )

    sent = await dashboard.post(resend_url(payment["id"], receipt.id))
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"] == (
        f"/dashboard/payments/{payment['id']}?notice=notification_resent"
    )
    row = await current(api, receipt.id)
    assert (row.status, row.attempts) == ("pending", 0)
    assert row.next_attempt_at <= utcnow()
    shown = text(await dashboard.client.get(sent.headers["location"]))
    assert "Notification due again now, with a fresh round of delivery attempts" in shown
    assert f"of {payment['id']} by {OPERATOR_EMAIL}" in caplog.text


async def test_a_failing_pending_notification_is_made_due_now(
    api: Api, dashboard: Dashboard
) -> None:
    _, payment = await paid(api)
    receipt = await receipt_of(
        api,
        payment["id"],
        attempts=3,
        last_error="connection refused",
        next_attempt_at=utcnow() + timedelta(hours=1),
    )
    sent = await dashboard.post(resend_url(payment["id"], receipt.id))
    assert sent.headers["location"].endswith("?notice=notification_due")
    row = await current(api, receipt.id)
    assert (row.status, row.attempts) == ("pending", 3)  # the same round, only sooner
    assert row.next_attempt_at <= utcnow()


async def test_only_undelivered_notifications_with_trouble_offer_it(
    api: Api, dashboard: Dashboard
) -> None:
    _, payment = await paid(api)
    receipt = await receipt_of(api, payment["id"])  # queued, nothing failed yet
    page = await dashboard.client.get(f"/dashboard/payments/{payment['id']}")
    assert "/resend" not in page.text
    await receipt_of(api, payment["id"], status=NotificationStatus.DELIVERED)
    page = await dashboard.client.get(f"/dashboard/payments/{payment['id']}")
    assert "/resend" not in page.text
    refused = await dashboard.post(resend_url(payment["id"], receipt.id))
    assert refused.status_code == 409
    assert f"Notification {receipt.id} was delivered already." in text(refused)
    assert 'role="alert"' in refused.text
    assert (await current(api, receipt.id)).status == "delivered"


async def test_one_being_sent_right_now_is_left_alone(api: Api, dashboard: Dashboard) -> None:
    _, payment = await paid(api)
    later = utcnow() + timedelta(minutes=5)
    receipt = await receipt_of(
        api, payment["id"], attempts=1, last_error="timed out", next_attempt_at=later
    )
    async with api.db.transaction() as session:
        session.add(DeliveryAttempt(notification_id=receipt.id, error=SENDING))
    refused = await dashboard.post(resend_url(payment["id"], receipt.id))
    assert refused.status_code == 409
    assert "is being sent right now" in text(refused)
    assert (await current(api, receipt.id)).next_attempt_at == later


async def test_another_payments_notification_is_not_found(api: Api, dashboard: Dashboard) -> None:
    _, payment = await paid(api)
    _, other = await paid(api)
    theirs = await receipt_of(api, other["id"], status=NotificationStatus.DEAD, attempts=8)
    answer = await dashboard.post(resend_url(payment["id"], theirs.id))
    assert answer.status_code == 404
    assert f"Payment {payment['id']} has no notification {theirs.id}." in text(answer)
    assert (await current(api, theirs.id)).status == "dead"
    unknown = await dashboard.post(resend_url(payment["id"], "ntf_nope"))
    assert unknown.status_code == 404


async def test_without_its_csrf_token_nothing_changes(api: Api, dashboard: Dashboard) -> None:
    _, payment = await paid(api)
    receipt = await receipt_of(api, payment["id"], status=NotificationStatus.DEAD, attempts=8)
    for token in ({}, {"csrf_token": "not-this-sessions-token"}):
        refused = await dashboard.client.post(resend_url(payment["id"], receipt.id), data=token)
        assert refused.status_code == 403
        assert "This form was refused" in text(refused)
    row = await current(api, receipt.id)
    assert (row.status, row.attempts) == ("dead", 8)
