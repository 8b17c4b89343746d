"""Each payment fact names the clock its time was read on: paydesk's, to the millisecond,
or Stripe's whole second, for facts an event brought. Every fact recorded so far from an
event carries that event's id; the others were paydesk's own observations.

Revision ID: 51e64e34167f
Revises: 1dbfa920361d
Create Date: 2026-12-02 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "51e64e34167f"
down_revision: str | None = "1dbfa920361d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The default fills the rows already there, then goes: paydesk names every new fact's clock.
    with op.batch_alter_table("payment_facts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("clock", sa.String(length=16), nullable=False, server_default="paydesk")
        )
    facts = sa.table("payment_facts", sa.column("clock"), sa.column("stripe_event_id"))
    op.execute(facts.update().where(facts.c.stripe_event_id.is_not(None)).values(clock="stripe"))
    with op.batch_alter_table("payment_facts", schema=None) as batch_op:
        batch_op.alter_column("clock", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("payment_facts", schema=None) as batch_op:
        batch_op.drop_column("clock")
