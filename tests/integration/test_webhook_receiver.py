"""`POST /api/webhooks/stripe`: nothing forged gets in, nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import func, select

from paydesk.app import create_app
from paydesk.config import Settings
from paydesk.db import Database, create_engine
from paydesk.gateway import stripe_gateway
from paydesk.gateway.fake import FakeGateway
from paydesk.gateway.types import EventSnapshot
from paydesk.webhooks.inbox import InboxWriter, inbox_row
from paydesk.webhooks.models import EventStatus, InboxEvent
from tests import stripe_events
from tests.integration.conftest import WEBHOOK_SECRETS, Api

SECRET = WEBHOOK_SECRETS[1]


async def stored(api: Api) -> int:
    async with api.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(InboxEvent)) or 0)


def an_event() -> dict[str, object]:
    return stripe_events.event(
        "payment_intent.succeeded", stripe_events.payment_intent("pi_unknown", "succeeded", 1000)
    )


async def test_a_signed_event_is_stored_then_acknowledged(api: Api) -> None:
    event = an_event()
    response = await api.post_event(event)
    assert response.status_code == 200, response.text
    async with api.db.sessions() as session:
        row = await session.get(InboxEvent, event["id"])
    assert row is not None
    assert (row.type, row.status, row.source) == ("payment_intent.succeeded", "pending", "webhook")
    assert row.body == stripe_events.dumps(event)
    assert "stripe-signature" in row.headers


async def test_the_same_event_fifty_times_at_once_is_stored_once(api: Api) -> None:
    event = an_event()
    responses = await asyncio.gather(*[api.post_event(event) for _ in range(50)])
    assert {r.status_code for r in responses} == {200}
    assert await stored(api) == 1


async def test_either_rotating_secret_verifies(api: Api) -> None:
    for secret in WEBHOOK_SECRETS:
        assert (await api.post_event(an_event(), secret=secret)).status_code == 200


def signed(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    return stripe_events.sign(body, secret, timestamp)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        "t=abc,v1=0123",
        "v1=0123",
        "t=1700000000",
        "t={now},v0={sig}",
        "t={now},v1={wrong_secret}",
        "t={stale},v1={stale_sig}",
        "t={future},v1={future_sig}",
        "t={now},v1={tampered}",
    ],
)
async def test_bad_signatures_are_400_and_nothing_is_stored(
    api: Api, header: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = stripe_events.dumps(an_event())
    now = int(time.time())
    # The server's clock reads what the test's did, so "301 s ahead" is exactly that.
    monkeypatch.setattr(stripe_gateway, "time", SimpleNamespace(time=lambda: now))
    values = {
        "now": now,
        "sig": signed(body).split("v1=")[1],
        "wrong_secret": signed(body, "whsec_someone_else").split("v1=")[1],
        "stale": now - 301,
        "stale_sig": signed(body, timestamp=now - 301).split("v1=")[1],
        "future": now + 301,
        "future_sig": signed(body, timestamp=now + 301).split("v1=")[1],
        "tampered": signed(body.replace(b"1000", b"1001")).split("v1=")[1],
    }
    headers = {} if header is None else {"Stripe-Signature": header.format(**values)}
    response = await api.client.post("/api/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_signature"
    assert await stored(api) == 0


async def test_one_byte_changed_is_refused(api: Api) -> None:
    body = stripe_events.dumps(an_event())
    header = signed(body)
    changed = body[:-2] + bytes([body[-2] ^ 1]) + body[-1:]
    response = await api.client.post(
        "/api/webhooks/stripe", content=changed, headers={"Stripe-Signature": header}
    )
    assert response.status_code == 400
    assert await stored(api) == 0


async def test_a_header_with_an_old_and_a_new_signature_passes(api: Api) -> None:
    body = stripe_events.dumps(an_event())
    now = int(time.time())
    old = signed(body, "whsec_retired_secret", now).split("v1=")[1]
    new = signed(body, SECRET, now).split("v1=")[1]
    response = await api.client.post(
        "/api/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": f"t={now},v1={old},v1={new}"},
    )
    assert response.status_code == 200


async def test_timestamps_within_five_minutes_either_way_pass(api: Api) -> None:
    for offset in (-290, 290):
        body = stripe_events.dumps(an_event())
        header = signed(body, timestamp=int(time.time()) + offset)
        response = await api.client.post(
            "/api/webhooks/stripe", content=body, headers={"Stripe-Signature": header}
        )
        assert response.status_code == 200


async def test_a_huge_body_is_413_before_it_is_read(api: Api) -> None:
    body = b"{" + b" " * (10 * 1024 * 1024) + b"}"
    response = await api.client.post(
        "/api/webhooks/stripe", content=body, headers={"Stripe-Signature": signed(body)}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"

    async def chunks() -> object:
        for _ in range(20):
            yield b" " * 65536

    response = await api.client.post(
        "/api/webhooks/stripe", content=chunks(), headers={"Stripe-Signature": "t=1,v1=x"}
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "not_an_event"),
        (b'{"object": "charge", "id": "ch_1"}', "not_an_event"),
        (b"\xff\xfe", "invalid_signature"),
    ],
)
async def test_signed_but_not_an_event_is_400(api: Api, body: bytes, code: str) -> None:
    response = await api.client.post(
        "/api/webhooks/stripe", content=body, headers={"Stripe-Signature": signed(body)}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert await stored(api) == 0


async def test_an_unknown_type_is_stored_and_ignored(api: Api) -> None:
    event = stripe_events.event("customer.created", {"id": "cus_1", "object": "customer"})
    assert (await api.post_event(event)).status_code == 200
    assert await api.processor.drain() == 1
    async with api.db.sessions() as session:
        row = await session.get(InboxEvent, event["id"])
    assert row is not None
    assert row.status == EventStatus.IGNORED


async def test_an_event_of_the_other_mode_is_stored_flagged_and_never_applied(api: Api) -> None:
    event = stripe_events.event(
        "payment_intent.succeeded",
        stripe_events.payment_intent("pi_live", "succeeded", 1000),
        livemode=True,
    )
    assert (await api.post_event(event)).status_code == 200
    assert await api.processor.drain() == 0
    async with api.db.sessions() as session:
        row = await session.get(InboxEvent, event["id"])
    assert row is not None
    assert row.status == EventStatus.IGNORED
    assert "livemode" in (row.flag or "")


async def test_database_down_is_503_never_200() -> None:
    # Nothing listens on port 1 of the loopback address: every connection is refused.
    db = Database(create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/paydesk"))
    app = create_app(
        Settings(stripe_webhook_secrets=WEBHOOK_SECRETS), database=db, gateway=FakeGateway()
    )
    body = stripe_events.dumps(an_event())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://paydesk.test"
    ) as client:
        response = await client.post(
            "/api/webhooks/stripe", content=body, headers={"Stripe-Signature": signed(body)}
        )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "inbox_unavailable"
    await db.dispose()


async def test_only_post_is_answered(api: Api) -> None:
    response = await api.client.get("/api/webhooks/stripe")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_one_bad_row_does_not_sink_the_events_committed_with_it(api: Api) -> None:
    writer = InboxWriter(api.db)
    good = [an_event() for _ in range(5)]
    rows = [
        inbox_row(
            EventSnapshot.from_stripe(e),
            stripe_events.dumps(e),
            source="webhook",
            headers="{}",
            livemode=False,
        )
        for e in good
    ]
    bad = {**rows[0], "id": "evt_bad", "type": None}  # NOT NULL: the database refuses it
    results = await asyncio.gather(*[writer.store(r) for r in [*rows, bad]], return_exceptions=True)
    await writer.close()
    assert results[:5] == [None] * 5
    assert isinstance(results[5], Exception)
    assert await stored(api) == 5


async def test_an_absurd_event_id_is_refused_before_the_database(api: Api) -> None:
    event = an_event()
    event["id"] = "evt_" + "x" * 300
    response = await api.post_event(event)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "not_an_event")
