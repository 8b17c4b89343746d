"""Each inbox event names its object and the PaymentIntent that object belongs to, so a
payment's events are found by index. Events stored before are read once, here.

Revision ID: 3f8a0c6d2b71
Revises: 7c2d9e4b1a05
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "3f8a0c6d2b71"
down_revision: str | None = "7c2d9e4b1a05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def upgrade() -> None:
    op.add_column("inbox_events", sa.Column("object_id", sa.String(length=255), nullable=True))
    op.add_column(
        "inbox_events", sa.Column("payment_intent_id", sa.String(length=255), nullable=True)
    )
    op.create_index(
        op.f("ix_inbox_events_payment_intent_id"),
        "inbox_events",
        ["payment_intent_id"],
        unique=False,
    )
    events = sa.table(
        "inbox_events",
        sa.column("id", sa.String),
        sa.column("body", sa.LargeBinary),
        sa.column("object_id", sa.String),
        sa.column("payment_intent_id", sa.String),
    )
    connection = op.get_bind()
    last = ""
    while True:
        rows = connection.execute(
            sa.select(events.c.id, events.c.body)
            .where(events.c.id > last)
            .order_by(events.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        for event_id, body in rows:
            object_id, intent_id = _object_of(body)
            connection.execute(
                events.update()
                .where(events.c.id == event_id)
                .values(object_id=object_id, payment_intent_id=intent_id)
            )
        last = rows[-1][0]


def _object_of(body: bytes) -> tuple[str | None, str | None]:
    """The object's id and its PaymentIntent's, as a migration reads them: on its own, so
    that it stays true whatever later code does."""
    try:
        obj = orjson.loads(body)["data"]["object"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None, None
    if not isinstance(obj, dict):
        return None, None
    object_id = obj.get("id") if isinstance(obj.get("id"), str) else None
    if obj.get("object") == "payment_intent":
        return object_id, object_id
    intent = obj.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    return object_id, intent if isinstance(intent, str) else None


def downgrade() -> None:
    op.drop_index(op.f("ix_inbox_events_payment_intent_id"), table_name="inbox_events")
    op.drop_column("inbox_events", "payment_intent_id")
    op.drop_column("inbox_events", "object_id")
