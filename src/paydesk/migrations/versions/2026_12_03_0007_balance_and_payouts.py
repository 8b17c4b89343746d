"""The balance as Stripe keeps it: each balance transaction (amount, fee, net in the
settlement currency), each payout and what it paid out; ledger entries name the
transaction that moved their money, and payouts post entries that belong to no payment.

Revision ID: 9b4e2c7a1d63
Revises: 5d1e7a9c3f20
Create Date: 2026-12-03 11:52:10.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import paydesk.db

revision: str = "9b4e2c7a1d63"
down_revision: str | None = "5d1e7a9c3f20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payouts",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("created", paydesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("arrival_date", paydesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("balance_transaction_id", sa.String(length=255), nullable=True),
        sa.Column("failure_balance_transaction_id", sa.String(length=255), nullable=True),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.Column("reconciliation_status", sa.String(length=32), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("contents_read_at", paydesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", paydesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", paydesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
    )
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payouts_created"), ["created"], unique=False)
        batch_op.create_index(batch_op.f("ix_payouts_status"), ["status"], unique=False)

    op.create_table(
        "balance_transactions",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("reporting_category", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=True),
        sa.Column("payment_id", sa.String(length=40), nullable=True),
        sa.Column("entry_kind", sa.String(length=32), nullable=False),
        sa.Column("entry_object_id", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("exchange_rate", sa.String(length=32), nullable=True),
        sa.Column("fee_details", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created", paydesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("available_on", paydesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("payout_id", sa.String(length=255), nullable=True),
        sa.Column("recorded_at", paydesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_balance_transactions_payment_id_payments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance_transactions")),
    )
    with op.batch_alter_table("balance_transactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_balance_transactions_created"), ["created"], unique=False
        )
        batch_op.create_index(
            "ix_balance_transactions_entry", ["entry_kind", "entry_object_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_balance_transactions_payment_id"), ["payment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_balance_transactions_payout_id"), ["payout_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_balance_transactions_source"), ["source"], unique=False
        )

    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("balance_transaction_id", sa.String(length=255), nullable=True)
        )
        batch_op.alter_column("payment_id", existing_type=sa.VARCHAR(length=40), nullable=True)
        batch_op.create_unique_constraint(
            batch_op.f("uq_ledger_entries_balance_transaction_id"), ["balance_transaction_id"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM ledger_entries WHERE payment_id IS NULL")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_ledger_entries_balance_transaction_id"), type_="unique"
        )
        batch_op.alter_column("payment_id", existing_type=sa.VARCHAR(length=40), nullable=False)
        batch_op.drop_column("balance_transaction_id")

    with op.batch_alter_table("balance_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_balance_transactions_source"))
        batch_op.drop_index(batch_op.f("ix_balance_transactions_payout_id"))
        batch_op.drop_index(batch_op.f("ix_balance_transactions_payment_id"))
        batch_op.drop_index("ix_balance_transactions_entry")
        batch_op.drop_index(batch_op.f("ix_balance_transactions_created"))

    op.drop_table("balance_transactions")
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payouts_status"))
        batch_op.drop_index(batch_op.f("ix_payouts_created"))

    op.drop_table("payouts")
