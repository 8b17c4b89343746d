"""Orders off the happy path: an order's version and expiry (and whether it was paid after
it), each payment's Radar outcome, authorization time, cancellation reason and early fraud
warning, and the warnings themselves.

Revision ID: 3f8a6d2c9e41
Revises: 9b4e2c7a1d63
Create Date: 2026-12-03 14:29:08.197514
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import paydesk.db

revision: str = "3f8a6d2c9e41"
down_revision: str | None = "9b4e2c7a1d63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fraud_warnings",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("payment_id", sa.String(length=40), nullable=False),
        sa.Column("charge_id", sa.String(length=255), nullable=True),
        sa.Column("fraud_type", sa.String(length=64), nullable=False),
        sa.Column("actionable", sa.Boolean(), nullable=False),
        sa.Column("created", paydesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=True),
        sa.Column("refund_id", sa.String(length=40), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("recorded_at", paydesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", paydesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_fraud_warnings_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_warnings")),
    )
    with op.batch_alter_table("fraud_warnings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fraud_warnings_payment_id"), ["payment_id"], unique=False
        )

    # Plain ALTER TABLE … ADD COLUMN (no table copy): other tables' foreign keys name these.
    with op.batch_alter_table("orders", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(
            sa.Column("expires_at", paydesk.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("paid_after_expiry", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(batch_op.f("ix_orders_expires_at"), ["expires_at"], unique=False)

    with op.batch_alter_table("payments", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("authorized_at", paydesk.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("cancellation_reason", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("risk_level", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("risk_score", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("outcome_type", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("seller_message", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("radar_rule", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("fraud_warning", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_payments_risk_level"), ["risk_level"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None, recreate="never") as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_risk_level"))
        batch_op.drop_column("fraud_warning")
        batch_op.drop_column("radar_rule")
        batch_op.drop_column("seller_message")
        batch_op.drop_column("outcome_type")
        batch_op.drop_column("risk_score")
        batch_op.drop_column("risk_level")
        batch_op.drop_column("cancellation_reason")
        batch_op.drop_column("authorized_at")

    with op.batch_alter_table("orders", schema=None, recreate="never") as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_expires_at"))
        batch_op.drop_column("paid_after_expiry")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("version")

    with op.batch_alter_table("fraud_warnings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fraud_warnings_payment_id"))

    op.drop_table("fraud_warnings")
