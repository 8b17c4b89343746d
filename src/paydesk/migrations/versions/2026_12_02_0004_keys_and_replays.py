"""When each shop key was last used, and idempotency answers kept sealed and for 24 hours.

Answers stored before this revision hold secrets in the clear (checkout tokens, client
secrets, signing secrets); they are blanked here. A retry of such a key is then told its
answer cannot be replayed, rather than running the request a second time.

Revision ID: 7c2d9e4b1a05
Revises: 51e64e34167f
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import paydesk.db

revision: str = "7c2d9e4b1a05"
down_revision: str | None = "51e64e34167f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN on both databases: SQLite's batch mode would rebuild
    # api_keys, which orders reference.
    op.add_column(
        "api_keys",
        sa.Column("last_used_at", paydesk.db.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index(
        op.f("ix_idempotency_records_created_at"),
        "idempotency_records",
        ["created_at"],
        unique=False,
    )
    records = sa.table("idempotency_records", sa.column("response_body", sa.LargeBinary))
    op.execute(
        records.update()
        .where(records.c.response_body.is_not(None))
        .values(response_body=sa.literal(b"", sa.LargeBinary))
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_idempotency_records_created_at"), table_name="idempotency_records")
    op.drop_column("api_keys", "last_used_at")
