from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy import text

from paydesk.db import create_engine
from paydesk.migrate import alembic_config


def test_models_and_migrations_agree(database_url: str) -> None:
    """`alembic check`: a migrated database has every table, column and index the models
    declare, so a model change without its migration fails here."""
    command.check(alembic_config(database_url))


def test_upgrading_a_database_that_holds_payments(database_url: str) -> None:
    """From the revision before this release's to head, with rows that reference each other
    (a rebuilt table must not break its foreign keys), and back down."""
    config = alembic_config(database_url)
    command.downgrade(config, "1dbfa920361d")
    now = "2026-11-30 10:00:00"
    statements = [
        "INSERT INTO api_keys (id, name, prefix, key_hash, created_at) "
        f"VALUES ('key_1', 'shop', 'pd_sk_abcdef', 'h', '{now}')",
        "INSERT INTO orders (id, status, currency, amount, customer_email, capture_method, "
        "checkout_token_hash, api_key_id, created_at, updated_at) VALUES ('ord_1', 'paid', "
        f"'usd', 1000, 'a@example.com', 'automatic', 't', 'key_1', '{now}', '{now}')",
        "INSERT INTO payments (id, order_id, status, amount, currency, confirm_attempts, "
        f"created_at, updated_at) VALUES ('pay_1', 'ord_1', 'succeeded', 1000, 'usd', 1, "
        f"'{now}', '{now}')",
        "INSERT INTO payment_facts (payment_id, fingerprint, kind, stripe_object_id, "
        "stripe_status, observed_at, amount, currency, amount_received, amount_capturable, "
        "amount_refunded, error_code, cause, stripe_event_id, recorded_at) VALUES "
        "('pay_1', 'f1', 'payment_intent', 'pi_1', 'succeeded', 1, 1000, 'usd', 1000, 0, 0, "
        f"'', 'webhook', 'evt_1', '{now}'), ('pay_1', 'f2', 'payment_intent', 'pi_1', "
        f"'requires_payment_method', 0, 1000, 'usd', 0, 0, 0, '', 'api', NULL, '{now}')",
        "INSERT INTO idempotency_records (caller_hash, key, request_hash, status_code, "
        f"response_body, created_at) VALUES ('c', 'k', 'r', 201, :body, '{now}')",
    ]

    async def seed() -> None:
        engine = create_engine(database_url)
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement), {"body": b'{"checkout_token":"x"}'})
        await engine.dispose()

    async def read() -> tuple[list[tuple[str, str]], bytes | None]:
        engine = create_engine(database_url)
        async with engine.connect() as connection:
            clocks = await connection.execute(
                text("SELECT fingerprint, clock FROM payment_facts ORDER BY fingerprint")
            )
            rows = [(str(f), str(c)) for f, c in clocks.all()]
            body = await connection.scalar(text("SELECT response_body FROM idempotency_records"))
        await engine.dispose()
        return rows, body

    asyncio.run(seed())
    command.upgrade(config, "head")
    clocks, body = asyncio.run(read())
    assert clocks == [("f1", "stripe"), ("f2", "paydesk")]
    assert body == b""  # the answer stored in the clear is gone
    command.downgrade(config, "1dbfa920361d")
    command.upgrade(config, "head")
