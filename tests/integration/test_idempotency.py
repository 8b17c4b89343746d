"""Idempotency-Key: answers replayed for 24 hours, kept sealed, never a secret at rest."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from paydesk.auth.repository import ApiKeyRepository
from paydesk.db import utcnow
from paydesk.idempotency.models import IdempotencyRecord
from paydesk.idempotency.service import IN_PROGRESS_LEASE, RETENTION
from tests.integration.conftest import Api

ORDER = {
    "items": [{"sku": "TEE-1", "name": "T-shirt", "unit_amount": 1999, "quantity": 1}],
    "currency": "usd",
    "customer_email": "ada@example.com",
}


async def records(api: Api) -> list[IdempotencyRecord]:
    async with api.db.sessions() as session:
        return list(await session.scalars(select(IdempotencyRecord)))


async def age(api: Api, by: timedelta) -> None:
    async with api.db.transaction() as session:
        await session.execute(update(IdempotencyRecord).values(created_at=utcnow() - by))


async def test_a_replayed_order_keeps_its_checkout_token_but_no_secret_is_stored(api: Api) -> None:
    first = await api.client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": "o-1"})
    assert first.status_code == 201
    token = first.json()["checkout_token"]
    again = await api.client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": "o-1"})
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    [record] = await records(api)
    stored = record.response_body or b""
    assert token.encode() not in stored
    assert b"pd_ct_" not in stored
    assert first.json()["id"].encode() not in stored  # sealed whole, not only the secret


async def test_a_replayed_payment_keeps_its_client_secret_but_none_is_stored(api: Api) -> None:
    order = await api.create_order()
    body = {"order_id": order["id"]}
    first = await api.client.post("/api/payments", json=body, headers={"Idempotency-Key": "p-1"})
    again = await api.client.post("/api/payments", json=body, headers={"Idempotency-Key": "p-1"})
    secret = first.json()["client_secret"]
    assert secret
    assert again.json()["client_secret"] == secret
    assert all(secret.encode() not in (r.response_body or b"") for r in await records(api))


async def test_another_caller_cannot_open_an_answer(api: Api) -> None:
    """A key is the caller's own: the same key from another credential is a new request."""
    first = await api.client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": "mine"})
    async with api.db.transaction() as session:
        other_key, _ = await ApiKeyRepository(session).create("other")
    other = await api.client.post(
        "/api/orders",
        json=ORDER,
        headers={"Idempotency-Key": "mine", "Authorization": f"Bearer {other_key}"},
    )
    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]


async def test_a_key_is_forgotten_after_24_hours(api: Api) -> None:
    first = await api.client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": "day"})
    await age(api, RETENTION + timedelta(minutes=1))
    later = await api.client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": "day"})
    assert later.status_code == 201
    assert "idempotent-replayed" not in later.headers
    assert later.json()["id"] != first.json()["id"]


async def test_a_request_whose_answer_was_lost_frees_its_key_after_the_lease(api: Api) -> None:
    first = await api.client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": "lost"})
    assert first.status_code == 201
    # As a server that stopped mid-request leaves it: reserved, never answered.
    async with api.db.transaction() as session:
        await session.execute(
            update(IdempotencyRecord).values(status_code=None, response_body=None)
        )
    waiting = await api.client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": "lost"})
    assert waiting.status_code == 409
    assert waiting.json()["error"]["code"] == "idempotency_key_in_use"
    await age(api, IN_PROGRESS_LEASE + timedelta(seconds=1))
    retried = await api.client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": "lost"})
    assert retried.status_code == 201


async def test_an_answer_stored_before_sealing_is_not_replayed(api: Api) -> None:
    """The migration blanks answers stored in the clear; such a key is refused, not re-run."""
    await api.client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": "old"})
    async with api.db.transaction() as session:
        await session.execute(update(IdempotencyRecord).values(response_body=b""))
    again = await api.client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": "old"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "idempotency_replay_unavailable"


async def test_expired_keys_are_purged(api: Api) -> None:
    for key in ("a", "b"):
        await api.client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": key})
    await age(api, RETENTION + timedelta(seconds=1))
    await api.client.post("/api/orders", json=ORDER, headers={"Idempotency-Key": "fresh"})
    assert await api.services.idempotency.purge_expired() == 2
    assert [r.key for r in await records(api)] == ["fresh"]
